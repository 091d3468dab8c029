// Chat sessions: their messages live only in the encrypted store, each prompt
// and response is audited by keyed hash in the same transaction that stores it, and
// each session's model context lives only while the session is unlocked.
import { v7 as uuidv7 } from 'uuid';
import type { ChatMessage, ChatSessionSummary, InferenceStatus, User } from '../../shared/api.js';
import { EnclaveError } from '../../shared/errors.js';
import { auditUser, type AuditLog } from '../audit/index.js';
import type { Policy, WorkloadEntry } from '../policy/index.js';
import { chatSessions, type Store } from '../store/index.js';
import { engineModel, GenerationQueue, type GenerationQueueOptions, type Job } from './chat-generation.js';
import { SessionChangedError, type ChatKeys, type SessionGate } from './chat-ports.js';
import type { ChatTurn, InferenceEngine } from './engine-types.js';
import { mayUseWorkload, type ModelRegistry } from './models.js';

const NEW_SESSION_TITLE = 'New session';

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
  }

  /** Sessions with an answer waiting or being written: retention never purges them. */
  busySessionIds(): string[] {
    return this.#queue.sessionIds();
  }

  /** Retention purged these sessions: whatever context the engine still holds for them goes too. */
  async forget(sessionIds: readonly string[]): Promise<void> {
    await Promise.all(sessionIds.map((id) => this.engine.disposeChat(id)));
  }

  /** Only the workloads the user's roles allow are listed. */
  status(user: User): InferenceStatus {
    const loaded = this.engine.loaded();
    return {
      models: this.models.summaries(),
      workloads: this.models
        .workloadsFor(user)
        .map((w) => ({ id: w.id, name: w.name, description: w.description ?? null, modelId: w.model, copyAllowed: true, availability: { state: 'ready' as const, reason: null } })),
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
    this.store.checkpoint();
    return { sessionId, messages };
  }

  async send(user: User, input: { sessionId: string; text: string }): Promise<{ promptId: string; responseId: string }> {
    const epoch = this.#enter();
    const session = this.#openableSession(user, input.sessionId);
    if (session.ended_at !== null) throw new EnclaveError('not_found', 'This session has ended. Start a new session.');
    this.#assertNoAnswerUnderWay(session.id);
    const { model, workload } = this.models.forWorkload(session.workload_id);
    // The log records the prompt's length and keyed hash, never the text nor a bare SHA-256 of it.
    const promptHash = { text: input.text };
    if (!mayUseWorkload(user, workload)) {
      // Policy changed since the session began: its roles no longer include this user's.
      this.audit.record({ action: 'ai.prompt', outcome: 'failure', reason: 'forbidden', user: auditUser(user), sessionId: session.id, workload: workload.id, prompt: promptHash });
      throw new EnclaveError('forbidden', `The workload "${workload.name}" of this session is no longer open to your roles (${user.roles.join(', ')}). Start a new session — nothing was sent.`);
    }
    const limit = this.policy().inference.maxPromptChars;
    if (input.text.length > limit) {
      this.audit.record({ action: 'ai.prompt', outcome: 'failure', reason: 'prompt_too_long', user: auditUser(user), sessionId: session.id, workload: session.workload_id, prompt: promptHash });
      throw new EnclaveError(
        'prompt_too_long',
        `This prompt has ${input.text.length.toLocaleString('en-US')} characters; the limit set by policy is ${limit.toLocaleString('en-US')}. Shorten it and send again — nothing was sent.`,
      );
    }
    let promptTokens: number;
    const maxTokens = responseTokenLimit(workload, this.policy());
    try {
      // The file must have passed its check (a refused one is refused here, with the reason, before anything is stored).
      const verified = await this.#stillCurrent(epoch, this.models.verifyBeforeLoad(user, model));
      // The checked file (links resolved), not whatever the listed path leads to by now.
      promptTokens = await this.#stillCurrent(epoch, this.engine.countTokens({ ...engineModel(model), path: verified.path }, input.text, this.policy().inference.gpu));
      // Nothing awaits from here to the job's queueing, so nothing can change in between; asked once more all the same, right before the prompt is stored.
      this.#assertStillCurrent(epoch);
    } catch (error) {
      // Locked, signed out or replaced while the checks ran: nothing is stored and nothing is answered.
      if (error instanceof SessionChangedError) {
        this.audit.record({ action: 'ai.prompt', outcome: 'failure', reason: error.reason, user: auditUser(user), sessionId: session.id, workload: session.workload_id, prompt: promptHash });
      }
      throw error;
    }
    if (promptTokens + maxTokens > model.contextSize) {
      this.audit.record({
        action: 'ai.prompt',
        outcome: 'failure',
        reason: 'prompt_too_long',
        user: auditUser(user),
        sessionId: session.id,
        workload: session.workload_id,
        prompt: { ...promptHash, tokens: promptTokens },
      });
      throw new EnclaveError(
        'prompt_too_long',
        `This prompt is ${promptTokens} tokens; with room for the answer it does not fit the model's context of ${model.contextSize} tokens. Shorten it — nothing was sent.`,
      );
    }

    // Asked again: a second send to this session may have been queued while this one awaited the checks above.
    this.#assertNoAnswerUnderWay(session.id);
    // And the session may have been ended, deleted or purged by retention meanwhile.
    if (this.#ownSession(user, session.id).ended_at !== null) throw new EnclaveError('not_found', 'This session has ended. Start a new session.');
    const history = this.#history(user, session);
    const time = this.now();
    const promptId = uuidv7({ msecs: time });
    const responseId = uuidv7({ msecs: time + 1 });
    // Sealed with the session's key; a session from before per-person keys gets the current one (its owner's sign-in sealed the rest).
    const keyId = session.key_id ?? this.keys.keyForNewChats(user.id);
    this.audit.run(
      (db) => {
        chatSessions.insertMessage(db, {
          id: promptId,
          sessionId: session.id,
          role: 'user',
          content: this.keys.sealMessage(user.id, keyId, { id: promptId, sessionId: session.id, role: 'user' }, input.text),
          status: 'complete',
          replyTo: null,
          modelId: model.id,
          createdAt: time,
        });
        const plainTitle = this.keys.openTitle(user.id, session.key_id, session.id, session.title);
        const title = plainTitle === NEW_SESSION_TITLE ? titleFrom(input.text) : plainTitle;
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
      }),
    );

    const job: Job = {
      user,
      epoch,
      session,
      model,
      turn: { promptId, responseId, text: input.text, history, systemPrompt: workload.systemPrompt, maxTokens, ...sampling(workload, this.policy()) },
      controller: new AbortController(),
      cancelReason: null,
      started: false,
      finished: Promise.resolve(),
    };
    this.#queue.enqueue(job);
    return { promptId, responseId };
  }

  async cancel(user: User, sessionId: string): Promise<{ cancelled: boolean }> {
    this.#ownSession(user, sessionId);
    return { cancelled: await this.#queue.stop(sessionId, 'user') };
  }

  /** Lock or sign-out: stop every answer (waiting ones too) and drop every context, so no KV cache outlives the unlocked session. */
  async dropAllContexts(reason: string): Promise<void> {
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

  #assertNoAnswerUnderWay(sessionId: string): void {
    if (this.#queue.has(sessionId)) throw new EnclaveError('busy', 'An answer is still being written or waiting in this session. Stop it or wait for it.');
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

  /** Earlier turns for rebuilding the model's context: failed answers are left out. */
  #history(user: User, session: SessionRow): ChatTurn[] {
    return this.#messages(user, session)
      .filter((m) => m.status !== 'failed')
      .map((m) => ({ role: m.role, text: m.content }));
  }
}

/** A workload's own answer limit, never above the policy's. */
function responseTokenLimit(workload: WorkloadEntry, policy: Policy): number {
  const limit = policy.inference.maxResponseTokens;
  return Math.min(workload.maxTokens ?? limit, limit);
}

function titleFrom(text: string): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > 60 ? `${line.slice(0, 57)}…` : line || NEW_SESSION_TITLE;
}

/** The row's title must already be opened (or blanked for a locked session). */
function toSummary(row: SessionRow): ChatSessionSummary {
  return { id: row.id, title: row.title, workloadId: row.workload_id, createdAt: row.created_at, updatedAt: row.updated_at, endedAt: row.ended_at, locked: false };
}

/** The seed of deterministic mode: any fixed number would do; this one is recorded here so IT's acceptance checks can be repeated. */
export const DETERMINISTIC_SEED = 20_261_123;

/** Deterministic mode (policy) overrides a workload's temperature: greedy, with a fixed seed. */
function sampling(workload: { temperature?: number | undefined }, policy: Policy): { temperature: number | undefined; seed: number | undefined } {
  return policy.inference.deterministic ? { temperature: 0, seed: DETERMINISTIC_SEED } : { temperature: workload.temperature, seed: undefined };
}
