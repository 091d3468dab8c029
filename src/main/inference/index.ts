// Front door of the inference service: allowed models, the engine, chat sessions.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventPayload, ModelSummary, User } from '../../shared/api.js';
import type { AuditLog } from '../audit/index.js';
import type { Policy } from '../policy/index.js';
import type { Store } from '../store/index.js';
import { ChatService, type ChatEvents, type SessionGate } from './chat.js';
import type { InferenceEngine } from './engine-types.js';
import { writeTestModel } from './gguf/test-model.js';
import { ModelRegistry, toModelSummary } from './models.js';

export { createLlamaEngine } from './engine.js';
export { inspectGguf, type GgufReport } from './gguf/inspect.js';
export { writeTestModel, TEST_MODEL_SHAPES } from './gguf/test-model.js';
export { sha256File, hashModelFileCached } from './model-file.js';
export type { InferenceEngine, EngineDevice, GenerateRequest, GenerateResult, GpuSetting } from './engine-types.js';
export { SessionChangedError, type ChatEvents, type SessionGate } from './chat.js';

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
  /** Which signed-in session is the active one: chat work started in one that was locked or ended since is refused. */
  session: SessionGate;
}

export class InferenceService {
  readonly models: ModelRegistry;
  readonly chat: ChatService;
  readonly #dataDir: string;

  constructor(options: InferenceServiceOptions) {
    this.#dataDir = options.dataDir;
    this.models = new ModelRegistry(options.store, options.audit, options.policy, {
      onChange: (modelId) => options.events.modelChanged({ modelId }),
      onRejected: (modelId) => {
        void this.chat.modelRejected(modelId).catch((error: unknown) => options.log(`unloading the refused model ${modelId} failed`, error));
      },
      log: options.log,
    });
    this.chat = new ChatService(options.store, options.audit, options.policy, this.models, options.engine, options.events, options.now, options.session);
    // Every allowed model is checked in the background from the start: sign-in never waits for it.
    this.models.refresh();
  }

  /** Policy changed: models new or changed in it are checked; sessions started from now use them. */
  policyChanged(): void {
    this.models.refresh();
  }

  async close(): Promise<void> {
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
