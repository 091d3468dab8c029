// Which model files may be loaded: the policy's allowlist, plus (evaluation
// only) files the evaluator added. A file is loaded only if its SHA-256 is on
// the list, checked right before loading.
import { resolve } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import type { ModelAvailability, ModelSummary, User } from '../../shared/api.js';
import { EnclaveError } from '../../shared/errors.js';
import { holdsAnyRole } from '../../shared/roles.js';
import { auditUser, type AuditLog } from '../audit/index.js';
import type { ChatTemplate, Policy, WorkloadEntry } from '../policy/index.js';
import { models as modelRows, type Store } from '../store/index.js';
import { inspectGguf } from './gguf/inspect.js';
import { hashModelFileCached, type VerifiedModelFile } from './model-file.js';
import { ModelVerifier, type ModelVerifierOptions } from './verification.js';

export interface AllowedModel extends Omit<ModelSummary, 'availability'> {
  contextSize: number;
  gpuLayers: 'auto' | number;
  chatTemplate: ChatTemplate | undefined;
}

/** What the UI sees of an allowed model. */
export function toModelSummary({ contextSize: _contextSize, gpuLayers: _gpuLayers, chatTemplate: _chatTemplate, ...summary }: AllowedModel, availability: ModelAvailability): ModelSummary {
  return { ...summary, availability };
}

/** Whether the user's roles let them use the workload. */
export function mayUseWorkload(user: User, workload: WorkloadEntry): boolean {
  return holdsAnyRole(user.roles, workload.roles);
}

const EVALUATION_CONTEXT_SIZE = 4096;

/** A file the evaluator added: node-llama-cpp's defaults for GPU layers and chat template. */
function evaluationModel(row: modelRows.EvaluationModelRow): AllowedModel {
  return {
    id: row.id,
    name: row.name,
    path: row.path,
    sha256: row.sha256,
    sizeBytes: row.size_bytes,
    source: 'evaluation',
    isTestModel: row.is_test_model === 1,
    contextSize: EVALUATION_CONTEXT_SIZE,
    gpuLayers: 'auto',
    chatTemplate: undefined,
  };
}

export interface ModelRegistryOptions extends Pick<ModelVerifierOptions, 'onChange' | 'onRejected' | 'log'> {
  store: Store;
  audit: AuditLog;
  /** Read at each use: a watched policy change takes effect without a restart. */
  policy: () => Policy;
}

export class ModelRegistry {
  readonly #verifier: ModelVerifier;
  private readonly store: Store;
  private readonly audit: AuditLog;
  private readonly policy: () => Policy;

  constructor(options: ModelRegistryOptions) {
    const { store, audit, policy, ...verifier } = options;
    this.store = store;
    this.audit = audit;
    this.policy = policy;
    // Evaluation mode: the evaluator's own files on their own machine, not patient data; file permissions are not required there.
    this.#verifier = new ModelVerifier({ store, audit, ...verifier, requireProtectedFiles: () => this.policy().mode === 'managed' });
  }

  /** Checks, in the background, every allowed model that is new or changed: at start, and when policy or the evaluation list changes. */
  refresh(): void {
    this.#verifier.refresh(this.list());
  }

  /** What the UI sees: each allowed model with whether it may be used now. */
  summaries(): ModelSummary[] {
    return this.list().map((m) => {
      // Policy lists no size or kind: the file's check supplies them once it has read the header.
      const file = m.source === 'policy' ? this.#verifier.fileFacts(m) : null;
      return toModelSummary(file ? { ...m, ...file } : m, this.#verifier.availability(m));
    });
  }

  availability(model: AllowedModel): ModelAvailability {
    return this.#verifier.availability(model);
  }

  /** A model llama.cpp could not load is refused like a file that failed its check. */
  rejectUnloadable(user: User, model: AllowedModel, message: string): void {
    this.#verifier.reject(user, model, 'model_corrupt', message);
  }

  close(): void {
    this.#verifier.close();
  }

  list(): AllowedModel[] {
    const fromPolicy: AllowedModel[] = this.policy().inference.models.map((m) => ({
      id: m.id,
      name: m.name,
      path: m.path,
      sha256: m.sha256,
      sizeBytes: 0,
      source: 'policy',
      isTestModel: false,
      contextSize: m.contextSize,
      gpuLayers: m.gpuLayers,
      chatTemplate: m.chatTemplate,
    }));
    if (!this.policy().inference.allowUserModels) return fromPolicy;
    const rows = modelRows.evaluationModels(this.store.reader);
    return [...fromPolicy, ...rows.map((r) => evaluationModel(r))];
  }

  /** The policy's workloads that the user's roles allow, in policy order: the first is the user's default. */
  workloadsFor(user: User): WorkloadEntry[] {
    return this.policy().inference.workloads.filter((w) => mayUseWorkload(user, w));
  }

  /** A workload by id, or null when policy has none with that id. */
  workload(workloadId: string): WorkloadEntry | null {
    return this.policy().inference.workloads.find((w) => w.id === workloadId) ?? null;
  }

  /** The model a workload routes to; a workload without one uses the newest evaluation model. */
  forWorkload(workloadId: string): { model: AllowedModel; workload: WorkloadEntry } {
    const workload = this.workload(workloadId);
    if (!workload) throw new EnclaveError('not_found', `There is no workload "${workloadId}" in the policy.`);
    const models = this.list();
    const model = workload.model === null ? models.find((m) => m.source === 'evaluation') : models.find((m) => m.id === workload.model);
    if (!model) throw new EnclaveError('model_not_configured', 'No model is set up yet. Choose a GGUF model file or generate the test model first.');
    return { model, workload };
  }

  assertUserModelsAllowed(): void {
    if (!this.policy().inference.allowUserModels) {
      throw new EnclaveError('not_evaluation_mode', 'Models are set by your IT department in managed policy; they cannot be added here.');
    }
  }

  /** Evaluation mode: allow a local GGUF file after checking that it is one. */
  async addEvaluationModel(user: User, path: string): Promise<AllowedModel> {
    this.assertUserModelsAllowed();
    const absolute = resolve(path);
    let report;
    try {
      report = await inspectGguf(absolute, { hash: async () => (await hashModelFileCached(this.store, absolute)).sha256 });
    } catch (error) {
      if (error instanceof EnclaveError) {
        // A refused path is whatever was typed (it may be anything): kept on this workstation, the record gets its length and keyed hash.
        this.audit.record({ action: 'model.reject', outcome: 'failure', reason: error.code, user: auditUser(user), privateText: { file: absolute } });
      }
      throw error;
    }
    const { sha256, sizeBytes } = report;
    const row: modelRows.EvaluationModelRow = {
      id: uuidv7(),
      name: report.name ?? absolute.split(/[\\/]/).at(-1) ?? absolute,
      path: absolute,
      sha256,
      size_bytes: sizeBytes,
      is_test_model: report.isTestModel ? 1 : 0,
    };
    const model = evaluationModel(row);
    this.audit.run(
      (db) => modelRows.insertEvaluationModel(db, row, Date.now()),
      () => ({ action: 'model.add', outcome: 'success', user: auditUser(user), model: { id: model.id, sha256 }, detail: { file: absolute, test_model: model.isTestModel } }),
    );
    this.refresh();
    return model;
  }

  /**
   * Right before loading: the file must have passed its check and be
   * unchanged since (see ModelVerifier.require). Load the returned path (links
   * resolved), then call assertUnchangedSinceCheck.
   */
  verifyBeforeLoad(user: User, model: AllowedModel): Promise<VerifiedModelFile> {
    return this.#verifier.require(user, model);
  }

  /** After the load: refuses (and audits) a model whose file changed while llama.cpp read it; the caller unloads it. */
  assertUnchangedSinceCheck(user: User, model: AllowedModel, verified: VerifiedModelFile): Promise<void> {
    return this.#verifier.assertUnchangedSinceCheck(user, model, verified);
  }
}
