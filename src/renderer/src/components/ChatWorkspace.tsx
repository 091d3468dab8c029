// Sessions sidebar and the chat pane. Answers stream in as chat.token events
// and are replaced by the stored message when chat.done arrives. Events and
// call results travel separately, so tokens (even chat.done) may arrive before
// chat.send has told us the response id: they are kept by response id until
// claimed. The model writes one answer at a time: each session may have one
// answer under way, and those behind another wait in the core's queue
// (chat.queue) until their turn, stoppable like a running one.
import { useCallback, useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent, type RefObject } from 'react';
import type { ChatMessage, ChatSessionSummary, EventPayload, GenerationQueue, ModelSummary, User, Workload } from '../../../shared/api.js';
import { isErrorCode } from '../../../shared/errors.js';
import { call, on, type ErrorInfo } from '../enclave.js';
import { formatNumber, fullTime, shortTime } from '../format.js';
import { ErrorAlert, Spinner } from './common.js';
import { answersAhead, modelOfWorkload, percent, waitingText, workloadAvailability, workloadOptionLabel } from './inference-format.js';
import { MarkdownView } from './Markdown.js';
import { ModelLoadingStatus, type ModelLoadingEvent } from './ModelSetup.js';

type ChatDone = EventPayload<'chat.done'>;

interface Conversation {
  session: ChatSessionSummary;
  messages: ChatMessage[];
}

/** A session's answer under way (waiting or being written); ids are null until chat.send resolves. */
interface Generation {
  sessionId: string;
  promptText: string;
  promptId: string | null;
  responseId: string | null;
  startedAt: number;
  stopping: boolean;
}

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

function upsert(messages: ChatMessage[], message: ChatMessage): ChatMessage[] {
  const index = messages.findIndex((m) => m.id === message.id);
  if (index === -1) return [...messages, message];
  const copy = messages.slice();
  copy[index] = message;
  return copy;
}

export function ChatWorkspace({ user, model, models, workloads, queue, maxPromptChars, loading, selectedId, onSelect, onSessionError, onAnswerDone }: Props) {
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
  const [chosenWorkloadId, setChosenWorkloadId] = useState<string | null>(null);
  // The user's choice while policy still offers it; otherwise their default, skipping workloads whose model was refused.
  const workload =
    workloads.find((w) => w.id === chosenWorkloadId) ?? workloads.find((w) => workloadAvailability(models, w)?.state !== 'rejected') ?? workloads[0] ?? null;

  const generationsRef = useRef<ReadonlyMap<string, Generation>>(generations);
  const unclaimedDone = useRef(new Map<string, ChatDone>());
  const openRequest = useRef(0);
  const promptRef = useRef<HTMLTextAreaElement>(null);
  const logRef = useRef<HTMLDivElement>(null);
  const stickToBottom = useRef(true);

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
  }, [selectedId, reportError]);

  // The open session's answer under way, if any.
  const generation = selectedId ? (generations.get(selectedId) ?? null) : null;
  const liveText = generation?.responseId ? (streams.current.get(generation.responseId) ?? '') : '';

  // Follow the answer as it grows, unless the user scrolled up to read. A
  // ResizeObserver also catches reflows (the audit drawer narrowing the pane).
  useEffect(() => {
    const log = logRef.current;
    if (log && stickToBottom.current) log.scrollTop = log.scrollHeight;
  }, [conversation, liveText, generation]);

  const hasConversation = conversation !== null;
  useEffect(() => {
    const log = logRef.current;
    const content = log?.firstElementChild;
    if (!log || !content) return;
    const observer = new ResizeObserver(() => {
      if (stickToBottom.current) log.scrollTop = log.scrollHeight;
    });
    observer.observe(log);
    observer.observe(content);
    return () => observer.disconnect();
  }, [hasConversation]);

  function onLogScroll() {
    const log = logRef.current;
    if (log) stickToBottom.current = log.scrollHeight - log.scrollTop - log.clientHeight < 48;
  }

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

  // The list has the freshest summary (the core titles a session from its first prompt).
  const current = conversation ? (sessions?.find((s) => s.id === conversation.session.id) ?? conversation.session) : null;
  const generatingHere = generation !== null;
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
      <nav className="sidebar" aria-label="Sessions">
        <div className="sidebar-header">
          <h2 className="sidebar-title">Sessions</h2>
          <button type="button" className="btn btn-primary btn-small" onClick={() => void newSession()} disabled={creating}>
            New session
          </button>
        </div>
        <WorkloadPicker workloads={workloads} models={models} value={workload} onChange={setChosenWorkloadId} disabled={creating} />
        <ErrorAlert error={listError} />
        {sessions === null && !listError ? (
          <p className="sidebar-empty">
            <Spinner /> Loading sessions…
          </p>
        ) : null}
        {sessions && sessions.length === 0 ? <p className="sidebar-empty">No sessions yet. Start one with “New session”.</p> : null}
        {sessions && sessions.length > 0 ? (
          <ul className="session-list">
            {sessions.map((s) => (
              <li key={s.id}>
                <button
                  type="button"
                  className={`session-item ${s.id === selectedId ? 'is-selected' : ''} ${s.locked ? 'is-locked' : ''}`}
                  aria-current={s.id === selectedId ? 'true' : undefined}
                  onClick={() => select(s.id)}
                >
                  {/* Sealed under a key this sign-in does not hold: no title to show, and opening it says why. */}
                  <span className="session-item-title">{s.locked ? 'Locked chat' : s.title || 'Untitled session'}</span>
                  <span className="session-item-meta">
                    {s.locked ? <span className="tag">Locked</span> : null}
                    <SessionAnswerTag generation={generations.get(s.id)} queue={queue} />
                    {s.endedAt !== null ? <span className="tag">Ended</span> : null}
                    <time dateTime={new Date(s.updatedAt).toISOString()}>{shortTime(s.updatedAt)}</time>
                  </span>
                </button>
              </li>
            ))}
          </ul>
        ) : null}
      </nav>

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
                <button type="button" className="btn btn-primary" onClick={() => void newSession()} disabled={creating}>
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
                  <button type="button" className="btn btn-ghost btn-small" onClick={() => void endSession()} disabled={generatingHere}>
                    End session
                  </button>
                ) : null}
                <button type="button" className="btn btn-ghost btn-small" onClick={() => setConfirmingDelete(current.id)} disabled={deleting || confirmingDelete === current.id}>
                  Delete session
                </button>
              </div>
            </div>
            {confirmingDelete === current.id ? (
              <DeleteConfirmation busy={deleting} onConfirm={() => void deleteSession(current.id)} onCancel={() => setConfirmingDelete(null)} />
            ) : null}
            {sessionModel?.isTestModel ? (
              <p className="note note-warning chat-notice" role="note" aria-label="Test model notice">
                <strong>Test model:</strong> random weights — the answers below are noise, not language or clinical information.
              </p>
            ) : null}
            <div className="message-log" role="log" aria-label="Conversation" ref={logRef} onScroll={onLogScroll}>
              <div className="message-stack">
              {conversation && conversation.messages.length === 0 && !generatingHere ? (
                <p className="log-empty">No messages yet. Type a prompt below.</p>
              ) : null}
              {conversation?.messages.map((m) => (
                <MessageView key={m.id} message={m} user={user} model={sessionModel} />
              ))}
              {generation ? (
                <>
                  {generation.promptId === null ? (
                    <MessageView
                      message={{ id: 'pending-prompt', role: 'user', content: generation.promptText, status: 'complete', createdAt: generation.startedAt, replyTo: null }}
                      user={user}
                      model={sessionModel}
                    />
                  ) : null}
                  <article className={`message message-assistant is-streaming ${aheadHere !== null ? 'is-queued' : ''}`} aria-label="Answer" aria-busy="true">
                    <div className="message-meta">
                      <span className="message-author">{sessionModel?.name ?? 'Model'}</span>
                      <span className="tag tag-info">{generation.stopping ? 'Stopping…' : aheadHere !== null ? 'Waiting' : 'Generating…'}</span>
                    </div>
                    <div className="message-body">
                      {liveText ? (
                        <MarkdownView text={liveText} />
                      ) : (
                        // One label for every placeholder, so "no answer text yet" is one thing to look for.
                        <div className="typing" role="status" aria-label="Waiting for the answer">
                          <Spinner />{' '}
                          <span>{aheadHere !== null ? waitingText(aheadHere) : generation.responseId ? 'Waiting for the first words…' : 'Sending…'}</span>
                        </div>
                      )}
                      {/* The load belongs to the answer being written, not to one still waiting. */}
                      {aheadHere === null && loading && (loading.phase === 'verifying' || loading.phase === 'loading') ? <ModelLoadingStatus event={loading} models={models} /> : null}
                    </div>
                  </article>
                </>
              ) : null}
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
                onSend={() => void send()}
                onStop={() => void stop()}
                textareaRef={promptRef}
              />
            )}
          </>
        )}
      </section>
    </div>
  );
}

/** A session's answer in the sidebar: being written, or waiting for the model. */
function SessionAnswerTag({ generation, queue }: { generation: Generation | undefined; queue: GenerationQueue | null }) {
  if (!generation) return null;
  return answersAhead(queue, generation.responseId) !== null ? <span className="tag">Waiting</span> : <span className="tag tag-info">Answering</span>;
}

/**
 * Which workload a new session uses: a list when policy offers the user more
 * than one, each with its description. A workload whose model file was refused
 * cannot be picked and says why; one whose file is still being checked can
 * (its first answer waits for the check).
 */
/** Asks before a session is deleted for good; focus starts on Cancel, and Escape cancels. */
function DeleteConfirmation({ busy, onConfirm, onCancel }: { busy: boolean; onConfirm(): void; onCancel(): void }) {
  const cancelRef = useRef<HTMLButtonElement>(null);
  const textId = useId();
  useEffect(() => cancelRef.current?.focus(), []);
  return (
    <div
      className="note note-warning delete-confirm"
      role="alertdialog"
      aria-label="Delete this session?"
      aria-describedby={textId}
      onKeyDown={(event) => {
        if (event.key === 'Escape' && !busy) onCancel();
      }}
    >
      <p id={textId}>Delete this session and all its messages from this workstation? This cannot be undone.</p>
      <button type="button" className="btn btn-danger btn-small" onClick={onConfirm} disabled={busy}>
        {busy ? 'Deleting…' : 'Delete for good'}
      </button>
      <button type="button" className="btn btn-ghost btn-small" onClick={onCancel} disabled={busy} ref={cancelRef}>
        Cancel
      </button>
    </div>
  );
}

function WorkloadPicker({
  workloads,
  models,
  value,
  onChange,
  disabled,
}: {
  workloads: Workload[];
  models: readonly ModelSummary[];
  value: Workload | null;
  onChange(id: string): void;
  disabled: boolean;
}) {
  const id = useId();
  const descriptionId = useId();
  const availabilityId = useId();
  if (!value) return null;
  const availability = workloadAvailability(models, value);
  const checked = percent(availability?.state === 'checking' ? availability.progress : null);
  const availabilityNote =
    availability?.state === 'rejected' ? (
      <p id={availabilityId} className="note note-warning workload-availability" role="note" aria-label="Workload unavailable">
        <strong>Unavailable:</strong> {availability.message ?? 'its model file was refused.'}
      </p>
    ) : availability?.state === 'checking' ? (
      <p id={availabilityId} className="field-hint workload-availability">
        Checking its model file…{checked ? ` ${checked}` : ''}
      </p>
    ) : null;
  if (workloads.length === 1) {
    // Nothing to choose; say what the one workload is for when policy describes it.
    return value.description || availabilityNote ? (
      <div className="workload-picker workload-single">
        {value.description ? (
          <p>
            <strong>{value.name}</strong> — {value.description}
          </p>
        ) : null}
        {availabilityNote}
      </div>
    ) : null;
  }
  const describedBy = [value.description ? descriptionId : null, availabilityNote ? availabilityId : null].filter(Boolean).join(' ');
  return (
    <div className="workload-picker field">
      <label htmlFor={id} className="field-label">
        Workload for new sessions
      </label>
      <select
        id={id}
        value={value.id}
        onChange={(e) => onChange(e.target.value)}
        disabled={disabled}
        aria-describedby={describedBy || undefined}
        title={availability?.state === 'rejected' ? (availability.message ?? undefined) : undefined}
      >
        {workloads.map((w) => {
          const a = workloadAvailability(models, w);
          return (
            <option key={w.id} value={w.id} disabled={a?.state === 'rejected'} title={a?.state === 'rejected' ? (a.message ?? undefined) : undefined}>
              {workloadOptionLabel(w, a)}
            </option>
          );
        })}
      </select>
      {value.description ? (
        <p id={descriptionId} className="field-hint">
          {value.description}
        </p>
      ) : null}
      {availabilityNote}
    </div>
  );
}

function MessageView({ message, user, model }: { message: ChatMessage; user: User; model: ModelSummary | null }) {
  const isUser = message.role === 'user';
  return (
    <article className={`message ${isUser ? 'message-user' : 'message-assistant'} message-${message.status}`} aria-label={isUser ? 'Prompt' : 'Answer'}>
      <div className="message-meta">
        <span className="message-author">{isUser ? user.displayName : (model?.name ?? 'Model')}</span>
        <time dateTime={new Date(message.createdAt).toISOString()}>{shortTime(message.createdAt)}</time>
        {message.status === 'cancelled' ? <span className="tag tag-warning">Stopped</span> : null}
        {message.status === 'failed' ? <span className="tag tag-error">Failed</span> : null}
      </div>
      <div className="message-body">
        {isUser ? (
          <p className="plain-text">{message.content}</p>
        ) : message.content ? (
          <MarkdownView text={message.content} />
        ) : (
          <p className="muted">{message.status === 'cancelled' ? 'Stopped before any text.' : '(no text)'}</p>
        )}
      </div>
    </article>
  );
}

interface ComposerProps {
  draft: string;
  onDraft(text: string): void;
  maxChars: number;
  generating: boolean;
  sending: boolean;
  stopping: boolean;
  busyElsewhere: boolean;
  onSend(): void;
  onStop(): void;
  textareaRef: RefObject<HTMLTextAreaElement | null>;
}

function Composer({ draft, onDraft, maxChars, generating, sending, stopping, busyElsewhere, onSend, onStop, textareaRef }: ComposerProps) {
  const id = useId();
  const countId = useId();
  const over = draft.length > maxChars;

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    // Enter sends, Shift+Enter is a new line; never while an IME is composing.
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      if (!generating) onSend();
    }
  }

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    onSend();
  }

  return (
    <form className="composer" onSubmit={onSubmit}>
      <label htmlFor={id} className="visually-hidden">
        Prompt
      </label>
      <textarea
        id={id}
        ref={textareaRef}
        className={over ? 'is-over' : undefined}
        value={draft}
        onChange={(e) => onDraft(e.target.value)}
        onKeyDown={onKeyDown}
        placeholder="Type a prompt…"
        rows={3}
        readOnly={sending}
        aria-describedby={countId}
        aria-invalid={over || undefined}
      />
      <div className="composer-bar">
        <span id={countId} className={`char-count ${over ? 'is-over' : ''}`}>
          {formatNumber(draft.length)} / {formatNumber(maxChars)} characters
          {over ? ` — ${formatNumber(draft.length - maxChars)} over the limit` : ''}
        </span>
        <span className="composer-hint">{busyElsewhere && !generating ? 'Another session is answering; yours will wait its turn.' : 'Enter to send · Shift+Enter for a new line'}</span>
        {generating ? (
          <button type="button" className="btn btn-danger" onClick={onStop} disabled={stopping}>
            {stopping ? 'Stopping…' : 'Stop'}
          </button>
        ) : (
          <button type="submit" className="btn btn-primary" disabled={sending || draft.trim() === ''}>
            Send
          </button>
        )}
      </div>
    </form>
  );
}
