// Chat sessions: their messages live only in the encrypted store, each prompt
// and response is audited by hash in the same transaction that stores it, and
// each session's model context lives only while the session is unlocked.
import { v7 as uuidv7 } from 'uuid';
import type { ChatMessage, ChatSessionSummary, EventPayload, InferenceStatus, User } from '../../shared/api.js';
import { EnclaveError } from '../../shared/errors.js';
import { sha256Hex, type AuditLog } from '../audit/index.js';
import { auditUser } from '../identity/index.js';
import type { Policy, WorkloadEntry } from '../policy/index.js';
import type { Store } from '../store/index.js';
import type { ChatTurn, InferenceEngine } from './engine-types.js';
import { mayUseWorkload, toModelSummary, type AllowedModel, type ModelRegistry } from './models.js';

const NEW_SESSION_TITLE = 'New session';

interface SessionRow {
  id: string;
  user_id: string;
  title: string;
  workload_id: string;
  created_at: number;
  updated_at: number;
  ended_at: number | null;
}
interface MessageRow {
  id: string;
  role: 'user' | 'assistant';
  content: string;
  status: ChatMessage['status'];
  reply_to: string | null;
  created_at: number;
}

export interface ChatEvents {
  token(payload: EventPayload<'chat.token'>): void;
  done(payload: EventPayload<'chat.done'>): void;
  modelLoading(payload: EventPayload<'model.loading'>): void;
}

interface Generation {
  controller: AbortController;
  cancelReason: string | null;
  finished: Promise<void>;
}

export class ChatService {
  readonly #generations = new Map<string, Generation>();
  #loading: Promise<void> | null = null;
  /** What the loaded model was loaded with: a policy change to any of it reloads the model. */
  #loadedKey: string | null = null;

  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly policy: () => Policy,
    private readonly models: ModelRegistry,
    private readonly engine: InferenceEngine,
    private readonly events: ChatEvents,
    private readonly now: () => number,
  ) {}

  /** Only the workloads the user's roles allow are listed. */
  status(user: User): InferenceStatus {
    const loaded = this.engine.loaded();
    return {
      models: this.models.list().map(toModelSummary),
      workloads: this.models.workloadsFor(user).map((w) => ({ id: w.id, name: w.name, description: w.description ?? null, modelId: w.model })),
      allowUserModels: this.policy().inference.allowUserModels,
      loadedModelId: loaded?.modelId ?? null,
      device: loaded?.device ?? null,
    };
  }

  list(user: User): ChatSessionSummary[] {
    const rows = this.store.db.prepare('SELECT * FROM chat_sessions WHERE user_id = ? ORDER BY updated_at DESC, id DESC').all(user.id) as SessionRow[];
    return rows.map(toSummary);
  }

  create(user: User, input: { workloadId?: string | undefined; title?: string | undefined }): ChatSessionSummary {
    const workloadId = input.workloadId ?? this.#defaultWorkload(user).id;
    const workload = this.models.workload(workloadId);
    if (!workload) throw new EnclaveError('not_found', `There is no workload "${workloadId}" in the policy.`);
    if (!mayUseWorkload(user, workload)) {
      this.audit.record({ action: 'session.create', outcome: 'failure', reason: 'forbidden', user: auditUser(user), workload: workload.id, detail: { allowed_roles: workload.roles.join(',') } });
      throw new EnclaveError('forbidden', `The workload "${workload.name}" is not open to your roles (${user.roles.join(', ')}); it is for ${workload.roles.join(' or ')}.`);
    }
    this.models.forWorkload(workloadId);
    const time = this.now();
    const row: SessionRow = { id: uuidv7({ msecs: time }), user_id: user.id, title: input.title?.trim() || NEW_SESSION_TITLE, workload_id: workloadId, created_at: time, updated_at: time, ended_at: null };
    this.audit.run(
      (db) => db.prepare('INSERT INTO chat_sessions (id, user_id, title, workload_id, created_at, updated_at, ended_at) VALUES (?, ?, ?, ?, ?, ?, NULL)').run(row.id, row.user_id, row.title, row.workload_id, time, time),
      () => ({ action: 'session.create', outcome: 'success', user: auditUser(user), sessionId: row.id, workload: workloadId }),
    );
    return toSummary(row);
  }

  open(user: User, sessionId: string): { session: ChatSessionSummary; messages: ChatMessage[] } {
    const session = this.#ownSession(user, sessionId);
    return { session: toSummary(session), messages: this.#messages(sessionId).map(toMessage) };
  }

  async end(user: User, sessionId: string): Promise<ChatSessionSummary> {
    const session = this.#ownSession(user, sessionId);
    await this.#stop(sessionId, 'session_end');
    await this.engine.disposeChat(sessionId);
    if (session.ended_at !== null) return toSummary(session);
    const time = this.now();
    this.audit.run(
      (db) => db.prepare('UPDATE chat_sessions SET ended_at = ?, updated_at = ? WHERE id = ?').run(time, time, sessionId),
      () => ({ action: 'session.end', outcome: 'success', user: auditUser(user), sessionId }),
    );
    return toSummary({ ...session, ended_at: time, updated_at: time });
  }

  async send(user: User, input: { sessionId: string; text: string }): Promise<{ promptId: string; responseId: string }> {
    const session = this.#ownSession(user, input.sessionId);
    if (session.ended_at !== null) throw new EnclaveError('not_found', 'This session has ended. Start a new session.');
    if (this.#generations.has(session.id)) throw new EnclaveError('busy', 'An answer is still being written in this session. Stop it or wait for it.');
    const { model, workload } = this.models.forWorkload(session.workload_id);
    const promptHash = { sha256: sha256Hex(input.text), chars: input.text.length };
    if (!mayUseWorkload(user, workload)) {
      // Policy changed since the session began: its roles no longer include this user's.
      this.audit.record({ action: 'ai.prompt', outcome: 'failure', reason: 'forbidden', user: auditUser(user), sessionId: session.id, workload: workload.id, prompt: promptHash });
      throw new EnclaveError('forbidden', `The workload "${workload.name}" of this session is no longer open to your roles (${user.roles.join(', ')}). Start a new session — nothing was sent.`);
    }
    const limit = this.policy().inference.maxPromptChars;
    if (input.text.length > limit) {
      this.audit.record({ action: 'ai.prompt', outcome: 'failure', reason: 'prompt_too_long', user: auditUser(user), sessionId: session.id, workload: session.workload_id, prompt: promptHash });
      throw new EnclaveError('prompt_too_long', `This prompt has ${input.text.length.toLocaleString('en-US')} characters; the limit set by policy is ${limit.toLocaleString('en-US')}. Shorten it and send again — nothing was sent.`);
    }
    await this.#ensureLoaded(user, model);
    const maxTokens = responseTokenLimit(workload, this.policy());
    const promptTokens = this.engine.countTokens(input.text);
    if (promptTokens + maxTokens > model.contextSize) {
      this.audit.record({ action: 'ai.prompt', outcome: 'failure', reason: 'prompt_too_long', user: auditUser(user), sessionId: session.id, workload: session.workload_id, prompt: { ...promptHash, tokens: promptTokens } });
      throw new EnclaveError('prompt_too_long', `This prompt is ${promptTokens} tokens; with room for the answer it does not fit the model's context of ${model.contextSize} tokens. Shorten it — nothing was sent.`);
    }

    const history = this.#history(session.id);
    const time = this.now();
    const promptId = uuidv7({ msecs: time });
    const responseId = uuidv7({ msecs: time + 1 });
    this.audit.run(
      (db) => {
        db.prepare('INSERT INTO chat_messages (id, session_id, role, content, status, reply_to, model_id, created_at) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)').run(promptId, session.id, 'user', input.text, 'complete', model.id, time);
        const title = session.title === NEW_SESSION_TITLE ? titleFrom(input.text) : session.title;
        db.prepare('UPDATE chat_sessions SET updated_at = ?, title = ? WHERE id = ?').run(time, title, session.id);
      },
      () => ({ action: 'ai.prompt', outcome: 'success', user: auditUser(user), sessionId: session.id, messageId: promptId, workload: session.workload_id, model: { id: model.id, sha256: model.sha256 }, prompt: { ...promptHash, tokens: promptTokens } }),
    );

    const controller = new AbortController();
    const generation: Generation = { controller, cancelReason: null, finished: Promise.resolve() };
    generation.finished = this.#generate(
      user,
      session,
      model,
      { promptId, responseId, text: input.text, history, systemPrompt: workload.systemPrompt, maxTokens, ...sampling(workload, this.policy()) },
      generation,
    );
    this.#generations.set(session.id, generation);
    return { promptId, responseId };
  }

  async cancel(user: User, sessionId: string): Promise<{ cancelled: boolean }> {
    this.#ownSession(user, sessionId);
    return { cancelled: await this.#stop(sessionId, 'user') };
  }

  /** Lock or sign-out: stop every answer and drop every context, so no KV cache outlives the unlocked session. */
  async dropAllContexts(reason: string): Promise<void> {
    await Promise.all([...this.#generations.keys()].map((id) => this.#stop(id, reason)));
    await this.engine.disposeAllChats();
  }

  async close(): Promise<void> {
    await this.dropAllContexts('shutdown');
    await this.engine.unload();
  }

  async #generate(
    user: User,
    session: SessionRow,
    model: AllowedModel,
    turn: { promptId: string; responseId: string; text: string; history: ChatTurn[]; systemPrompt: string | undefined; maxTokens: number; temperature: number | undefined; seed: number | undefined },
    generation: Generation,
  ): Promise<void> {
    const base = { sessionId: session.id, responseId: turn.responseId };
    let text = '';
    let outcome: { status: ChatMessage['status']; responseTokens: number | undefined; error: EnclaveError | null };
    try {
      const result = await this.engine.generate({
        chatId: session.id,
        systemPrompt: turn.systemPrompt,
        history: turn.history,
        prompt: turn.text,
        maxTokens: turn.maxTokens,
        temperature: turn.temperature,
        seed: turn.seed,
        signal: generation.controller.signal,
        onText: (chunk) => {
          text += chunk;
          this.events.token({ ...base, text: chunk });
        },
      });
      text = result.text;
      outcome = { status: result.stopReason === 'cancelled' ? 'cancelled' : 'complete', responseTokens: result.responseTokens, error: null };
    } catch (error) {
      const enclaveError = error instanceof EnclaveError ? error : new EnclaveError('internal', `The model failed while answering: ${(error as Error).message}`, { cause: error });
      outcome = { status: 'failed', responseTokens: undefined, error: enclaveError };
    }

    const time = this.now();
    const response = { sha256: sha256Hex(text), chars: text.length, ...(outcome.responseTokens !== undefined ? { tokens: outcome.responseTokens } : {}) };
    let message: ChatMessage | null = null;
    let error = outcome.error;
    try {
      this.audit.run(
        (db) => {
          db.prepare('INSERT INTO chat_messages (id, session_id, role, content, status, reply_to, model_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(turn.responseId, session.id, 'assistant', text, outcome.status, turn.promptId, model.id, time);
          db.prepare('UPDATE chat_sessions SET updated_at = ? WHERE id = ?').run(time, session.id);
        },
        () => ({
          action: outcome.status === 'cancelled' ? 'ai.cancel' : 'ai.response',
          outcome: outcome.status === 'failed' ? 'failure' : 'success',
          ...(outcome.status === 'cancelled' ? { reason: generation.cancelReason ?? 'user' } : outcome.error ? { reason: outcome.error.code } : {}),
          user: auditUser(user),
          sessionId: session.id,
          messageId: turn.responseId,
          workload: session.workload_id,
          model: { id: model.id, sha256: model.sha256 },
          response,
          detail: { reply_to: turn.promptId },
        }),
      );
      message = { id: turn.responseId, role: 'assistant', content: text, status: outcome.status, createdAt: time, replyTo: turn.promptId };
    } catch (writeError) {
      // The answer could not be stored with its audit record, so it is not kept.
      error = writeError instanceof EnclaveError ? writeError : new EnclaveError('storage_failed', `The answer could not be saved: ${(writeError as Error).message}`);
    } finally {
      this.#generations.delete(session.id);
    }
    this.events.done({ ...base, status: message ? outcome.status : 'failed', message, error: error ? error.toInfo() : null });
  }

  async #ensureLoaded(user: User, model: AllowedModel): Promise<void> {
    const gpu = this.policy().inference.gpu;
    const key = JSON.stringify([model.id, model.path, model.sha256, model.contextSize, model.gpuLayers, model.chatTemplate ?? null, gpu]);
    const ready = () => this.engine.loaded()?.modelId === model.id && this.#loadedKey === key;
    if (ready()) return;
    while (this.#loading) await this.#loading.catch(() => undefined);
    if (ready()) return;
    const load = (async () => {
      this.events.modelLoading({ modelId: model.id, phase: 'verifying', message: null });
      try {
        await this.models.verifyBeforeLoad(user, model);
        this.events.modelLoading({ modelId: model.id, phase: 'loading', message: null });
        await this.dropAllContexts('model_change');
        this.#loadedKey = null;
        const info = await this.engine.load(
          { id: model.id, path: model.path, contextSize: model.contextSize, gpuLayers: model.gpuLayers, chatTemplate: model.chatTemplate },
          { gpu },
        );
        this.#loadedKey = key;
        this.audit.record({
          action: 'model.load',
          outcome: 'success',
          user: auditUser(user),
          model: { id: model.id, sha256: model.sha256 },
          detail: { device: info.device.kind, device_name: info.device.name, gpu_layers: info.gpuLayers, chat_template: model.chatTemplate ?? 'auto' },
        });
        this.events.modelLoading({ modelId: model.id, phase: 'ready', message: `${model.name} on ${info.device.name}` });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (error instanceof EnclaveError && error.code === 'model_corrupt') {
          this.audit.record({ action: 'model.reject', outcome: 'failure', reason: 'model_corrupt', user: auditUser(user), model: { id: model.id, sha256: model.sha256 } });
        }
        this.events.modelLoading({ modelId: model.id, phase: 'failed', message });
        throw error;
      }
    })();
    this.#loading = load;
    try {
      await load;
    } finally {
      this.#loading = null;
    }
  }

  async #stop(sessionId: string, reason: string): Promise<boolean> {
    const generation = this.#generations.get(sessionId);
    if (!generation) return false;
    generation.cancelReason = reason;
    generation.controller.abort();
    await generation.finished;
    return true;
  }

  /** The first workload the user's roles allow; a user who may use none is told so, and the refusal audited. */
  #defaultWorkload(user: User): WorkloadEntry {
    const first = this.models.workloadsFor(user)[0];
    if (first) return first;
    this.audit.record({ action: 'session.create', outcome: 'failure', reason: 'no_workload', user: auditUser(user) });
    throw new EnclaveError('forbidden', `None of the workloads set by policy is open to your roles (${user.roles.join(', ')}), so you cannot start a session. Ask IT to give your role a workload.`);
  }

  #ownSession(user: User, sessionId: string): SessionRow {
    const row = this.store.db.prepare('SELECT * FROM chat_sessions WHERE id = ? AND user_id = ?').get(sessionId, user.id) as SessionRow | undefined;
    if (!row) throw new EnclaveError('not_found', 'That session does not exist or belongs to someone else.');
    return row;
  }

  #messages(sessionId: string): MessageRow[] {
    return this.store.db.prepare('SELECT id, role, content, status, reply_to, created_at FROM chat_messages WHERE session_id = ? ORDER BY created_at, id').all(sessionId) as MessageRow[];
  }

  /** Earlier turns for rebuilding the model's context: failed answers are left out. */
  #history(sessionId: string): ChatTurn[] {
    return this.#messages(sessionId)
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

function toSummary(row: SessionRow): ChatSessionSummary {
  return { id: row.id, title: row.title, workloadId: row.workload_id, createdAt: row.created_at, updatedAt: row.updated_at, endedAt: row.ended_at };
}

function toMessage(row: MessageRow): ChatMessage {
  return { id: row.id, role: row.role, content: row.content, status: row.status, createdAt: row.created_at, replyTo: row.reply_to };
}

/** The seed of deterministic mode: any fixed number would do; this one is recorded here so IT's acceptance checks can be repeated. */
export const DETERMINISTIC_SEED = 20_261_123;

/** Deterministic mode (policy) overrides a workload's temperature: greedy, with a fixed seed. */
function sampling(workload: { temperature?: number | undefined }, policy: Policy): { temperature: number | undefined; seed: number | undefined } {
  return policy.inference.deterministic ? { temperature: 0, seed: DETERMINISTIC_SEED } : { temperature: workload.temperature, seed: undefined };
}

