// Chat sessions: their messages live only in the encrypted store, each prompt
// and response is audited by keyed hash in the same transaction that stores it, and
// each session's model context lives only while the session is unlocked.
// A prompt can be sent new, answered again (regenerate) or replaced (edit),
// all through one path (#submit). Rename, copy and report are in
// chat-actions.ts, search in chat-search.ts, the stateless pieces in chat-turns.ts.
import { v7 as uuidv7 } from 'uuid';
import type { ChatMessage, ChatSessionSummary, InferenceStatus, User } from '../../shared/api.js';
import { EnclaveError } from '../../shared/errors.js';
import { auditUser, type AuditLog } from '../audit/index.js';
import type { Policy, WorkloadEntry } from '../policy/index.js';
import { chatSessions, type Store } from '../store/index.js';
import { engineModel, GenerationQueue, type GenerationQueueOptions, type Job } from './chat-generation.js';
import { ChatActions, workloadAvailability } from './chat-actions.js';
import { SessionChangedError, type ChatKeys, type SessionGate } from './chat-ports.js';
import { ChatSearch, type ChatSearchResult } from './chat-search.js';
import { NEW_SESSION_TITLE } from './chat-titles.js';
import { lastTurn, removedBy, responseTokenLimit, sameTurn, sampling, titleAfterPrompt, toHistory, toSummary, type LastTurn, type SubmitRequest } from './chat-turns.js';
import type { InferenceEngine } from './engine-types.js';
import { mayUseWorkload, type ModelRegistry } from './models.js';

type SessionRow = chatSessions.SessionRow;
type MessageRow = chatSessions.MessageRow;

export interface ChatServiceOptions extends GenerationQueueOptions {
  store: Store;
  /** After a session is ended: the retention sweep (with 0 days it deletes the session now). */
  afterEnd?: (sessionId: string) => Promise<unknown>;
}

/** Chat sessions and their messages; the answers are written by the generation queue (chat-generation.ts). */
export class ChatService {
  readonly #queue: GenerationQueue;
  readonly #search: ChatSearch;
  readonly #actions: ChatActions;
  #closed = false;
  private readonly store: Store;
  private readonly audit: AuditLog;
  private readonly policy: () => Policy;
  private readonly models: ModelRegistry;
  private readonly engine: InferenceEngine;
  private readonly now: () => number;
  private readonly session: SessionGate;
  private readonly keys: ChatKeys;
  private readonly afterEnd: (sessionId: string) => Promise<unknown>;

  constructor(options: ChatServiceOptions) {
    ({ store: this.store, audit: this.audit, policy: this.policy, models: this.models, engine: this.engine, now: this.now, session: this.session, keys: this.keys } = options);
    this.afterEnd = options.afterEnd ?? (() => Promise.resolve());
    this.#queue = new GenerationQueue(options);
    this.#search = new ChatSearch({ store: this.store, keys: this.keys, session: this.session });
    this.#actions = new ChatActions({
      store: this.store,
      audit: this.audit,
      keys: this.keys,
      models: this.models,
      ownSession: (user, sessionId) => this.#ownSession(user, sessionId),
      openableSession: (user, sessionId) => this.#openableSession(user, sessionId),
      summary: (user, row) => this.#summary(user, row),
    });
  }

  /** Sessions with an answer waiting or being written: retention never purges them. */
  busySessionIds(): string[] {
    return this.#queue.sessionIds();
  }

  /** Retention purged these sessions: whatever context the engine still holds for them goes too. */
  async forget(sessionIds: readonly string[]): Promise<void> {
    this.#search.drop();
    await Promise.all(sessionIds.map((id) => this.engine.disposeChat(id)));
  }

  /** Only the workloads the user's roles allow are listed. */
  status(user: User): InferenceStatus {
    const loaded = this.engine.loaded();
    return {
      models: this.models.summaries(),
      workloads: this.models
        .workloadsFor(user)
        .map((w) => ({ id: w.id, name: w.name, description: w.description ?? null, modelId: w.model, copyAllowed: w.allowCopy, availability: workloadAvailability(this.models, w) })),
      allowUserModels: this.policy().inference.allowUserModels,
      loadedModelId: loaded?.modelId ?? null,
      device: loaded?.device ?? null,
      offload: loaded ? { gpuLayers: loaded.gpuLayers, totalLayers: loaded.totalLayers, fallback: loaded.fallback } : null,
      loading: this.#queue.loading,
      queue: this.#queue.state(),
    };
  }

  list(user: User): ChatSessionSummary[] {
    const rows = chatSessions.sessionsOfUser(this.store.reader, user.id);
    // A session under a key this sign-in does not hold is listed as locked, without its title.
    return rows.map((row) => (this.keys.canOpen(user.id, row.key_id) ? this.#summary(user, row) : { ...toSummary({ ...row, title: '' }), locked: true }));
  }

  async create(user: User, input: { workloadId?: string | undefined; title?: string | undefined }): Promise<ChatSessionSummary> {
    const epoch = this.#enter();
    const workloadId = input.workloadId ?? this.#defaultWorkload(user).id;
    const workload = this.models.workload(workloadId);
    if (!workload) throw new EnclaveError('not_found', `There is no workload "${workloadId}" in the policy.`);
    if (!mayUseWorkload(user, workload)) {
      this.audit.record({ action: 'session.create', outcome: 'failure', reason: 'forbidden', user: auditUser(user), workload: workload.id, detail: { allowed_roles: workload.roles.join(',') } });
      throw new EnclaveError('forbidden', `The workload "${workload.name}" is not open to your roles (${user.roles.join(', ')}); it is for ${workload.roles.join(' or ')}.`);
    }
    const { model } = this.models.forWorkload(workloadId);
    if (this.models.availability(model).state === 'rejected') {
      // Looked at again first (cheap): IT may have redeployed the file since it was refused.
      try {
        await this.#stillCurrent(epoch, this.models.verifyBeforeLoad(user, model));
      } catch (error) {
        if (error instanceof SessionChangedError) {
          this.audit.record({ action: 'session.create', outcome: 'failure', reason: error.reason, user: auditUser(user), workload: workload.id });
          throw error;
        }
        this.audit.record({ action: 'session.create', outcome: 'failure', reason: 'model_rejected', user: auditUser(user), workload: workload.id, model: { id: model.id, sha256: model.sha256 } });
        throw new EnclaveError('model_not_allowed', `The workload "${workload.name}" cannot be used now. ${error instanceof Error ? error.message : `Its model "${model.name}" was refused.`}`, {
          cause: error,
        });
      }
    }
    const time = this.now();
    const id = uuidv7({ msecs: time });
    const title = input.title?.trim() || NEW_SESSION_TITLE;
    const keyId = this.keys.keyForNewChats(user.id);
    const row: SessionRow = { id, user_id: user.id, title: this.keys.sealTitle(user.id, keyId, id, title), key_id: keyId, workload_id: workloadId, created_at: time, updated_at: time, ended_at: null };
    this.audit.run(
      (db) => chatSessions.insertSession(db, row),
      () => ({ action: 'session.create', outcome: 'success', user: auditUser(user), sessionId: row.id, workload: workloadId }),
    );
    return toSummary({ ...row, title });
  }

  open(user: User, sessionId: string): { session: ChatSessionSummary; messages: ChatMessage[] } {
    const session = this.#openableSession(user, sessionId);
    return { session: this.#summary(user, session), messages: this.#messages(user, session).map(chatSessions.toMessage) };
  }

  async end(user: User, sessionId: string): Promise<ChatSessionSummary> {
    this.#ownSession(user, sessionId);
    await this.#quiesce(sessionId, 'session_end');
    // Read again after the awaits: retention may have purged it meanwhile.
    const session = this.#ownSession(user, sessionId);
    if (session.ended_at !== null) return this.#lockedOrSummary(user, session);
    const time = this.now();
    this.audit.run(
      (db) => chatSessions.endSession(db, sessionId, time),
      () => ({ action: 'session.end', outcome: 'success', user: auditUser(user), sessionId }),
    );
    await this.afterEnd(sessionId);
    return this.#lockedOrSummary(user, { ...session, ended_at: time, updated_at: time });
  }

  /**
   * The user deletes their own session: its answer is stopped, its context
   * disposed, and the session and every message deleted in one audited
   * transaction; then the WAL is checkpointed so the text leaves it too.
   */
  async delete(user: User, sessionId: string): Promise<{ sessionId: string; messages: number }> {
    try {
      this.#ownSession(user, sessionId);
    } catch (error) {
      // Someone else's session, or none: refused, nothing deleted, and the attempt is on record.
      this.audit.record({ action: 'session.delete', outcome: 'failure', reason: 'not_found', user: auditUser(user), sessionId });
      throw error;
    }
    await this.#quiesce(sessionId, 'session_delete');
    // After the awaits: retention may have purged it, or the core may be closing.
    this.#ownSession(user, sessionId);
    const messages = this.audit.run(
      (db) => {
        const count = chatSessions.countSessionMessages(db, sessionId);
        chatSessions.deleteSessions(db, [sessionId]);
        return count;
      },
      (count) => ({ action: 'session.delete', outcome: 'success', user: auditUser(user), sessionId, detail: { messages: count } }),
    );
    this.#search.drop();
    this.store.checkpoint();
    return { sessionId, messages };
  }

  rename(user: User, input: { sessionId: string; title: string }): ChatSessionSummary {
    return this.#actions.rename(user, input);
  }

  /** The user's own sessions searched in memory, opened with their key (chat-search.ts). */
  search(user: User, input: { query: string; limit: number }): Promise<ChatSearchResult> {
    return this.#search.search(user, input);
  }

  copy(user: User, input: Parameters<ChatActions['copy']>[1]): { ok: true } {
    return this.#actions.copy(user, input);
  }

  report(user: User, input: Parameters<ChatActions['report']>[1]): { ok: true } {
    return this.#actions.report(user, input);
  }

  send(user: User, input: { sessionId: string; text: string }): Promise<{ promptId: string; responseId: string }> {
    return this.#submit(user, input.sessionId, { kind: 'send', text: input.text });
  }

  /** The session's last prompt answered again; its previous answer is removed when the new one is queued. */
  regenerate(user: User, input: { sessionId: string }): Promise<{ promptId: string; responseId: string }> {
    return this.#submit(user, input.sessionId, { kind: 'regenerate' });
  }

  /** The session's last prompt (promptId) replaced by new text and answered; the earlier prompt and its answer are removed. */
  edit(user: User, input: { sessionId: string; promptId: string; text: string }): Promise<{ promptId: string; responseId: string }> {
    return this.#submit(user, input.sessionId, { kind: 'edit', promptId: input.promptId, text: input.text });
  }

  /**
   * A prompt stored and its answer queued: a new one (send), the last one
   * again (regenerate) or the last one replaced (edit). Each goes through the
   * same checks and limits; the messages a resend replaces are deleted in the
   * transaction that stores and audits it, and only if the session's last
   * turn is still the one the call began with.
   */
  async #submit(user: User, sessionId: string, request: SubmitRequest): Promise<{ promptId: string; responseId: string }> {
    const epoch = this.#enter();
    const session = this.#openableSession(user, sessionId);
    if (session.ended_at !== null) throw new EnclaveError('not_found', 'This session has ended. Start a new session.');
    this.#assertNoAnswerUnderWay(session.id, request.kind);
    const replaced = request.kind === 'send' ? null : this.#lastTurn(user, session, request);
    const text = request.kind === 'regenerate' ? replaced!.prompt.content : request.text;
    const { model, workload } = this.models.forWorkload(session.workload_id);
    // The log records the prompt's length and keyed hash, never the text nor a bare SHA-256 of it.
    const promptHash = { text };
    const failed = (reason: string, tokens?: number) =>
      this.audit.record({
        action: 'ai.prompt',
        outcome: 'failure',
        reason,
        user: auditUser(user),
        sessionId: session.id,
        workload: session.workload_id,
        prompt: tokens === undefined ? promptHash : { ...promptHash, tokens },
        ...(replaced ? { detail: { resend: request.kind } } : {}),
      });
    if (!mayUseWorkload(user, workload)) {
      // Policy changed since the session began: its roles no longer include this user's.
      failed('forbidden');
      throw new EnclaveError('forbidden', `The workload "${workload.name}" of this session is no longer open to your roles (${user.roles.join(', ')}). Start a new session — nothing was sent.`);
    }
    const limit = this.policy().inference.maxPromptChars;
    if (text.length > limit) {
      failed('prompt_too_long');
      throw new EnclaveError(
        'prompt_too_long',
        `This prompt has ${text.length.toLocaleString('en-US')} characters; the limit set by policy is ${limit.toLocaleString('en-US')}. Shorten it and send again — nothing was sent.`,
      );
    }
    let promptTokens: number;
    const maxTokens = responseTokenLimit(workload, this.policy());
    try {
      // The file must have passed its check (a refused one is refused here, with the reason, before anything is stored).
      const verified = await this.#stillCurrent(epoch, this.models.verifyBeforeLoad(user, model));
      // The checked file (links resolved), not whatever the listed path leads to by now.
      promptTokens = await this.#stillCurrent(epoch, this.engine.countTokens({ ...engineModel(model), path: verified.path }, text, this.policy().inference.gpu));
      // Nothing awaits from here to the job's queueing, so nothing can change in between; asked once more all the same, right before the prompt is stored.
      this.#assertStillCurrent(epoch);
    } catch (error) {
      // Locked, signed out or replaced while the checks ran: nothing is stored and nothing is answered.
      if (error instanceof SessionChangedError) failed(error.reason);
      throw error;
    }
    if (promptTokens + maxTokens > model.contextSize) {
      failed('prompt_too_long', promptTokens);
      throw new EnclaveError(
        'prompt_too_long',
        `This prompt is ${promptTokens} tokens; with room for the answer it does not fit the model's context of ${model.contextSize} tokens. Shorten it — nothing was sent.`,
      );
    }

    // Asked again: a second send to this session may have been queued while this one awaited the checks above.
    this.#assertNoAnswerUnderWay(session.id, request.kind);
    // And the session may have been ended, deleted or purged by retention meanwhile.
    if (this.#ownSession(user, session.id).ended_at !== null) throw new EnclaveError('not_found', 'This session has ended. Start a new session.');
    // And its last turn edited or answered again by another call.
    if (replaced && !sameTurn(replaced, this.#lastTurn(user, session, request))) {
      throw new EnclaveError('conflict', 'This conversation changed while your request was checked. Look at it again, then retry.');
    }
    const messages = this.#messages(user, session);
    const history = toHistory(
      replaced
        ? messages.slice(
            0,
            messages.findIndex((m) => m.id === replaced.prompt.id),
          )
        : messages,
    );
    const time = this.now();
    const promptId = request.kind === 'regenerate' ? replaced!.prompt.id : uuidv7({ msecs: time });
    const responseId = uuidv7({ msecs: time + 1 });
    // Sealed with the session's key; a session from before per-person keys gets the current one (its owner's sign-in sealed the rest).
    const keyId = session.key_id ?? this.keys.keyForNewChats(user.id);
    const removed = replaced ? removedBy(request, replaced) : [];
    this.audit.run(
      (db) => {
        if (removed.length > 0) chatSessions.deleteMessages(db, session.id, removed);
        if (request.kind !== 'regenerate') {
          chatSessions.insertMessage(db, {
            id: promptId,
            sessionId: session.id,
            role: 'user',
            content: this.keys.sealMessage(user.id, keyId, { id: promptId, sessionId: session.id, role: 'user' }, text),
            status: 'complete',
            replyTo: null,
            modelId: model.id,
            createdAt: time,
          });
        }
        const title = titleAfterPrompt(this.keys.openTitle(user.id, session.key_id, session.id, session.title), text, replaced && history.length === 0 ? replaced.prompt.content : null);
        chatSessions.updateSessionAfterPrompt(db, session.id, { time, sealedTitle: this.keys.sealTitle(user.id, keyId, session.id, title), keyId });
      },
      () => ({
        action: 'ai.prompt',
        outcome: 'success',
        user: auditUser(user),
        sessionId: session.id,
        messageId: promptId,
        workload: session.workload_id,
        model: { id: model.id, sha256: model.sha256 },
        prompt: { ...promptHash, tokens: promptTokens },
        // A resend names what it removed: the earlier answer (regenerate), or the earlier prompt and its answer (edit).
        ...(replaced ? { detail: { resend: request.kind, removed: removed.join(','), ...(request.kind === 'edit' ? { replaces: replaced.prompt.id } : {}) } } : {}),
      }),
    );
    if (removed.length > 0) this.#search.drop();

    const job: Job = {
      user,
      epoch,
      session,
      model,
      turn: {
        promptId,
        responseId,
        text,
        history,
        systemPrompt: workload.systemPrompt,
        maxTokens,
        ...sampling(workload, this.policy()),
        resend: request.kind === 'send' ? null : request.kind,
      },
      controller: new AbortController(),
      cancelReason: null,
      started: false,
      finished: Promise.resolve(),
    };
    this.#queue.enqueue(job);
    return { promptId, responseId };
  }

  /** The session's last prompt and what follows it (chat-turns.ts lastTurn). */
  #lastTurn(user: User, session: SessionRow, request: SubmitRequest): LastTurn {
    return lastTurn(this.#messages(user, session), request);
  }

  async cancel(user: User, sessionId: string): Promise<{ cancelled: boolean }> {
    this.#ownSession(user, sessionId);
    return { cancelled: await this.#queue.stop(sessionId, 'user') };
  }

  /** Lock or sign-out: stop every answer (waiting ones too) and drop every context, so no KV cache outlives the unlocked session. */
  async dropAllContexts(reason: string): Promise<void> {
    // What search opened is the signed-in person's text: it goes with the session.
    this.#search.drop();
    await this.#queue.stopAll(reason);
    await this.engine.disposeAllChats();
  }

  /** A loaded model whose file failed its background re-check: stop what uses it and unload it. */
  modelRejected(modelId: string): Promise<void> {
    return this.#queue.modelRejected(modelId);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.dropAllContexts('shutdown');
    await this.engine.unload();
  }

  /** Stops the session's answer and disposes its context, until no answer is under way after the awaits (a prompt sent meanwhile is stopped too). */
  async #quiesce(sessionId: string, reason: string): Promise<void> {
    do {
      await this.#queue.stop(sessionId, reason);
      await this.engine.disposeChat(sessionId);
      if (this.#closed) throw new EnclaveError('busy', 'Enclave is shutting down; nothing was changed.');
    } while (this.#queue.has(sessionId));
  }

  /** The epoch at the start of a call; refused when no session is active (a lock or sign-out under way counts as none). */
  #enter(): number {
    const epoch = this.session.epoch;
    this.#assertStillCurrent(epoch);
    return epoch;
  }

  /**
   * Awaits work started in the session of `epoch`, then makes sure that
   * session is still the active one: a lock, sign-out or another person's
   * sign-in during the await refuses the rest of the call. Every await of a
   * call that goes on to store or answer goes through here.
   */
  async #stillCurrent<T>(epoch: number, work: Promise<T>): Promise<T> {
    try {
      return await work;
    } finally {
      // A stale session wins over the work's own outcome (its failure, too, is no longer anyone's to see).
      this.#assertStillCurrent(epoch);
    }
  }

  #assertStillCurrent(epoch: number): void {
    const stale = this.session.staleness(epoch);
    if (stale) throw new SessionChangedError(stale);
  }

  /** A send waits for the session's answer (busy); a regenerate or edit would replace what is being written (conflict). */
  #assertNoAnswerUnderWay(sessionId: string, kind: SubmitRequest['kind'] = 'send'): void {
    if (!this.#queue.has(sessionId)) return;
    if (kind === 'send') throw new EnclaveError('busy', 'An answer is still being written or waiting in this session. Stop it or wait for it.');
    throw new EnclaveError('conflict', 'An answer is still being written or waiting in this session. Stop it or wait for it, then try again.');
  }

  /** The first workload the user's roles allow; a user who may use none is told so, and the refusal audited. */
  #defaultWorkload(user: User): WorkloadEntry {
    const first = this.models.workloadsFor(user)[0];
    if (first) return first;
    this.audit.record({ action: 'session.create', outcome: 'failure', reason: 'no_workload', user: auditUser(user) });
    throw new EnclaveError('forbidden', `None of the workloads set by policy is open to your roles (${user.roles.join(', ')}), so you cannot start a session. Ask IT to give your role a workload.`);
  }

  #ownSession(user: User, sessionId: string): SessionRow {
    const row = chatSessions.getOwnSession(this.store.reader, sessionId, user.id);
    if (!row) throw new EnclaveError('not_found', 'That session does not exist or belongs to someone else.');
    return row;
  }

  /** Its owner's session whose key this sign-in holds; a locked one is refused with what opens it. */
  #openableSession(user: User, sessionId: string): SessionRow {
    const session = this.#ownSession(user, sessionId);
    if (!this.keys.canOpen(user.id, session.key_id)) {
      throw new EnclaveError(
        'chat_locked',
        'This chat is locked: it was written under your other sign-in (smart card or password) or under an earlier password, and opens only with that. Retention deletes it on schedule.',
      );
    }
    return session;
  }

  #summary(user: User, row: SessionRow): ChatSessionSummary {
    return toSummary({ ...row, title: this.keys.openTitle(user.id, row.key_id, row.id, row.title) });
  }

  #lockedOrSummary(user: User, row: SessionRow): ChatSessionSummary {
    return this.keys.canOpen(user.id, row.key_id) ? this.#summary(user, row) : { ...toSummary({ ...row, title: '' }), locked: true };
  }

  /** The session's messages, opened with its owner's key. */
  #messages(user: User, session: SessionRow): MessageRow[] {
    const rows = chatSessions.messagesOfSession(this.store.reader, session.id);
    return rows.map((row) => ({ ...row, content: this.keys.openMessage(user.id, session.key_id, { id: row.id, sessionId: session.id, role: row.role }, row.content) }));
  }
}
