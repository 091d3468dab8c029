// Checking that each allowed model file is what policy says it is: a whole
// GGUF file whose SHA-256 is the listed one. Checks run in the background, so
// sign-in and the models already checked never wait for a large file being
// hashed; a file checked before (same size, times and inode) is usable at once
// from the cached hash, and hashed again in the background in case it was
// altered in a way its stamp does not show. A file that fails is refused with
// a reason naming the model, audited once as model.reject; the others go on.
import type { ModelAvailability, User } from '../../shared/api.js';
import { EnclaveError } from '../../shared/errors.js';
import { auditUser, type AuditLog } from '../audit/index.js';
import type { Store } from '../store/index.js';
import { readGgufHeader } from './gguf/inspect.js';
import { isTestModelMetadata } from './gguf/test-model.js';
import { modelFileProtectionProblem } from './file-protection.js';
import { byWholePercent, cachedModelHash, fileIdentity, hashModelFileCached, identityChanges, ModelFileChangingError, verifiedModelFile, type VerifiedModelFile } from './model-file.js';

/** What the verifier needs of an allowed model. */
export interface VerifiableModel {
  id: string;
  name: string;
  path: string;
  sha256: string;
}

/**
 * model_file_unprotected: managed policy, and people other than
 * administrators can write the file or a folder above it.
 * model_file_changed: the file changed between its check and llama.cpp loading it.
 */
type RejectReason = 'model_file_missing' | 'model_corrupt' | 'hash_mismatch' | 'model_file_unprotected' | 'model_file_changed';

interface Entry {
  /** The model as listed when this check began: a changed path or hash starts a new check. */
  key: string;
  model: VerifiableModel;
  availability: ModelAvailability;
  /** Settles when the check that decides availability has finished. */
  settled: Promise<void>;
  /** What the header said, once read: for the UI (size, and whether it is the random-weight test model). */
  file: ModelFileFacts | null;
}

export interface ModelFileFacts {
  sizeBytes: number;
  isTestModel: boolean;
}

export interface ModelVerifierOptions {
  store: Store;
  audit: AuditLog;
  /** A model's availability changed (for the status bar). */
  onChange(modelId: string): void;
  /** A model that was usable is now refused (its file changed): whoever loaded it must drop it. */
  onRejected(modelId: string): void;
  /** Managed policy: model files must be writable only by administrators (file-protection.ts). */
  requireProtectedFiles(): boolean;
  log(message: string, error?: unknown): void;
}

const CHANGING_RETRIES = 3;
const CHANGING_RETRY_MS = 1000;

function keyOf(model: VerifiableModel): string {
  return JSON.stringify([model.id, model.path, model.sha256]);
}

export class ModelVerifier {
  readonly #entries = new Map<string, Entry>();
  /** Full hashes run one at a time, in the order they were asked for: a disk reads one big file fastest. */
  #hashing: Promise<unknown> = Promise.resolve();
  /** Audited rejections (model key and reason), so a refresh does not repeat one. */
  readonly #audited = new Set<string>();
  #closed = false;

  constructor(private readonly options: ModelVerifierOptions) {}

  /** Starts checking every listed model that is new or whose path or hash changed, and forgets unlisted ones. Returns at once. */
  refresh(models: readonly VerifiableModel[]): void {
    const listed = new Set(models.map((m) => m.id));
    for (const id of this.#entries.keys()) if (!listed.has(id)) this.#entries.delete(id);
    for (const model of models) {
      const existing = this.#entries.get(model.id);
      // A refused model is checked again on a policy change: IT may have fixed its file with it.
      if (existing?.key === keyOf(model) && existing.availability.state !== 'rejected') continue;
      this.#start(model, null);
    }
  }

  /** Size and kind of the model's file as its check read them; null until read. */
  fileFacts(model: VerifiableModel): ModelFileFacts | null {
    const entry = this.#entries.get(model.id);
    return entry && entry.key === keyOf(model) ? entry.file : null;
  }

  availability(model: VerifiableModel): ModelAvailability {
    const entry = this.#entries.get(model.id);
    return entry && entry.key === keyOf(model) ? entry.availability : { state: 'checking', reason: null, message: null, progress: null };
  }

  /**
   * Right before loading: waits for a check in progress, refuses a rejected
   * model with its reason, and re-checks a file whose stamp changed since.
   * Returns the file that passed, symbolic links resolved, with its identity:
   * load that path, then call assertUnchangedSinceCheck.
   */
  async require(user: User, model: VerifiableModel): Promise<VerifiedModelFile> {
    let entry = this.#entries.get(model.id);
    // A refused file is looked at again: IT may have redeployed it (cheap: a refused hash is cached too).
    if (!entry || entry.key !== keyOf(model) || entry.availability.state === 'rejected') entry = this.#start(model, user);
    await entry.settled;
    for (let attempt = 1; ; attempt++) {
      if (entry.availability.state === 'rejected') throw refusalOf(model, entry.availability);
      // The file there now, links resolved, must be the one the check hashed (same stamp).
      const verified = await verifiedModelFile(this.options.store, model.path).catch(() => null);
      if (verified?.sha256 === model.sha256) {
        // Asked here too: a folder's permissions can change without the file's stamp showing it.
        const problem = this.options.requireProtectedFiles() ? await modelFileProtectionProblem(model.path) : null;
        if (problem) {
          this.#rejectEntry(entry, user, 'model_file_unprotected', unprotectedMessage(model, problem), model.sha256);
          throw refusalOf(model, entry.availability);
        }
        return verified;
      }
      // Changed on disk since it was checked: check it again now, before llama.cpp reads it.
      if (attempt > 1)
        throw new EnclaveError('model_not_allowed', `The model file ${model.path} changed again right after it was checked, so it was not loaded. Wait until it is fully copied, then try again.`);
      entry = this.#start(model, user);
      await entry.settled;
    }
  }

  /**
   * After llama.cpp loaded `verified.path`: the file must still be the one
   * that was checked (same device, inode, size and times). Otherwise what
   * llama.cpp read may be another file: the model is refused (and audited)
   * with that reason, and the error says so; the caller unloads it.
   */
  async assertUnchangedSinceCheck(user: User, model: VerifiableModel, verified: VerifiedModelFile): Promise<void> {
    const now = await fileIdentity(verified.path).catch(() => null);
    const changes = now ? identityChanges(verified.identity, now) : 'removed';
    if (changes === '') return;
    const message = `The model "${model.name}" was refused: the file changed while it was being loaded (${model.path}: ${changes}), so what was loaded may not be the file that was checked. It was unloaded. Ask IT to check the model folder.`;
    const entry = this.#entries.get(model.id);
    if (entry && entry.key === keyOf(model)) {
      const after = now ? `${now.dev}:${now.ino}:${now.size}:${now.mtimeNs}:${now.ctimeNs}` : 'removed';
      // Not passed to onRejected: the caller unloads it and fails this answer with the reason, rather than see it cancelled.
      this.#rejectEntry(entry, user, 'model_file_changed', message, null, { auditKey: after, detail: { resolved_file: verified.path, changes }, notify: false });
    }
    throw new EnclaveError('model_not_allowed', message);
  }

  /** Marks a model refused for a reason found outside the verifier (llama.cpp could not load it). */
  reject(user: User | null, model: VerifiableModel, reason: RejectReason, message: string): void {
    const entry = this.#entries.get(model.id);
    if (entry && entry.key === keyOf(model)) this.#rejectEntry(entry, user, reason, message, model.sha256);
  }

  close(): void {
    this.#closed = true;
  }

  #start(model: VerifiableModel, user: User | null): Entry {
    const entry: Entry = {
      key: keyOf(model),
      model,
      availability: { state: 'checking', reason: null, message: null, progress: null },
      settled: Promise.resolve(),
      file: null,
    };
    this.#entries.set(model.id, entry);
    entry.settled = this.#check(entry, user).catch((error: unknown) => {
      this.options.log(`checking the model ${model.id} failed`, error);
      if (this.#current(entry))
        this.#set(entry, { state: 'rejected', reason: 'model_corrupt', message: `The model "${model.name}" could not be checked: ${(error as Error).message}`, progress: null });
    });
    this.options.onChange(model.id);
    return entry;
  }

  #current(entry: Entry): boolean {
    return !this.#closed && this.#entries.get(entry.model.id) === entry;
  }

  #set(entry: Entry, availability: ModelAvailability): void {
    entry.availability = availability;
    this.options.onChange(entry.model.id);
  }

  async #check(entry: Entry, user: User | null): Promise<void> {
    const { model } = entry;
    // Missing, not GGUF or truncated: found from the header alone, in milliseconds.
    try {
      const problem = this.options.requireProtectedFiles() ? await modelFileProtectionProblem(model.path) : null;
      if (problem) {
        // Refused before it is hashed: the record names no hash for the file.
        if (this.#current(entry)) this.#rejectEntry(entry, user, 'model_file_unprotected', unprotectedMessage(model, problem), null);
        return;
      }
      const header = await readGgufHeader(model.path);
      entry.file = { sizeBytes: header.sizeBytes, isTestModel: isTestModelMetadata(Object.fromEntries(header.metadata)) };
    } catch (error) {
      if (!(error instanceof EnclaveError) || (error.code !== 'model_file_missing' && error.code !== 'model_corrupt')) throw error;
      const what = error.code === 'model_file_missing' ? 'its file is missing or unreadable' : 'its file is not a whole GGUF model';
      this.#rejectEntry(entry, user, error.code, `The model "${model.name}" was refused: ${what} (${error.message}) Ask IT to redeploy it.`, model.sha256);
      return;
    }
    const cached = await cachedModelHash(this.options.store, model.path);
    if (cached) {
      if (!this.#current(entry)) return;
      if (cached.sha256 !== model.sha256) {
        this.#judge(entry, user, cached.sha256);
        return;
      }
      // Usable now; hashed again behind the scenes, and refused if that finds a different file.
      this.#set(entry, { state: 'ready', reason: 'cached', message: null, progress: null });
      this.#queueHash(entry, null, { background: true }).catch((error: unknown) => this.options.log(`re-checking the model ${model.id} failed`, error));
      return;
    }
    await this.#queueHash(entry, user, { background: false });
  }

  /** Hashes the file in the hashing queue and judges the result. */
  #queueHash(entry: Entry, user: User | null, { background }: { background: boolean }): Promise<void> {
    const run = this.#hashing.then(async () => {
      if (!this.#current(entry)) return;
      // A background re-hash of a usable model shows no progress: the model stays "ready" meanwhile.
      const progress = byWholePercent((fraction) => {
        if (!background && this.#current(entry)) this.#set(entry, { state: 'checking', reason: null, message: null, progress: fraction });
      });
      const hash = () => hashModelFileCached(this.options.store, entry.model.path, { fresh: true, onProgress: (done, total) => progress(total === 0 ? 1 : done / total) });
      try {
        let result: Awaited<ReturnType<typeof hash>> | null = null;
        // A file still being copied changes under the hash: give the copy a little time, then judge what is there.
        for (let attempt = 1; result === null; attempt++) {
          try {
            result = await hash();
          } catch (error) {
            if (!(error instanceof ModelFileChangingError) || attempt >= CHANGING_RETRIES || !this.#current(entry)) throw error;
            await new Promise((resolve) => setTimeout(resolve, CHANGING_RETRY_MS));
          }
        }
        if (this.#current(entry)) this.#judge(entry, user, result.sha256);
      } catch (error) {
        if (!this.#current(entry)) return;
        if (error instanceof EnclaveError && (error.code === 'model_file_missing' || error.code === 'model_corrupt')) {
          this.#rejectEntry(entry, user, error.code, `The model "${entry.model.name}" was refused: ${error.message}`, entry.model.sha256);
          return;
        }
        throw error;
      }
    });
    this.#hashing = run.catch(() => undefined);
    return run;
  }

  #judge(entry: Entry, user: User | null, sha256: string): void {
    const { model } = entry;
    if (sha256 === model.sha256) {
      this.#set(entry, { state: 'ready', reason: null, message: null, progress: null });
      return;
    }
    this.#rejectEntry(
      entry,
      user,
      'hash_mismatch',
      `The model "${model.name}" was refused: its file ${model.path} is not the one policy allows (its SHA-256 is ${sha256.slice(0, 12)}…, policy lists ${model.sha256.slice(0, 12)}…).`,
      sha256,
    );
  }

  /** actualSha256: the hash of what is there, when known (null: unknown, e.g. a file that changed while llama.cpp read it). */
  #rejectEntry(
    entry: Entry,
    user: User | null,
    reason: RejectReason,
    message: string,
    actualSha256: string | null,
    extra: { auditKey?: string; detail?: Record<string, string>; notify?: boolean } = {},
  ): void {
    const wasReady = entry.availability.state === 'ready';
    this.#set(entry, { state: 'rejected', reason, message, progress: null });
    const auditKey = `${entry.key}\0${reason}\0${actualSha256 ?? ''}\0${extra.auditKey ?? ''}`;
    if (!this.#audited.has(auditKey)) {
      this.#audited.add(auditKey);
      this.options.audit.record({
        action: 'model.reject',
        outcome: 'failure',
        reason,
        ...(user ? { user: auditUser(user) } : {}),
        model: actualSha256 === null ? { id: entry.model.id } : { id: entry.model.id, sha256: actualSha256 },
        detail: { file: entry.model.path, expected_sha256: entry.model.sha256, ...extra.detail },
      });
    }
    if (wasReady && extra.notify !== false) this.options.onRejected(entry.model.id);
  }
}

function unprotectedMessage(model: VerifiableModel, problem: string): string {
  return `The model "${model.name}" was refused: under managed policy its file must be writable only by administrators, and ${problem}. Ask IT to make the file and every folder above it writable only by administrators.`;
}

/** The error a refused model is refused with, by its reason. */
function refusalOf(model: VerifiableModel, availability: ModelAvailability): EnclaveError {
  const reason = availability.reason;
  const code = reason === 'model_file_missing' ? 'model_file_missing' : reason === 'model_corrupt' ? 'model_corrupt' : 'model_not_allowed';
  return new EnclaveError(code, availability.message ?? `The model "${model.name}" was refused.`);
}
