// The chat pane: the open session's header, its conversation, a polite
// "Answer finished" status, and the prompt box.
import { useEffect, useRef, useState, type RefObject } from 'react';
import type { ChatSessionSummary, GenerationQueue, ModelSummary, User, Workload } from '../../../../shared/api.js';
import { useStrings } from '../../i18n/index.js';
import { ErrorAlert, Spinner } from '../common.js';
import { answersAhead, modelOfWorkload } from '../inference-format.js';
import type { ModelLoadingEvent } from '../ModelSetup.js';
import { Composer } from './Composer.js';
import { MessageList } from './MessageList.js';
import { SessionHeader } from './SessionHeader.js';
import { useChat, useChatStore } from './use-chat.js';
import { useFollowLog } from './useFollowLog.js';

interface ConversationPaneProps {
  user: User;
  models: readonly ModelSummary[];
  workloads: readonly Workload[];
  queue: GenerationQueue | null;
  loading: ModelLoadingEvent | null;
  maxPromptChars: number;
  /** The model that writes answers when the session's workload names none we know. */
  fallbackModel: ModelSummary | null;
  promptRef: RefObject<HTMLTextAreaElement | null>;
}

export function ConversationPane({ user, models, workloads, queue, loading, maxPromptChars, fallbackModel, promptRef }: ConversationPaneProps) {
  const { t } = useStrings('chat');
  const store = useChatStore();
  const selectedId = useChat((s) => s.selectedId);
  const conversation = useChat((s) => s.conversation);
  const sessions = useChat((s) => s.sessions);
  const openError = useChat((s) => s.openError);
  const creating = useChat((s) => s.creating);
  const chatError = useChat((s) => s.chatError);
  const generations = useChat((s) => s.generations);
  const finishedCount = useChat((s) => s.finishedCount);
  const generation = selectedId ? (generations.get(selectedId) ?? null) : null;
  const { logRef, onLogScroll } = useFollowLog(store.stickToBottom, conversation !== null, [conversation, generation]);

  // "Answer finished", said once per finished answer of the open session (never the answer itself);
  // cleared when the next one starts, so the next "finished" is a change a screen reader announces.
  const [finished, setFinished] = useState(false);
  const seenFinished = useRef(finishedCount);
  const answering = generation !== null;
  useEffect(() => {
    if (finishedCount !== seenFinished.current) {
      seenFinished.current = finishedCount;
      setFinished(true);
    }
  }, [finishedCount]);
  useEffect(() => {
    if (answering) setFinished(false);
  }, [answering]);

  // The list has the freshest summary (the core titles a session from its first prompt).
  const current: ChatSessionSummary | null = conversation ? (sessions?.find((s) => s.id === conversation.session.id) ?? conversation.session) : null;
  const busyElsewhere = [...generations.keys()].some((id) => id !== selectedId);
  const aheadHere = generation ? answersAhead(queue, generation.responseId) : null;
  const errorHere = chatError && current && chatError.sessionId === current.id ? chatError.error : null;
  const workload = current ? (workloads.find((w) => w.id === current.workloadId) ?? null) : null;
  // Answers are written by the session's workload's model; the default one when policy no longer lists the workload.
  const sessionModel = modelOfWorkload(models, workload) ?? fallbackModel;

  return (
    <section className="chat-pane" aria-label={t('chatPane')}>
      <p className="visually-hidden" role="status">
        {finished ? t('answerFinished') : ''}
      </p>
      {!current ? (
        <div className="chat-empty">
          {openError ? (
            <ErrorAlert error={openError} />
          ) : selectedId ? (
            <p>
              <Spinner /> {t('opening')}
            </p>
          ) : (
            <>
              <h2>{t('noSessionOpen')}</h2>
              <p className="muted">{t('noSessionHint')}</p>
              <button type="button" className="btn btn-primary" onClick={() => void store.newSession()} disabled={creating}>
                {t('newSession')}
              </button>
            </>
          )}
        </div>
      ) : (
        <>
          <SessionHeader session={current} workloadName={workload?.name ?? current.workloadId} generating={generation !== null} />
          {sessionModel?.isTestModel ? (
            <p className="note note-warning chat-notice" role="note" aria-label={t('testModelNoticeLabel')}>
              <strong>{t('testModelNoticeTitle')}</strong> {t('testModelNotice')}
            </p>
          ) : null}
          <MessageList
            userName={user.displayName}
            modelName={sessionModel?.name ?? t('model')}
            copyAllowed={workload?.copyAllowed ?? false}
            ended={current.endedAt !== null}
            aheadHere={aheadHere}
            loading={loading}
            models={models}
            logRef={logRef}
            onLogScroll={onLogScroll}
          />
          <ErrorAlert error={errorHere} />
          {current.endedAt !== null ? (
            <p className="chat-ended">{t('sessionEndedNote')}</p>
          ) : (
            <Composer
              maxChars={maxPromptChars}
              generating={generation !== null}
              sending={generation !== null && generation.responseId === null}
              stopping={generation?.stopping ?? false}
              busyElsewhere={busyElsewhere}
              textareaRef={promptRef}
            />
          )}
        </>
      )}
    </section>
  );
}
