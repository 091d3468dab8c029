// The chat pane: the open session's header, its conversation and the prompt box.
import type { RefObject } from 'react';
import type { ChatSessionSummary, ModelSummary, User } from '../../../../shared/api.js';
import type { ErrorInfo } from '../../enclave.js';
import { fullTime } from '../../format.js';
import { ErrorAlert, Spinner } from '../common.js';
import type { ModelLoadingEvent } from '../ModelSetup.js';
import { Composer } from './Composer.js';
import { DeleteConfirmation } from './DeleteConfirmation.js';
import { MessageView, PendingAnswer } from './MessageView.js';
import type { ChatSessions } from './useChatSessions.js';

interface ConversationPaneProps {
  /** The chat state and its actions (useChatSessions). */
  chat: ChatSessions;
  user: User;
  models: readonly ModelSummary[];
  loading: ModelLoadingEvent | null;
  maxPromptChars: number;
  selectedId: string | null;
  /** The open session as the list last described it; null while none is open. */
  current: ChatSessionSummary | null;
  /** Its place in the core's queue, while the open session's answer waits for another session's. */
  aheadHere: number | null;
  busyElsewhere: boolean;
  errorHere: ErrorInfo | null;
  currentWorkloadName: string | null;
  /** The model that writes this session's answers. */
  sessionModel: ModelSummary | null;
  promptRef: RefObject<HTMLTextAreaElement | null>;
  logRef: RefObject<HTMLDivElement | null>;
  onLogScroll(): void;
}

export function ConversationPane({
  chat,
  user,
  models,
  loading,
  maxPromptChars,
  selectedId,
  current,
  aheadHere,
  busyElsewhere,
  errorHere,
  currentWorkloadName,
  sessionModel,
  promptRef,
  logRef,
  onLogScroll,
}: ConversationPaneProps) {
  const { conversation, openError, generation, liveText, creating, deleting, confirmingDelete, setConfirmingDelete, draft, setDraft } = chat;
  const generatingHere = generation !== null;
  return (
    <section className="chat-pane" aria-label="Chat">
      {!current ? (
        <div className="chat-empty">
          {openError ? (
            <ErrorAlert error={openError} />
          ) : selectedId ? (
            <p>
              <Spinner /> Opening session…
            </p>
          ) : (
            <>
              <h2>No session open</h2>
              <p className="muted">Choose a session on the left or start a new one. Each session keeps its own context with the model.</p>
              <button type="button" className="btn btn-primary" onClick={() => void chat.newSession()} disabled={creating}>
                New session
              </button>
            </>
          )}
        </div>
      ) : (
        <>
          <div className="chat-header">
            <div>
              <h2 className="chat-title">{current.title || 'Untitled session'}</h2>
              <p className="chat-subtitle">
                {currentWorkloadName} · Started {fullTime(current.createdAt)}
                {current.endedAt !== null ? ` · Ended ${fullTime(current.endedAt)}` : ''}
              </p>
            </div>
            <div className="chat-header-actions">
              {current.endedAt === null ? (
                <button type="button" className="btn btn-ghost btn-small" onClick={() => void chat.endSession()} disabled={generatingHere}>
                  End session
                </button>
              ) : null}
              <button type="button" className="btn btn-ghost btn-small" onClick={() => setConfirmingDelete(current.id)} disabled={deleting || confirmingDelete === current.id}>
                Delete session
              </button>
            </div>
          </div>
          {confirmingDelete === current.id ? <DeleteConfirmation busy={deleting} onConfirm={() => void chat.deleteSession(current.id)} onCancel={() => setConfirmingDelete(null)} /> : null}
          {sessionModel?.isTestModel ? (
            <p className="note note-warning chat-notice" role="note" aria-label="Test model notice">
              <strong>Test model:</strong> random weights — the answers below are noise, not language or clinical information.
            </p>
          ) : null}
          <div className="message-log" role="log" aria-label="Conversation" ref={logRef} onScroll={onLogScroll}>
            <div className="message-stack">
              {conversation && conversation.messages.length === 0 && !generatingHere ? <p className="log-empty">No messages yet. Type a prompt below.</p> : null}
              {conversation?.messages.map((m) => (
                <MessageView key={m.id} message={m} user={user} model={sessionModel} />
              ))}
              {generation ? <PendingAnswer generation={generation} liveText={liveText} ahead={aheadHere} loading={loading} models={models} user={user} model={sessionModel} /> : null}
            </div>
          </div>
          <ErrorAlert error={errorHere} />
          {current.endedAt !== null ? (
            <p className="chat-ended">This session has ended; its model context was disposed. Start a new session to continue.</p>
          ) : (
            <Composer
              draft={draft}
              onDraft={setDraft}
              maxChars={maxPromptChars}
              generating={generatingHere}
              sending={generation !== null && generation.responseId === null}
              stopping={generation?.stopping ?? false}
              busyElsewhere={busyElsewhere}
              onSend={() => void chat.send()}
              onStop={() => void chat.stop()}
              textareaRef={promptRef}
            />
          )}
        </>
      )}
    </section>
  );
}
