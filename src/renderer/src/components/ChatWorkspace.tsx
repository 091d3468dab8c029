// Sessions sidebar and the chat pane, composed from chat/: the state and the
// core calls live in chat/useChatSessions.ts (it says how answers stream in and
// wait their turn), the views in the other modules there.
import { useRef, useState } from 'react';
import type { GenerationQueue, ModelSummary, User, Workload } from '../../../shared/api.js';
import type { ErrorInfo } from '../enclave.js';
import { ConversationPane } from './chat/ConversationPane.js';
import { SessionList } from './chat/SessionList.js';
import { useChatSessions } from './chat/useChatSessions.js';
import { useFollowLog } from './chat/useFollowLog.js';
import { answersAhead, modelOfWorkload, workloadAvailability } from './inference-format.js';
import type { ModelLoadingEvent } from './ModelSetup.js';

interface Props {
  user: User;
  /** The model chats run on when a session's workload names none we know. */
  model: ModelSummary | null;
  models: readonly ModelSummary[];
  /** The workloads the user's roles allow (the core lists no others); the first is the default. Never empty here. */
  workloads: Workload[];
  /** The answers the model is writing and those waiting for it; null until known. */
  queue: GenerationQueue | null;
  maxPromptChars: number;
  loading: ModelLoadingEvent | null;
  selectedId: string | null;
  onSelect(sessionId: string | null): void;
  /** A call failed because the session is locked or gone: the app re-reads its status. */
  onSessionError(error: ErrorInfo): void;
  onAnswerDone(): void;
}

export function ChatWorkspace({ user, model, models, workloads, queue, maxPromptChars, loading, selectedId, onSelect, onSessionError, onAnswerDone }: Props) {
  const [chosenWorkloadId, setChosenWorkloadId] = useState<string | null>(null);
  // The user's choice while policy still offers it; otherwise their default, skipping workloads whose model was refused.
  const workload = workloads.find((w) => w.id === chosenWorkloadId) ?? workloads.find((w) => workloadAvailability(models, w)?.state !== 'rejected') ?? workloads[0] ?? null;

  const promptRef = useRef<HTMLTextAreaElement>(null);
  const stickToBottom = useRef(true);
  const chat = useChatSessions({ selectedId, onSelect, onSessionError, onAnswerDone, workload, promptRef, stickToBottom });
  const { sessions, conversation, generation, generations, chatError } = chat;
  const { logRef, onLogScroll } = useFollowLog(stickToBottom, conversation !== null, { conversation, liveText: chat.liveText, generation });

  // The list has the freshest summary (the core titles a session from its first prompt).
  const current = conversation ? (sessions?.find((s) => s.id === conversation.session.id) ?? conversation.session) : null;
  const busyElsewhere = [...generations.keys()].some((id) => id !== selectedId);
  // Its place in the core's queue, while it waits for another session's answer.
  const aheadHere = generation ? answersAhead(queue, generation.responseId) : null;
  const errorHere = chatError && current && chatError.sessionId === current.id ? chatError.error : null;
  const currentWorkload = current ? (workloads.find((w) => w.id === current.workloadId) ?? null) : null;
  const currentWorkloadName = current ? (currentWorkload?.name ?? current.workloadId) : null;
  // Answers are written by the session's workload's model; the default one when policy no longer lists the workload.
  const sessionModel = modelOfWorkload(models, currentWorkload) ?? model;

  return (
    <div className="chat-layout">
      <SessionList
        sessions={sessions}
        listError={chat.listError}
        selectedId={selectedId}
        generations={generations}
        queue={queue}
        workloads={workloads}
        models={models}
        workload={workload}
        onChooseWorkload={setChosenWorkloadId}
        creating={chat.creating}
        onNewSession={() => void chat.newSession()}
        onSelect={chat.select}
      />

      <ConversationPane
        chat={chat}
        user={user}
        models={models}
        loading={loading}
        maxPromptChars={maxPromptChars}
        selectedId={selectedId}
        current={current}
        aheadHere={aheadHere}
        busyElsewhere={busyElsewhere}
        errorHere={errorHere}
        currentWorkloadName={currentWorkloadName}
        sessionModel={sessionModel}
        promptRef={promptRef}
        logRef={logRef}
        onLogScroll={onLogScroll}
      />
    </div>
  );
}
