// The chat workspace: the sessions sidebar (chat/SessionList) and the chat
// pane (chat/ConversationPane: header, conversation, composer), over one store
// (chat/chat-store.ts, read through useSyncExternalStore: it says how answers
// stream in and wait their turn). Registers the chat's keyboard commands, and
// Escape stops the answer being written while focus is in the chat.
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import type { GenerationQueue, ModelSummary, User, Workload } from '../../../shared/api.js';
import { registerCommand } from '../commands.js';
import type { ErrorInfo } from '../enclave.js';
import { ChatStore } from './chat/chat-store.js';
import { ConversationPane } from './chat/ConversationPane.js';
import { SessionList } from './chat/SessionList.js';
import { ChatStoreContext } from './chat/use-chat.js';
import { workloadAvailability } from './inference-format.js';
import type { ModelLoadingEvent } from './ModelSetup.js';
import '../styles/chat.css';

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
  const [store] = useState(() => new ChatStore());
  const [chosenWorkloadId, setChosenWorkloadId] = useState<string | null>(null);
  // The user's choice while policy still offers it; otherwise their default, skipping workloads that cannot be used.
  const workload = workloads.find((w) => w.id === chosenWorkloadId) ?? workloads.find((w) => workloadAvailability(models, w)?.state !== 'unavailable') ?? workloads[0] ?? null;
  const promptRef = useRef<HTMLTextAreaElement>(null);
  const searchRef = useRef<HTMLInputElement>(null);

  // What the store needs from around it, current on every render.
  store.host = { onSelect, onSessionError, onAnswerDone, workload };

  useEffect(() => store.start(), [store]);
  useEffect(() => store.syncSelected(selectedId), [store, selectedId]);

  useEffect(() => {
    const off = [
      registerCommand('chat.newSession', () => void store.newSession()),
      registerCommand('chat.focusPrompt', () => promptRef.current?.focus()),
      registerCommand('chat.focusSearch', () => {
        searchRef.current?.focus();
        searchRef.current?.select();
      }),
      registerCommand('chat.stop', () => void store.stop()),
    ];
    return () => off.forEach((unregister) => unregister());
  }, [store]);

  function onKeyDown(event: KeyboardEvent) {
    // Dialogs, editors and the search box handle their own Escape first (and stop it).
    if (event.key !== 'Escape' || event.defaultPrevented) return;
    const { selectedId: open, generations } = store.getState();
    if (open && generations.has(open)) {
      event.preventDefault();
      void store.stop();
    }
  }

  return (
    <ChatStoreContext value={store}>
      {/* Escape is a shortcut for Stop, which is a button of its own: the keyboard handler only listens. */}
      <div className="chat-layout" onKeyDown={onKeyDown}>
        <SessionList queue={queue} workloads={workloads} models={models} workload={workload} onChooseWorkload={setChosenWorkloadId} searchRef={searchRef} />
        <ConversationPane user={user} models={models} workloads={workloads} queue={queue} loading={loading} maxPromptChars={maxPromptChars} fallbackModel={model} promptRef={promptRef} />
      </div>
    </ChatStoreContext>
  );
}
