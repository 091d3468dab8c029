// Front door of the inference service: allowed models, the engine, chat sessions.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventPayload, ModelSummary, User } from '../../shared/api.js';
import type { AuditLog } from '../audit/index.js';
import type { Policy } from '../policy/index.js';
import type { Store } from '../store/index.js';
import { ChatService } from './chat.js';
import type { ChatEvents, ChatKeys, SessionGate } from './chat-ports.js';
import type { InferenceEngine } from './engine-types.js';
import { writeTestModel } from './gguf/test-model.js';
import { ModelRegistry, toModelSummary } from './models.js';
import { RetentionSweeper, type SweepTrigger } from './retention.js';

export { createLlamaEngine } from './engine.js';
export { inspectGguf, type GgufReport } from './gguf/inspect.js';
export { writeTestModel, TEST_MODEL_SHAPES } from './gguf/test-model.js';
export { sha256File, hashModelFileCached } from './model-file.js';
export { FILE_PROTECTION_CHECKED, modelFileProtectionProblem } from './file-protection.js';
export type { InferenceEngine, EngineDevice, GenerateRequest, GenerateResult, GpuSetting } from './engine-types.js';
export { SessionChangedError, type ChatEvents, type ChatKeys, type SessionGate } from './chat-ports.js';
export { countExpiredSessions, lastSweep, DEFAULT_SWEEP_INTERVAL_MS, type SweepResult, type SweepTrigger } from './retention.js';

export interface InferenceServiceOptions {
  store: Store;
  audit: AuditLog;
  /** Read at each use: a watched policy change takes effect without a restart. */
  policy: () => Policy;
  engine: InferenceEngine;
  dataDir: string;
  events: ChatEvents & { modelChanged(payload: EventPayload<'model.changed'>): void };
  now: () => number;
  log: (message: string, error?: unknown) => void;
  /** Users signed in now (active or locked): with retention 0, their open sessions are kept. */
  presentUserIds: () => readonly string[];
  /** How often chat retention sweeps; default DEFAULT_SWEEP_INTERVAL_MS. */
  retentionSweepMs?: number | undefined;
  /** Which signed-in session is the active one: chat work started in one that was locked or ended since is refused. */
  session: SessionGate;
  /** The signed-in person's chat keys: chat titles and messages are sealed and opened with them. */
  chatKeys: ChatKeys;
}

export class InferenceService {
  readonly models: ModelRegistry;
  readonly chat: ChatService;
  readonly retention: RetentionSweeper;
  readonly #dataDir: string;
  readonly #log: (message: string, error?: unknown) => void;

  constructor(options: InferenceServiceOptions) {
    this.#dataDir = options.dataDir;
    this.#log = options.log;
    this.models = new ModelRegistry({
      store: options.store,
      audit: options.audit,
      policy: options.policy,
      onChange: (modelId) => options.events.modelChanged({ modelId }),
      onRejected: (modelId) => {
        void this.chat.modelRejected(modelId).catch((error: unknown) => options.log(`unloading the refused model ${modelId} failed`, error));
      },
      log: options.log,
    });
    const retentionDays = (): number | null => {
      try {
        return options.policy().storage.chatRetentionDays;
      } catch {
        // No valid policy in force: nothing is purged until there is one.
        return null;
      }
    };
    this.retention = new RetentionSweeper({
      store: options.store,
      audit: options.audit,
      days: retentionDays,
      now: options.now,
      busySessionIds: () => this.chat.busySessionIds(),
      presentUserIds: options.presentUserIds,
      onPurged: (ids) => this.chat.forget(ids),
      intervalMs: options.retentionSweepMs,
      log: options.log,
    });
    // With 0 days a session is deleted when it ends: chat.end returns once it is. The end itself
    // stands if the purge fails (disk full): the ended session goes at the next sweep.
    const afterEnd = async (): Promise<void> => {
      if (retentionDays() !== 0) return;
      await this.retention.sweep('session_end').catch((error: unknown) => options.log('deleting an ended session (retention 0) failed; the next sweep retries it', error));
    };
    this.chat = new ChatService({
      store: options.store,
      audit: options.audit,
      policy: options.policy,
      models: this.models,
      engine: options.engine,
      events: options.events,
      now: options.now,
      session: options.session,
      keys: options.chatKeys,
      afterEnd,
    });
    // Every allowed model is checked in the background from the start: sign-in never waits for it.
    this.models.refresh();
    this.retention.start();
  }

  /** Policy changed: models new or changed in it are checked; sessions started from now use them. */
  policyChanged(): void {
    this.models.refresh();
    // A shorter retention takes effect now, not at the next interval.
    this.#sweepSoon('policy_change');
  }

  /** Someone signed out: with 0 days their open sessions are now expired. */
  signedOut(): void {
    this.#sweepSoon('sign_out');
  }

  #sweepSoon(trigger: SweepTrigger): void {
    if (this.retention.stopped) return;
    this.retention.sweep(trigger).catch((error: unknown) => this.#log(`the chat retention sweep (${trigger}) failed; it runs again at the next interval`, error));
  }

  async close(): Promise<void> {
    await this.retention.stop();
    this.models.close();
    await this.chat.close();
  }

  async addModelFile(user: User, path: string): Promise<ModelSummary> {
    const model = await this.models.addEvaluationModel(user, path);
    return toModelSummary(model, this.models.availability(model));
  }

  /** Evaluation first-run: the random-weight model, so the whole path can be tried without real weights. */
  async createTestModel(user: User): Promise<ModelSummary> {
    this.models.assertUserModelsAllowed();
    const dir = join(this.#dataDir, 'models');
    await mkdir(dir, { recursive: true });
    const path = join(dir, `enclave-test-model-${Date.now()}.gguf`);
    await writeTestModel(path);
    return this.addModelFile(user, path);
  }
}
