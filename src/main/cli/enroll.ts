// `enclave enroll show | rotate`: the workstation's audit signing key, for IT
// to register with the SIEM side, and its rotation.
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KEY_FILE } from '../keys/index.js';
import { DATABASE_FILE, openStore, type Store } from '../store/index.js';
import { auditServiceOf } from './audit-service.js';
import { openStoreWithKeyFile } from './key-file.js';
import type { CliContext, CliIo } from './main.js';

const OPTIONS = { 'data-dir': { type: 'string' }, 'key-file': { type: 'string' }, json: { type: 'boolean' } } as const;

function openDataDir(command: string, args: string[], io: CliIo, context: CliContext, readonly: boolean): { store: Store; json: boolean } | null {
  const { values } = parseArgs({ args, options: OPTIONS, strict: true });
  if (!values['data-dir']) {
    io.err(`enclave: enroll ${command} needs --data-dir <dir> (the folder that holds ${DATABASE_FILE})`);
    return null;
  }
  const path = join(values['data-dir'], DATABASE_FILE);
  const store = context.databaseKey ? openStore({ path, key: context.databaseKey, readonly }) : openStoreWithKeyFile(path, values['key-file'] ?? join(values['data-dir'], KEY_FILE), { readonly });
  return { store, json: values.json ?? false };
}

export function enrollShow(args: string[], io: CliIo, context: CliContext): number {
  const opened = openDataDir('show', args, io, context, true);
  if (!opened) return 2;
  const { store, json } = opened;
  try {
    const enrolment = auditServiceOf(store).signingKey();
    if (!enrolment) {
      io.err('enclave: this database has no audit signing key yet; it is made when Enclave first starts with it');
      return 1;
    }
    const hostId = store.getMeta('host.id') ?? null;
    if (json) io.out(JSON.stringify({ hostId, ...enrolment }));
    else
      io.out(
        [
          `Host id:    ${hostId ?? 'unknown'}`,
          `Key id:     ${enrolment.keyId}`,
          `Algorithm:  ${enrolment.algorithm}`,
          `Created:    ${new Date(enrolment.createdAt).toISOString()}`,
          '',
          enrolment.publicKeyPem.trimEnd(),
        ].join('\n'),
      );
    return 0;
  } finally {
    store.close();
  }
}

/**
 * Makes a new key; the rotation event naming it is sealed and signed by the old
 * one, so a SIEM that trusts the old key id can follow to the new one.
 */
export function enrollRotate(args: string[], io: CliIo, context: CliContext): number {
  const opened = openDataDir('rotate', args, io, context, false);
  if (!opened) return 2;
  const { store, json } = opened;
  try {
    const hostId = store.getMeta('host.id');
    const audit = auditServiceOf(store);
    if (!hostId || !audit.signingKey()) {
      io.err('enclave: this database has no audit signing key yet; it is made when Enclave first starts with it');
      return 1;
    }
    // Sealed as the CLI seals: the institution as the last manifest named it (policy is not read here).
    const { previous, current, rotationBatch } = audit.rotateSigningKey({ name: userInfo().username, authMethod: 'os-account' });
    if (json) {
      io.out(JSON.stringify({ hostId, previousKeyId: previous.keyId, keyId: current.keyId, algorithm: current.algorithm, publicKeyPem: current.publicKeyPem, rotationBatch }));
    } else {
      io.out(
        [
          `Rotated the audit signing key of host ${hostId}.`,
          `Previous key id: ${previous.keyId}`,
          `New key id:      ${current.keyId}`,
          `Batch ${rotationBatch} (signed by the previous key) names the new key; batches from now on are signed by the new key.`,
          'Register the new key id with the SIEM side; keep the previous one for batches already sent.',
          '',
          current.publicKeyPem.trimEnd(),
        ].join('\n'),
      );
    }
    return 0;
  } finally {
    store.close();
  }
}
