// The chat store's state and its plumbing: the state object replaced on each
// change (so useSyncExternalStore can compare slices), its listeners, and the
// streamed text kept apart and announced at most once per animation frame.
// The actions live in chat-store.ts.
import type { ChatSearchHit, ChatSessionSummary, Workload } from '../../../../shared/api.js';
import type { ErrorInfo } from '../../enclave.js';
import type { ChatDone, Conversation, Generation } from './chat-state.js';

export interface SearchState {
  query: string;
  busy: boolean;
  hits: ChatSearchHit[] | null;
  truncated: boolean;
  error: ErrorInfo | null;
}

export interface ChatState {
  selectedId: string | null;
  sessions: ChatSessionSummary[] | null;
  listError: ErrorInfo | null;
  conversation: Conversation | null;
  openError: ErrorInfo | null;
  /** By session id: one answer under way per session. */
  generations: ReadonlyMap<string, Generation>;
  chatError: { sessionId: string; error: ErrorInfo } | null;
  draft: string;
  creating: boolean;
  /** The session whose deletion is being confirmed, and whether the core is deleting it. */
  confirmingDelete: string | null;
  deleting: boolean;
  search: SearchState;
  /** A message to bring into view once the conversation shows it (a search result). */
  reveal: { sessionId: string; messageId: string } | null;
  /** Counts the open session's finished answers, for the polite "Answer finished" status. */
  finishedCount: number;
  /** The prompt box should take focus once it is on screen (after New session, Stop, a failed send). */
  promptFocusPending: boolean;
}

/** What the store needs from the app around it; set on every render of the workspace. */
export interface ChatHost {
  onSelect(sessionId: string | null): void;
  /** A call failed because the session is locked or gone: the app re-reads its status. */
  onSessionError(error: ErrorInfo): void;
  onAnswerDone(): void;
  /** The workload a new session is created with. */
  workload: Workload | null;
}

export const EMPTY_SEARCH: SearchState = { query: '', busy: false, hits: null, truncated: false, error: null };

export class ChatStoreBase {
  protected state: ChatState = {
    selectedId: null,
    sessions: null,
    listError: null,
    conversation: null,
    openError: null,
    generations: new Map(),
    chatError: null,
    draft: '',
    creating: false,
    confirmingDelete: null,
    deleting: false,
    search: EMPTY_SEARCH,
    reveal: null,
    finishedCount: 0,
    promptFocusPending: false,
  };
  private readonly listeners = new Set<() => void>();
  protected readonly streams = new Map<string, string>();
  private readonly streamListeners = new Set<() => void>();
  private streamFrame: number | null = null;
  protected readonly unclaimedDone = new Map<string, ChatDone>();
  host: ChatHost = { onSelect: () => undefined, onSessionError: () => undefined, onAnswerDone: () => undefined, workload: null };
  /** Whether the conversation follows its end; set when a session opens and when a prompt is sent. */
  readonly stickToBottom = { current: true };

  // --- Reading (useSyncExternalStore) ---

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly getState = (): ChatState => this.state;

  readonly subscribeStreams = (listener: () => void): (() => void) => {
    this.streamListeners.add(listener);
    return () => this.streamListeners.delete(listener);
  };

  streamText(responseId: string | null): string {
    return responseId ? (this.streams.get(responseId) ?? '') : '';
  }

  protected set(patch: Partial<ChatState>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of this.listeners) listener();
  }

  /** Tells the live answer at most once per frame (and at once when a stream ends). */
  protected cancelStreamFrame(): void {
    if (this.streamFrame !== null) cancelAnimationFrame(this.streamFrame);
    this.streamFrame = null;
  }

  protected notifyStreams(now = false): void {
    if (now) {
      if (this.streamFrame !== null) cancelAnimationFrame(this.streamFrame);
      this.streamFrame = null;
      for (const listener of this.streamListeners) listener();
      return;
    }
    if (this.streamFrame !== null) return;
    this.streamFrame = requestAnimationFrame(() => {
      this.streamFrame = null;
      for (const listener of this.streamListeners) listener();
    });
  }

  protected setGen(sessionId: string, g: Generation | null): void {
    const next = new Map(this.state.generations);
    if (g) next.set(sessionId, g);
    else next.delete(sessionId);
    this.set({ generations: next });
  }

  protected reportError(error: ErrorInfo): void {
    if (error.code === 'locked' || error.code === 'not_signed_in') this.host.onSessionError(error);
  }

  protected fail(sessionId: string, error: ErrorInfo): void {
    this.set({ chatError: { sessionId, error } });
    this.reportError(error);
  }

  protected updateConversation(sessionId: string, update: (c: Conversation) => Conversation | null): void {
    const c = this.state.conversation;
    if (c && c.session.id === sessionId) this.set({ conversation: update(c) });
  }
}
