// The chat screen's state and its calls to the core. Answers stream in as
// chat.token events and are replaced by the stored message when chat.done
// arrives. Events and call results travel separately, so tokens (even
// chat.done) may arrive before chat.send has told us the response id: they are
// kept by response id until claimed. The model writes one answer at a time:
// each session may have one answer under way, and those behind another wait in
// the core's queue (chat.queue) until their turn, stoppable like a running one.
import { useCallback, useEffect, useRef, useState, type RefObject } from 'react';
import type { ChatMessage, ChatSessionSummary, Workload } from '../../../../shared/api.js';
import { isErrorCode } from '../../../../shared/errors.js';
import { call, on, type ErrorInfo } from '../../enclave.js';
import { upsert, type ChatDone, type Conversation, type Generation } from './chat-state.js';

export interface ChatSessionsOptions {
  selectedId: string | null;
  onSelect(sessionId: string | null): void;
  /** A call failed because the session is locked or gone: the app re-reads its status. */
  onSessionError(error: ErrorInfo): void;
  onAnswerDone(): void;
  /** The workload a new session is created with. */
  workload: Workload | null;
  /** The prompt box, focused when a session is created and when a prompt comes back to be fixed. */
  promptRef: RefObject<HTMLTextAreaElement | null>;
  /** Whether the conversation follows its end; set when a session opens and when a prompt is sent. */
  stickToBottom: RefObject<boolean>;
}

/** The chat screen's state and actions, as the views use them. */
export type ChatSessions = ReturnType<typeof useChatSessions>;

export function useChatSessions({ selectedId, onSelect, onSessionError, onAnswerDone, workload, promptRef, stickToBottom }: ChatSessionsOptions) {
  const [sessions, setSessions] = useState<ChatSessionSummary[] | null>(null);
  const [listError, setListError] = useState<ErrorInfo | null>(null);
  const [conversation, setConversation] = useState<Conversation | null>(null);
  const [openError, setOpenError] = useState<ErrorInfo | null>(null);
  // By session id: one answer under way per session.
  const [generations, setGenerations] = useState<ReadonlyMap<string, Generation>>(() => new Map());
  // Streamed text by response id; a ref so finish() reads it synchronously, state to re-render.
  const streams = useRef(new Map<string, string>());
  const [, setStreamVersion] = useState(0);
  const [chatError, setChatError] = useState<{ sessionId: string; error: ErrorInfo } | null>(null);
  const [draft, setDraft] = useState('');
  const [creating, setCreating] = useState(false);
  // The session whose deletion is being confirmed, and whether the core is deleting it.
  const [confirmingDelete, setConfirmingDelete] = useState<string | null>(null);
  const [deleting, setDeleting] = useState(false);

  const generationsRef = useRef<ReadonlyMap<string, Generation>>(generations);
  const unclaimedDone = useRef(new Map<string, ChatDone>());
  const openRequest = useRef(0);

  const setGen = useCallback((sessionId: string, g: Generation | null) => {
    const next = new Map(generationsRef.current);
    if (g) next.set(sessionId, g);
    else next.delete(sessionId);
    generationsRef.current = next;
    setGenerations(next);
  }, []);

  const reportError = useCallback(
    (error: ErrorInfo) => {
      if (error.code === 'locked' || error.code === 'not_signed_in') onSessionError(error);
    },
    [onSessionError],
  );

  const refreshList = useCallback(async (): Promise<ChatSessionSummary[] | null> => {
    const result = await call('chat.list', {});
    if (result.ok) {
      setSessions(result.output);
      setListError(null);
      return result.output;
    }
    setListError(result.error);
    reportError(result.error);
    return null;
  }, [reportError]);

  const finish = useCallback(
    (done: ChatDone) => {
      const g = generationsRef.current.get(done.sessionId);
      setGen(done.sessionId, null);
      const partial = streams.current.get(done.responseId) ?? '';
      streams.current.delete(done.responseId);
      setStreamVersion((v) => v + 1);
      // Without a stored message (a failure before anything was saved) keep what streamed, marked failed.
      const message: ChatMessage = done.message ?? {
        id: done.responseId,
        role: 'assistant',
        content: partial,
        status: done.status,
        createdAt: g?.startedAt ?? Date.now(),
        replyTo: g?.promptId ?? null,
      };
      setConversation((c) => (c && c.session.id === done.sessionId ? { ...c, messages: upsert(c.messages, message) } : c));
      if (done.error && done.status === 'failed') {
        const code = isErrorCode(done.error.code) ? done.error.code : 'internal';
        setChatError({ sessionId: done.sessionId, error: { code, message: done.error.message } });
      }
      void refreshList();
      onAnswerDone();
    },
    [setGen, refreshList, onAnswerDone],
  );

  useEffect(() => {
    const offToken = on('chat.token', (t) => {
      streams.current.set(t.responseId, (streams.current.get(t.responseId) ?? '') + t.text);
      setStreamVersion((v) => v + 1);
    });
    const offDone = on('chat.done', (done) => {
      const g = generationsRef.current.get(done.sessionId);
      if (g && g.responseId === done.responseId) finish(done);
      else unclaimedDone.current.set(done.responseId, done);
    });
    return () => {
      offToken();
      offDone();
    };
  }, [finish]);

  useEffect(() => {
    void refreshList();
  }, [refreshList]);

  // Open the selected session (also after an unlock, when the app remembers it).
  useEffect(() => {
    if (!selectedId) {
      setConversation(null);
      return;
    }
    if (conversation?.session.id === selectedId) return;
    const request = ++openRequest.current;
    setOpenError(null);
    void call('chat.open', { sessionId: selectedId }).then((result) => {
      if (request !== openRequest.current) return;
      if (result.ok) {
        setConversation(result.output);
        stickToBottom.current = true;
      } else {
        setConversation(null);
        setOpenError(result.error);
        reportError(result.error);
      }
    });
    // conversation is read only to skip a redundant open, so it is not a dependency.
    // eslint-disable-next-line react-hooks/exhaustive-deps -- see above; stickToBottom is a ref, the same object on every render
  }, [selectedId, reportError]);

  // The open session's answer under way, if any.
  const generation = selectedId ? (generations.get(selectedId) ?? null) : null;
  const liveText = generation?.responseId ? (streams.current.get(generation.responseId) ?? '') : '';

  async function newSession() {
    setCreating(true);
    const result = await call('chat.create', workload ? { workloadId: workload.id } : {});
    setCreating(false);
    if (!result.ok) {
      setListError(result.error);
      reportError(result.error);
      return;
    }
    const session = result.output;
    setSessions((list) => [session, ...(list ?? []).filter((s) => s.id !== session.id)]);
    openRequest.current += 1;
    setConversation({ session, messages: [] });
    setOpenError(null);
    onSelect(session.id);
    promptRef.current?.focus();
  }

  function select(sessionId: string) {
    if (sessionId === selectedId) return;
    setConversation(null);
    onSelect(sessionId);
  }

  async function send() {
    const session = conversation?.session;
    const text = draft;
    // One answer per session; another session's answer only makes this one wait its turn.
    if (!session || text.trim() === '' || generationsRef.current.has(session.id)) return;
    setChatError(null);
    const g: Generation = { sessionId: session.id, promptText: text.trim(), promptId: null, responseId: null, startedAt: Date.now(), stopping: false };
    setGen(session.id, g);
    stickToBottom.current = true;
    setDraft('');
    const result = await call('chat.send', { sessionId: session.id, text });
    if (!result.ok) {
      // Nothing is lost: the prompt goes back into the box for the user to fix.
      setGen(session.id, null);
      setDraft(text);
      setChatError({ sessionId: session.id, error: result.error });
      reportError(result.error);
      requestAnimationFrame(() => promptRef.current?.focus());
      return;
    }
    const { promptId, responseId } = result.output;
    const prompt: ChatMessage = { id: promptId, role: 'user', content: g.promptText, status: 'complete', createdAt: g.startedAt, replyTo: null };
    setConversation((c) => (c && c.session.id === session.id ? { ...c, messages: upsert(c.messages, prompt) } : c));
    // Stop may have been pressed meanwhile; keep what it set.
    const claimed: Generation = { ...(generationsRef.current.get(session.id) ?? g), promptId, responseId };
    setGen(session.id, claimed);
    // The core titles a session from its first prompt: with answers under way in several sessions, the sidebar should say which is which.
    void refreshList();
    const early = unclaimedDone.current.get(responseId);
    if (early) {
      unclaimedDone.current.delete(responseId);
      finish(early);
    }
  }

  /** Marks a session's answer as stopping (or not), if it is still the one under way. */
  function markStopping(sessionId: string, stopping: boolean) {
    const g = generationsRef.current.get(sessionId);
    if (g) setGen(sessionId, { ...g, stopping });
  }

  async function stop() {
    const g = selectedId ? generationsRef.current.get(selectedId) : undefined;
    if (!g) return;
    markStopping(g.sessionId, true);
    // Stops a waiting answer too: it ends as a stopped answer with no text.
    const result = await call('chat.cancel', { sessionId: g.sessionId });
    if (!result.ok) {
      markStopping(g.sessionId, false);
      setChatError({ sessionId: g.sessionId, error: result.error });
      reportError(result.error);
    } else if (!result.output.cancelled) {
      // Nothing was running any more; chat.done is on its way or already handled.
      markStopping(g.sessionId, false);
    }
  }

  async function endSession() {
    const session = conversation?.session;
    if (!session) return;
    const result = await call('chat.end', { sessionId: session.id });
    if (!result.ok) {
      setChatError({ sessionId: session.id, error: result.error });
      reportError(result.error);
      return;
    }
    setConversation((c) => (c && c.session.id === result.output.id ? { ...c, session: result.output } : c));
    const list = await refreshList();
    // Under a retention of 0 days the core deleted it as it ended: nothing of it stays on screen.
    if (list && !list.some((s) => s.id === session.id)) {
      setConversation((c) => (c && c.session.id === session.id ? null : c));
      if (selectedId === session.id) onSelect(null);
    }
  }

  async function deleteSession(sessionId: string) {
    setDeleting(true);
    const result = await call('chat.delete', { sessionId });
    setDeleting(false);
    setConfirmingDelete(null);
    if (!result.ok) {
      setChatError({ sessionId, error: result.error });
      reportError(result.error);
      return;
    }
    // The core stopped any answer under way; nothing of the session stays on screen.
    setGen(sessionId, null);
    setConversation((c) => (c && c.session.id === sessionId ? null : c));
    if (selectedId === sessionId) onSelect(null);
    void refreshList();
  }

  return {
    sessions,
    listError,
    conversation,
    openError,
    generations,
    generation,
    liveText,
    chatError,
    draft,
    setDraft,
    creating,
    confirmingDelete,
    setConfirmingDelete,
    deleting,
    newSession,
    select,
    send,
    stop,
    endSession,
    deleteSession,
  };
}
