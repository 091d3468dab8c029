// The audit service as the CLI's commands use it: on a store the command
// opened, with this machine's name and the CLI's version, sealing (export,
// key rotation) without policy (audit/service.ts says how).
import { hostname, userInfo } from 'node:os';
import { AuditService } from '../audit/index.js';
import { ENCLAVE_VERSION } from '../core/version.js';
import type { Store } from '../store/index.js';

/** The store's workstation id as the app made it, or 'unknown' in a database the app never started with. */
export function auditServiceOf(store: Store): AuditService {
  return new AuditService({ store, hostId: store.getMeta('host.id') ?? 'unknown', hostName: hostname(), serviceVersion: ENCLAVE_VERSION, now: Date.now });
}

/** The person running the command, as the OS knows them (DOMAIN\\user on Windows). */
export function osAccount(): string {
  let name: string;
  try {
    name = userInfo().username;
  } catch {
    name = process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
  const domain = process.platform === 'win32' ? process.env.USERDOMAIN : undefined;
  return domain ? `${domain}\\${name}` : name;
}
