// The chat screen's one store: sessions, the open conversation, the answers
// under way (one per session; those behind another wait in the core's queue),
// the search and the draft. Components read it through useSyncExternalStore
// with a selector (useChat), so a change re-renders only the components whose
// slice changed. Streamed text is kept apart, by response id, and its
// listeners are told at most once per animation frame: a token re-renders only
// the live answer, and the live answer's markdown is parsed at most once a
// frame (idea from node-llama-cpp's Electron template, whose renderer reads
// one external state object through a selector hook).
//
// Events and call results travel separately, so tokens (even chat.done) may
// arrive before chat.send has told us the response id: they are kept by
// response id until claimed.
import type { ChatMessage, ChatSessionSummary } from '../../../../shared/api.js';
import { isErrorCode } from '../../../../shared/errors.js';
import { call, on, type ErrorInfo } from '../../enclave.js';
import { ChatStoreBase, EMPTY_SEARCH } from './chat-store-base.js';
import { upsert, type ChatDone, type Generation } from './chat-state.js';

export type { ChatHost, ChatState, SearchState } from './chat-store-base.js';

export type CopyPart = 'answer' | 'code-block' | 'prompt';

export class ChatStore extends ChatStoreBase {
  private openRequest = 0;
  private searchRequest = 0;

  // --- Lifetime ---

  /** Listens to the core's chat events and reads the list; returns the cleanup. */
  start(): () => void {
    const offToken = on('chat.token', (t) => {
      this.streams.set(t.responseId, (this.streams.get(t.responseId) ?? '') + t.text);
      this.notifyStreams();
    });
    const offDone = on('chat.done', (done) => {
      const g = this.state.generations.get(done.sessionId);
      if (g && g.responseId === done.responseId) this.finish(done);
      else this.unclaimedDone.set(done.responseId, done);
    });
    void this.refreshList();
    return () => {
      offToken();
      offDone();
      this.cancelStreamFrame();
    };
  }

  async refreshList(): Promise<ChatSessionSummary[] | null> {
    const result = await call('chat.list', {});
    if (result.ok) {
      this.set({ sessions: result.output, listError: null });
      return result.output;
    }
    this.set({ listError: result.error });
    this.reportError(result.error);
    return null;
  }

  private finish(done: ChatDone): void {
    const g = this.state.generations.get(done.sessionId);
    const partial = this.streams.get(done.responseId) ?? '';
    this.streams.delete(done.responseId);
    // Without a stored message (a failure before anything was saved) keep what streamed, marked failed.
    const message: ChatMessage = done.message ?? {
      id: done.responseId,
      role: 'assistant',
      content: partial,
      status: done.status,
      createdAt: g?.startedAt ?? Date.now(),
      replyTo: g?.promptId ?? null,
    };
    const open = this.state.conversation?.session.id === done.sessionId;
    const next = new Map(this.state.generations);
    next.delete(done.sessionId);
    this.set({ generations: next, finishedCount: open ? this.state.finishedCount + 1 : this.state.finishedCount });
    this.updateConversation(done.sessionId, (c) => ({ ...c, messages: upsert(c.messages, message) }));
    this.notifyStreams(true);
    if (done.error && done.status === 'failed') {
      const code = isErrorCode(done.error.code) ? done.error.code : 'internal';
      this.set({ chatError: { sessionId: done.sessionId, error: { code, message: done.error.message } } });
    }
    void this.refreshList();
    this.host.onAnswerDone();
  }

  // --- Sessions ---

  /** The app's selected session (remembered across an unlock): opens it when it changes. */
  syncSelected(selectedId: string | null): void {
    if (selectedId === this.state.selectedId) return;
    this.set({ selectedId });
    if (!selectedId) {
      this.set({ conversation: null, openError: null });
      return;
    }
    if (this.state.conversation?.session.id === selectedId) return;
    const request = ++this.openRequest;
    this.set({ openError: null, conversation: null });
    void call('chat.open', { sessionId: selectedId }).then((result) => {
      if (request !== this.openRequest) return;
      if (result.ok) {
        this.stickToBottom.current = true;
        this.set({ conversation: result.output });
      } else {
        this.set({ conversation: null, openError: result.error });
        this.reportError(result.error);
      }
    });
  }

  select(sessionId: string, revealMessageId: string | null = null): void {
    this.set({ reveal: revealMessageId ? { sessionId, messageId: revealMessageId } : null });
    if (sessionId === this.state.selectedId) return;
    this.host.onSelect(sessionId);
  }

  /** The reveal was done (or the message is gone): forget it. */
  revealed(): void {
    if (this.state.reveal !== null) this.set({ reveal: null });
  }

  async newSession(): Promise<void> {
    this.set({ creating: true });
    const workload = this.host.workload;
    const result = await call('chat.create', workload ? { workloadId: workload.id } : {});
    this.set({ creating: false });
    if (!result.ok) {
      this.set({ listError: result.error });
      this.reportError(result.error);
      return;
    }
    const session = result.output;
    this.openRequest += 1;
    this.set({
      sessions: [session, ...(this.state.sessions ?? []).filter((s) => s.id !== session.id)],
      conversation: { session, messages: [] },
      openError: null,
      selectedId: session.id,
    });
    this.host.onSelect(session.id);
    this.focusPrompt();
  }

  async rename(sessionId: string, title: string): Promise<ErrorInfo | null> {
    const result = await call('chat.rename', { sessionId, title });
    if (!result.ok) {
      this.reportError(result.error);
      return result.error;
    }
    const session = result.output;
    this.set({ sessions: (this.state.sessions ?? []).map((s) => (s.id === session.id ? session : s)) });
    this.updateConversation(session.id, (c) => ({ ...c, session }));
    return null;
  }

  async endSession(): Promise<void> {
    const session = this.state.conversation?.session;
    if (!session) return;
    const result = await call('chat.end', { sessionId: session.id });
    if (!result.ok) return this.fail(session.id, result.error);
    this.updateConversation(result.output.id, (c) => ({ ...c, session: result.output }));
    const list = await this.refreshList();
    // Under a retention of 0 days the core deleted it as it ended: nothing of it stays on screen.
    if (list && !list.some((s) => s.id === session.id)) this.forget(session.id);
  }

  confirmDelete(sessionId: string | null): void {
    this.set({ confirmingDelete: sessionId });
  }

  async deleteSession(sessionId: string): Promise<void> {
    this.set({ deleting: true });
    const result = await call('chat.delete', { sessionId });
    this.set({ deleting: false, confirmingDelete: null });
    if (!result.ok) return this.fail(sessionId, result.error);
    // The core stopped any answer under way; nothing of the session stays on screen.
    this.setGen(sessionId, null);
    this.forget(sessionId);
    void this.refreshList();
    // Search results may name it.
    if (this.state.search.hits) this.set({ search: { ...this.state.search, hits: this.state.search.hits.filter((h) => h.sessionId !== sessionId) } });
  }

  private forget(sessionId: string): void {
    this.updateConversation(sessionId, () => null);
    if (this.state.selectedId === sessionId) {
      this.set({ selectedId: null });
      this.host.onSelect(null);
    }
  }

  // --- Search ---

  setSearchQuery(query: string): void {
    this.set({ search: { ...this.state.search, query, ...(query.trim() === '' ? { hits: null, error: null, busy: false } : {}) } });
  }

  clearSearch(): void {
    this.searchRequest += 1;
    this.set({ search: EMPTY_SEARCH });
  }

  async runSearch(): Promise<void> {
    const query = this.state.search.query.trim();
    if (query.length < 2) {
      this.searchRequest += 1;
      this.set({ search: { ...this.state.search, busy: false, hits: null, error: null } });
      return;
    }
    const request = ++this.searchRequest;
    this.set({ search: { ...this.state.search, busy: true } });
    const result = await call('chat.search', { query, limit: 50 });
    if (request !== this.searchRequest) return;
    if (result.ok) this.set({ search: { ...this.state.search, busy: false, hits: result.output.hits, truncated: result.output.truncated, error: null } });
    else {
      this.set({ search: { ...this.state.search, busy: false, hits: null, error: result.error } });
      this.reportError(result.error);
    }
  }

  // --- The draft and answers ---

  /** Asks the prompt box to take focus when it is (next) on screen. */
  focusPrompt(): void {
    this.set({ promptFocusPending: true });
  }

  /** The prompt box took focus. */
  promptFocused(): void {
    if (this.state.promptFocusPending) this.set({ promptFocusPending: false });
  }

  setDraft(draft: string): void {
    this.set({ draft });
  }

  /** Starts an answer: shown at once, claimed by its ids when the call returns. */
  private async startAnswer(
    sessionId: string,
    g: Generation,
    request: () => ReturnType<typeof call<'chat.send'>>,
    onOk: (ids: { promptId: string; responseId: string }) => void,
    onFail: () => void,
  ): Promise<boolean> {
    this.set({ chatError: null });
    this.setGen(sessionId, g);
    this.stickToBottom.current = true;
    const result = await request();
    if (!result.ok) {
      this.setGen(sessionId, null);
      onFail();
      this.fail(sessionId, result.error);
      return false;
    }
    const { promptId, responseId } = result.output;
    onOk(result.output);
    // Stop may have been pressed meanwhile; keep what it set.
    this.setGen(sessionId, { ...(this.state.generations.get(sessionId) ?? g), promptId, responseId });
    // The core titles a session from its first prompt: with answers under way in several sessions, the sidebar should say which is which.
    void this.refreshList();
    const early = this.unclaimedDone.get(responseId);
    if (early) {
      this.unclaimedDone.delete(responseId);
      this.finish(early);
    }
    return true;
  }

  async send(): Promise<void> {
    const session = this.state.conversation?.session;
    const text = this.state.draft;
    // One answer per session; another session's answer only makes this one wait its turn.
    if (!session || text.trim() === '' || this.state.generations.has(session.id)) return;
    const g: Generation = { sessionId: session.id, promptText: text.trim(), promptId: null, responseId: null, startedAt: Date.now(), stopping: false };
    this.set({ draft: '' });
    await this.startAnswer(
      session.id,
      g,
      () => call('chat.send', { sessionId: session.id, text }),
      ({ promptId }) => {
        const prompt: ChatMessage = { id: promptId, role: 'user', content: g.promptText, status: 'complete', createdAt: g.startedAt, replyTo: null };
        this.updateConversation(session.id, (c) => ({ ...c, messages: upsert(c.messages, prompt) }));
      },
      () => {
        // Nothing is lost: the prompt goes back into the box for the user to fix.
        this.set({ draft: text });
        this.focusPrompt();
      },
    );
  }

  /** Answers the last prompt again; the previous answer is replaced. */
  async regenerate(): Promise<void> {
    const c = this.state.conversation;
    if (!c || this.state.generations.has(c.session.id)) return;
    const prompt = lastPrompt(c.messages);
    if (!prompt) return;
    const sessionId = c.session.id;
    const g: Generation = { sessionId, promptText: prompt.content, promptId: prompt.id, responseId: null, startedAt: Date.now(), stopping: false };
    await this.startAnswer(
      sessionId,
      g,
      () => call('chat.regenerate', { sessionId }),
      () => this.updateConversation(sessionId, (conv) => ({ ...conv, messages: conv.messages.filter((m) => !(m.role === 'assistant' && m.replyTo === prompt.id)) })),
      () => undefined,
    );
  }

  /** Replaces the last prompt with new text and answers it; the earlier prompt and its answer go. */
  async editLastPrompt(promptId: string, text: string): Promise<boolean> {
    const c = this.state.conversation;
    if (!c || this.state.generations.has(c.session.id)) return false;
    const sessionId = c.session.id;
    const g: Generation = { sessionId, promptText: text.trim(), promptId: null, responseId: null, startedAt: Date.now(), stopping: false };
    // Until the core answers, the old prompt stays; the pending one shows the new text.
    return this.startAnswer(
      sessionId,
      g,
      () => call('chat.edit', { sessionId, promptId, text }),
      (ids) =>
        this.updateConversation(sessionId, (conv) => {
          const kept = conv.messages.filter((m) => m.id !== promptId && !(m.role === 'assistant' && m.replyTo === promptId));
          const prompt: ChatMessage = { id: ids.promptId, role: 'user', content: g.promptText, status: 'complete', createdAt: g.startedAt, replyTo: null };
          return { ...conv, messages: upsert(kept, prompt) };
        }),
      () => undefined,
    );
  }

  private markStopping(sessionId: string, stopping: boolean): void {
    const g = this.state.generations.get(sessionId);
    if (g) this.setGen(sessionId, { ...g, stopping });
  }

  /** Stops the open session's answer (a waiting one too: it ends as a stopped answer with no text). */
  async stop(): Promise<void> {
    const selectedId = this.state.selectedId;
    const g = selectedId ? this.state.generations.get(selectedId) : undefined;
    if (!g) return;
    this.markStopping(g.sessionId, true);
    this.focusPrompt();
    const result = await call('chat.cancel', { sessionId: g.sessionId });
    if (!result.ok) {
      this.markStopping(g.sessionId, false);
      this.fail(g.sessionId, result.error);
    } else if (!result.output.cancelled) {
      // Nothing was running any more; chat.done is on its way or already handled.
      this.markStopping(g.sessionId, false);
    }
  }

  /** Asks the core to copy; the caller writes the clipboard only when this returns null. */
  async requestCopy(messageId: string, part: CopyPart, text: string): Promise<ErrorInfo | null> {
    const sessionId = this.state.conversation?.session.id;
    if (!sessionId || text.length === 0) return null;
    const result = await call('chat.copy', { sessionId, messageId, part, chars: text.length });
    if (result.ok) return null;
    this.reportError(result.error);
    return result.error;
  }

  async report(messageId: string, category: 'wrong' | 'unsafe' | 'other-patient' | 'other'): Promise<ErrorInfo | null> {
    const sessionId = this.state.conversation?.session.id;
    if (!sessionId) return null;
    const result = await call('chat.report', { sessionId, messageId, category });
    if (result.ok) return null;
    this.reportError(result.error);
    return result.error;
  }
}

export function lastPrompt(messages: readonly ChatMessage[]): ChatMessage | null {
  for (let i = messages.length - 1; i >= 0; i -= 1) {
    const m = messages[i];
    if (m?.role === 'user') return m;
  }
  return null;
}
