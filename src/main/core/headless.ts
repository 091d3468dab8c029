// The core without Electron: for the CLI, the tests, the browser test bridge
// and the benchmarks. The database key comes from a key file, which only a
// policy with storage.allowKeyFile (the evaluation policy, test policies) permits.
import { join } from 'node:path';
import { EnclaveError } from '../../shared/errors.js';
import { loadEffectivePolicy, type EffectivePolicy } from '../policy/index.js';
import { KEY_FILE, loadOrCreateKeyFile, settleInterruptedRekey } from '../keys/index.js';
import { keyOpensDatabase } from '../store/index.js';
import { createCore, DATABASE_FILE, type Core, type CoreOptions } from './index.js';
import { scrubDangerousEnvironment } from './child-environment.js';
import { describeCoreDumpLimit, limitCoreDumps } from './process-hardening.js';
import { ENCLAVE_VERSION } from './version.js';

export interface HeadlessCoreOptions extends Partial<Omit<CoreOptions, 'dataDir' | 'databaseKey' | 'policy'>> {
  dataDir: string;
  /** A parsed policy, or a policy file path; default: the managed policy if present, else evaluation. */
  policy?: EffectivePolicy | { path: string };
  /** Default: database.key in the data directory. */
  keyFile?: string;
}

export interface HeadlessCore extends Core {
  dataDir: string;
  keyFile: string;
  policy: EffectivePolicy;
}

export async function createHeadlessCore(options: HeadlessCoreOptions): Promise<HeadlessCore> {
  // Before any connection: whoever started this process chose its environment (child-environment.ts).
  scrubDangerousEnvironment();
  const policy = options.policy && 'policy' in options.policy ? options.policy : await loadEffectivePolicy({ overridePath: options.policy?.path });
  if (!policy.policy.storage.allowKeyFile) {
    throw new EnclaveError('forbidden', `The policy (${policy.source}) does not allow the database key in a key file; run the Enclave desktop app, which keeps the key in the OS key store.`);
  }
  // The CLI and the browser test bridge hold the key and PHI too.
  const dumps = describeCoreDumpLimit(limitCoreDumps());
  if (dumps) (options.log ?? console.error)(dumps);
  const keyFile = options.keyFile ?? join(options.dataDir, KEY_FILE);
  const databasePath = join(options.dataDir, DATABASE_FILE);
  // An `enclave db rekey` a crash cut short is finished or rolled back first (keys/index.ts).
  settleInterruptedRekey(keyFile, databasePath, keyOpensDatabase);
  // A missing key file beside an existing database is an error, never a new key.
  const databaseKey = loadOrCreateKeyFile(keyFile, { databasePath });
  // createCore zeroes the key once the store is open (or fails to open).
  const core = await createCore({ ...options, version: options.version ?? ENCLAVE_VERSION, dataDir: options.dataDir, databaseKey, policy });
  return Object.assign(core, { dataDir: options.dataDir, keyFile, policy });
}
