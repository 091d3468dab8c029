// The generation queue of the chat service: answers are written one at a
// time, in the order they were sent. The engine holds one model, and an
// answer uses all of its compute: two at once would each run at half speed
// (and a model switch would stop the other), so a second answer waits in a
// visible queue, where it can be stopped. Each answer is stored and audited
// in one transaction when it ends, however it ends.
import type { ChatMessage, EventPayload, GenerationQueue as QueueState, User } from '../../shared/api.js';
import { EnclaveError } from '../../shared/errors.js';
import { auditUser, type AuditLog } from '../audit/index.js';
import type { Policy } from '../policy/index.js';
import { chatSessions } from '../store/index.js';
import { SessionChangedError, type ChatEvents, type ChatKeys, type SessionGate } from './chat-ports.js';
import type { ChatTurn, EngineModel, InferenceEngine } from './engine-types.js';
import type { AllowedModel, ModelRegistry } from './models.js';

/** What an answer is written from: its prompt, the earlier turns, the workload's settings. */
export interface Turn {
  promptId: string;
  responseId: string;
  text: string;
  history: ChatTurn[];
  systemPrompt: string | undefined;
  maxTokens: number;
  temperature: number | undefined;
  seed: number | undefined;
  /** The last prompt answered again (regenerate) or replaced (edit); null for a new prompt. */
  resend: 'regenerate' | 'edit' | null;
}

/** One answer to write: waiting its turn for the model, then running. */
export interface Job {
  user: User;
  /** The signed-in session it was sent in: once that is locked or ended, the job is cancelled, never generated. */
  epoch: number;
  session: chatSessions.SessionRow;
  model: AllowedModel;
  turn: Turn;
  controller: AbortController;
  cancelReason: string | null;
  started: boolean;
  finished: Promise<void>;
}

export function engineModel(model: AllowedModel): EngineModel {
  return { id: model.id, path: model.path, contextSize: model.contextSize, gpuLayers: model.gpuLayers, chatTemplate: model.chatTemplate };
}

export interface GenerationQueueOptions {
  audit: AuditLog;
  /** Read at each use: a watched policy change takes effect without a restart. */
  policy: () => Policy;
  models: ModelRegistry;
  engine: InferenceEngine;
  events: ChatEvents;
  now: () => number;
  /** Which signed-in session is the active one (identity answers, wired by the core). */
  session: SessionGate;
  /** The signed-in person's chat keys (identity's key ring, wired by the core). */
  keys: ChatKeys;
}

export class GenerationQueue {
  readonly #o: GenerationQueueOptions;
  /** Every answer waiting or running, by session: a session has at most one. */
  readonly #jobs = new Map<string, Job>();
  readonly #waiting: Job[] = [];
  #running: Job | null = null;
  /** What the loaded model was loaded with: a policy change to any of it reloads the model. */
  #loadedKey: string | null = null;
  #loadingState: EventPayload<'model.loading'> | null = null;

  constructor(options: GenerationQueueOptions) {
    this.#o = options;
  }

  /** Sessions with an answer waiting or being written. */
  sessionIds(): string[] {
    return [...this.#jobs.keys()];
  }

  /** Whether the session has an answer waiting or being written. */
  has(sessionId: string): boolean {
    return this.#jobs.has(sessionId);
  }

  /** The model load under way, as the status bar shows it; null when none is. */
  get loading(): EventPayload<'model.loading'> | null {
    return this.#loadingState;
  }

  /** Queues the answer (the prompt is stored already) and starts it when none is running. */
  enqueue(job: Job): void {
    this.#jobs.set(job.session.id, job);
    this.#waiting.push(job);
    this.#pump();
    this.#emit();
  }

  /** Stops every answer, waiting ones too. */
  async stopAll(reason: string): Promise<void> {
    await Promise.all([...this.#jobs.keys()].map((id) => this.stop(id, reason)));
  }

  /** A loaded model whose file failed its background re-check: stop what uses it and unload it. */
  async modelRejected(modelId: string): Promise<void> {
    await Promise.all([...this.#jobs.values()].filter((job) => job.model.id === modelId).map((job) => this.stop(job.session.id, 'model_rejected')));
    if (this.#o.engine.loaded()?.modelId === modelId) {
      this.#loadedKey = null;
      await this.#o.engine.unload();
    }
  }

  /** A job whose session went stale is stopped where it stands: cancelled, never generated. */
  #assertJobCurrent(job: Job): void {
    const stale = this.#o.session.staleness(job.epoch);
    if (!stale) return;
    job.cancelReason ??= stale;
    job.controller.abort();
    throw new SessionChangedError(stale);
  }

  /** Starts the next waiting answer when none is running. */
  #pump(): void {
    if (this.#running) return;
    const job = this.#waiting.shift();
    if (!job) return;
    this.#running = job;
    job.started = true;
    job.finished = this.#generate(job).finally(() => {
      this.#pump();
      this.#emit();
    });
  }

  /** The job is over: its session may take the next prompt (before chat.done reaches the UI). */
  #release(job: Job): void {
    if (this.#jobs.get(job.session.id) === job) this.#jobs.delete(job.session.id);
    if (this.#running === job) this.#running = null;
  }

  /** The answers of the active session only: a job of a locked or ended one is on its way out and nobody's to see. */
  state(): QueueState {
    const ids = (job: Job) => ({ sessionId: job.session.id, responseId: job.turn.responseId });
    const current = (job: Job) => this.#o.session.staleness(job.epoch) === null;
    return { running: this.#running && current(this.#running) ? ids(this.#running) : null, waiting: this.#waiting.filter(current).map(ids) };
  }

  #emit(): void {
    this.#o.events.queue(this.state());
  }

  async #generate(job: Job): Promise<void> {
    const { user, session, model, turn } = job;
    const base = { sessionId: session.id, responseId: turn.responseId };
    let text = '';
    let outcome: { status: ChatMessage['status']; responseTokens: number | undefined; error: EnclaveError | null };
    try {
      if (job.controller.signal.aborted) {
        // Stopped while it waited: nothing was generated.
        outcome = { status: 'cancelled', responseTokens: 0, error: null };
      } else {
        // Queued in a session that was locked or ended since: cancelled here, before a model is loaded or a context made.
        this.#assertJobCurrent(job);
        await this.#ensureLoaded(user, model, job.controller.signal, () => this.#assertJobCurrent(job));
        // Loading can take seconds: the session is asked again right before the model reads the prompt.
        this.#assertJobCurrent(job);
        const result = await this.#o.engine.generate({
          chatId: session.id,
          systemPrompt: turn.systemPrompt,
          history: turn.history,
          prompt: turn.text,
          maxTokens: turn.maxTokens,
          temperature: turn.temperature,
          seed: turn.seed,
          signal: job.controller.signal,
          onText: (chunk) => {
            // Text written after its session went stale is neither kept nor sent; the answer stops.
            const stale = this.#o.session.staleness(job.epoch);
            if (stale) {
              job.cancelReason ??= stale;
              job.controller.abort();
              return;
            }
            text += chunk;
            this.#o.events.token({ ...base, text: chunk }, job.epoch);
          },
        });
        text = result.text;
        outcome = { status: result.stopReason === 'cancelled' ? 'cancelled' : 'complete', responseTokens: result.responseTokens, error: null };
      }
    } catch (error) {
      const enclaveError = error instanceof EnclaveError ? error : new EnclaveError('internal', `The model failed while answering: ${(error as Error).message}`, { cause: error });
      outcome = job.controller.signal.aborted ? { status: 'cancelled', responseTokens: 0, error: null } : { status: 'failed', responseTokens: undefined, error: enclaveError };
    }

    const time = this.#o.now();
    const response = { text, ...(outcome.responseTokens !== undefined ? { tokens: outcome.responseTokens } : {}) };
    let message: ChatMessage | null = null;
    let error = outcome.error;
    try {
      this.#o.audit.run(
        (db) => {
          // The session's key as of the prompt (send sealed the session with it).
          const keyId = chatSessions.sessionKeyId(db, session.id) ?? null;
          if (keyId === null) throw new EnclaveError('not_found', 'The session was deleted while the answer was written.');
          chatSessions.insertMessage(db, {
            id: turn.responseId,
            sessionId: session.id,
            role: 'assistant',
            content: this.#o.keys.sealMessage(user.id, keyId, { id: turn.responseId, sessionId: session.id, role: 'assistant' }, text),
            status: outcome.status,
            replyTo: turn.promptId,
            modelId: model.id,
            createdAt: time,
          });
          chatSessions.touchSession(db, session.id, time);
        },
        () => ({
          action: outcome.status === 'cancelled' ? 'ai.cancel' : 'ai.response',
          outcome: outcome.status === 'failed' ? 'failure' : 'success',
          ...(outcome.status === 'cancelled' ? { reason: job.cancelReason ?? 'user' } : outcome.error ? { reason: outcome.error.code } : {}),
          user: auditUser(user),
          sessionId: session.id,
          messageId: turn.responseId,
          workload: session.workload_id,
          model: { id: model.id, sha256: model.sha256 },
          response,
          // while_queued: stopped before the model began this answer.
          detail: { reply_to: turn.promptId, ...(turn.resend ? { resend: turn.resend } : {}), ...(outcome.status === 'cancelled' ? { while_queued: !job.started } : {}) },
        }),
      );
      message = { id: turn.responseId, role: 'assistant', content: text, status: outcome.status, createdAt: time, replyTo: turn.promptId };
    } catch (writeError) {
      // The answer could not be stored with its audit record, so it is not kept.
      error = writeError instanceof EnclaveError ? writeError : new EnclaveError('storage_failed', `The answer could not be saved: ${(writeError as Error).message}`);
    }
    this.#release(job);
    this.#o.events.done({ ...base, status: message ? outcome.status : 'failed', message, error: error ? error.toInfo() : null }, job.epoch);
  }

  /** `stillCurrent` throws when the job's session went stale: asked after each await, so no model is loaded for a locked session. */
  async #ensureLoaded(user: User, model: AllowedModel, signal: AbortSignal, stillCurrent: () => void): Promise<void> {
    const gpu = this.#o.policy().inference.gpu;
    const key = JSON.stringify([model.id, model.path, model.sha256, model.contextSize, model.gpuLayers, model.chatTemplate ?? null, gpu]);
    if (this.#o.engine.loaded()?.modelId === model.id && this.#loadedKey === key) return;
    let ended = false;
    const loading = (phase: EventPayload<'model.loading'>['phase'], progress: number | null, message: string | null) => {
      // llama.cpp's progress callbacks can arrive after the load resolved: the status bar must not go back to "loading".
      if (ended) return;
      ended = phase === 'ready' || phase === 'failed';
      const payload = { modelId: model.id, phase, progress, message };
      this.#loadingState = phase === 'ready' || phase === 'failed' ? null : payload;
      this.#o.events.modelLoading(payload);
    };
    loading('verifying', null, null);
    try {
      const verified = await this.#o.models.verifyBeforeLoad(user, model);
      stillCurrent();
      loading('loading', 0, null);
      this.#loadedKey = null;
      // The checked file by its real path: a symbolic link changed from here on cannot redirect the load.
      const info = await this.#o.engine.load({ ...engineModel(model), path: verified.path }, { gpu, signal, onProgress: (progress) => loading('loading', progress, null) });
      // What llama.cpp read must be what was checked: a file swapped or rewritten meanwhile is unloaded and refused.
      await this.#o.models.assertUnchangedSinceCheck(user, model, verified).catch(async (error: unknown) => {
        await this.#o.engine.unload();
        throw error;
      });
      this.#loadedKey = key;
      this.#o.audit.record({
        action: 'model.load',
        outcome: 'success',
        user: auditUser(user),
        model: { id: model.id, sha256: model.sha256 },
        detail: {
          device: info.device.kind,
          device_name: info.device.name,
          gpu_layers: info.gpuLayers,
          total_layers: info.totalLayers,
          chat_template: model.chatTemplate ?? 'auto',
          ...(info.fallback ? { fallback: info.fallback } : {}),
        },
      });
      loading('ready', 1, `${model.name} on ${info.device.name}${info.fallback ? ` (${info.fallback})` : ''}`);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (error instanceof EnclaveError && error.code === 'model_corrupt' && !signal.aborted) {
        // llama.cpp could not load a file that passed its checks: refused like one that failed them.
        this.#o.models.rejectUnloadable(user, model, message);
      }
      // Stopped by a lock or sign-out: the load did not fail, and the locked screen is told nothing of why.
      loading('failed', null, error instanceof SessionChangedError ? null : message);
      throw error;
    }
  }

  /** Stops the session's answer (one still waiting is recorded as cancelled at once) and waits for it to end; false when it had none. */
  async stop(sessionId: string, reason: string): Promise<boolean> {
    const job = this.#jobs.get(sessionId);
    if (!job) return false;
    job.cancelReason ??= reason;
    job.controller.abort();
    const waitingAt = this.#waiting.indexOf(job);
    if (waitingAt >= 0) {
      // Never started: recorded as cancelled at once, and the others move up.
      this.#waiting.splice(waitingAt, 1);
      job.finished = this.#generate(job).finally(() => this.#emit());
    }
    await job.finished;
    return true;
  }
}
