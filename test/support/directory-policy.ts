// The managed policy the directory tests run under: the test DC, its CA and
// groups, break-glass for its break-glass group, and the generated test model.
import { randomBytes } from 'node:crypto';
import { createCore, type Core } from '../../src/main/core/index.js';
import { policyFromDocument } from '../../src/main/policy/index.js';
import type { SambaDcInfo } from './samba-dc.js';
import { tempDir } from './temp.js';

export function directoryPolicyDocument(dc: SambaDcInfo, model: { path: string; sha256: string }, directory: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    mode: 'managed',
    institution: { name: 'St Elsewhere Hospital' },
    directory: {
      servers: [dc.ldapsUrl],
      caFile: dc.caFile,
      baseDn: dc.baseDn,
      netbiosDomain: dc.netbiosDomain,
      upnSuffix: dc.upnSuffix,
      timeoutSeconds: 5,
      roleGroups: { clinician: [dc.groups.clinicians], researcher: [dc.groups.researchers], compliance: [dc.groups.compliance], administrator: [dc.groups.admins] },
      ...directory,
    },
    breakGlass: { enabled: true, groups: [dc.groups.breakGlass] },
    inference: { models: [{ id: 'test', name: 'Test model', path: model.path, sha256: model.sha256 }], workloads: [{ id: 'notes', name: 'Notes', model: 'test' }] },
  };
}

export interface DirectoryCoreOptions {
  /** Merged into the policy's `directory` section. */
  directory?: Record<string, unknown>;
  /** Replaces the policy's `session` section. */
  session?: Record<string, unknown>;
  /** Merged into the policy's `breakGlass` section. */
  breakGlass?: Record<string, unknown>;
  /** Merged into the policy's `inference` section. */
  inference?: Record<string, unknown>;
  /** The policy's `acceptableUse` section. */
  acceptableUse?: Record<string, unknown>;
  /** An existing data folder (a restart); a new temporary one by default. */
  dataDir?: string;
  key?: Buffer;
  now?: () => number;
}

/**
 * A headless core under the directory policy, in a data folder of its own;
 * `cleanups` receives its close (and the folder's removal) for the test's
 * afterEach. The key is returned so a test can restart on the same database.
 */
export async function startDirectoryCore(
  dc: SambaDcInfo,
  model: { path: string; sha256: string },
  cleanups: (() => unknown)[],
  options: DirectoryCoreOptions = {},
): Promise<Core & { dataDir: string; key: Buffer }> {
  let dataDir = options.dataDir;
  if (!dataDir) {
    const dir = tempDir();
    cleanups.push(dir.remove);
    dataDir = dir.path;
  }
  const key = options.key ?? randomBytes(32);
  const document = directoryPolicyDocument(dc, model, options.directory);
  if (options.session) document['session'] = options.session;
  if (options.breakGlass) document['breakGlass'] = { ...(document['breakGlass'] as object), ...options.breakGlass };
  if (options.inference) document['inference'] = { ...(document['inference'] as object), ...options.inference };
  if (options.acceptableUse) document['acceptableUse'] = options.acceptableUse;
  const core = await createCore({
    dataDir,
    databaseKey: Buffer.from(key),
    policy: policyFromDocument(document, 'directory test policy'),
    version: 'test',
    log: () => undefined,
    ...(options.now ? { now: options.now } : {}),
  });
  cleanups.push(() => core.close());
  return Object.assign(core, { dataDir, key });
}
