// Appends audit events in the same SQLite transaction as the action they
// record: if the event cannot be written, the action is rolled back too.
import { v7 as uuidv7 } from 'uuid';
import { EnclaveError } from '../../shared/errors.js';
import { isDiskFull, type Db, type Store } from '../store/index.js';
import { canonicalJson, hashRecord, type AuditEventInput, type AuditRecord } from './record.js';

/** meta keys holding the chain head, updated with every event so a cut-off tail shows. */
export const HEAD_SEQ_KEY = 'audit.head_seq';
export const HEAD_HASH_KEY = 'audit.head_hash';

export interface AuditContext {
  hostId: string;
  hostName: string;
  serviceVersion: string;
  now: () => number;
}

export class AuditLog {
  readonly #store: Store;
  readonly #context: AuditContext;

  constructor(store: Store, context: AuditContext) {
    this.#store = store;
    this.#context = context;
  }

  /**
   * Runs `action` and writes the event that `describe` makes of its result, in
   * one transaction. Any failure (disk full included) leaves neither behind.
   */
  run<T>(action: (db: Db) => T, describe: (result: T) => AuditEventInput): T {
    try {
      return this.#store.transaction((db) => {
        const result = action(db);
        this.#append(db, describe(result));
        return result;
      });
    } catch (error) {
      throw translateWriteError(error);
    }
  }

  /** Writes one event on its own (for actions that touch nothing else in the database). */
  record(event: AuditEventInput): AuditRecord {
    try {
      return this.#store.transaction((db) => this.#append(db, event));
    } catch (error) {
      throw translateWriteError(error);
    }
  }

  head(): { sequence: number; hash: string | null } {
    const seq = Number(this.#store.getMeta(HEAD_SEQ_KEY) ?? '0');
    return { sequence: seq, hash: this.#store.getMeta(HEAD_HASH_KEY) ?? null };
  }

  #append(db: Db, input: AuditEventInput): AuditRecord {
    const head = db.prepare('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
    const sequence = (head?.seq ?? 0) + 1;
    const time = this.#context.now();
    const unhashed = {
      '@timestamp': new Date(time).toISOString(),
      event: {
        id: uuidv7({ msecs: time }),
        sequence,
        action: input.action,
        outcome: input.outcome,
        ...(input.reason !== undefined ? { reason: input.reason } : {}),
      },
      prev: head?.hash ?? null,
      host: { id: this.#context.hostId, name: this.#context.hostName },
      service: { name: 'enclave' as const, version: this.#context.serviceVersion },
      ...(input.user
        ? {
            user: {
              ...(input.user.id !== undefined ? { id: input.user.id } : {}),
              name: input.user.name,
              ...(input.user.roles !== undefined ? { roles: input.user.roles } : {}),
              ...(input.user.authMethod !== undefined ? { auth_method: input.user.authMethod } : {}),
            },
          }
        : {}),
      enclave: {
        // Whether the clock is NTP-synced is not yet probed; the SIEM side sees 'unknown'.
        clock_state: 'unknown' as const,
        ...(input.sessionId !== undefined ? { session_id: input.sessionId } : {}),
        ...(input.messageId !== undefined ? { message_id: input.messageId } : {}),
        ...(input.workload !== undefined ? { workload: input.workload } : {}),
        ...(input.model !== undefined ? { model: input.model } : {}),
        ...(input.detail !== undefined ? { detail: input.detail } : {}),
      },
      ...(input.prompt || input.response
        ? { ai: { ...(input.prompt ? { prompt: input.prompt } : {}), ...(input.response ? { response: input.response } : {}) } }
        : {}),
    };
    const hash = hashRecord(unhashed);
    const record: AuditRecord = { ...unhashed, event: { ...unhashed.event, hash } };
    db.prepare('INSERT INTO audit_events (seq, id, ts, action, record, hash) VALUES (?, ?, ?, ?, ?, ?)').run(
      sequence,
      record.event.id,
      time,
      record.event.action,
      canonicalJson(record),
      hash,
    );
    const setMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    setMeta.run(HEAD_SEQ_KEY, String(sequence));
    setMeta.run(HEAD_HASH_KEY, hash);
    return record;
  }
}

function translateWriteError(error: unknown): unknown {
  if (error instanceof EnclaveError) return error;
  if (isDiskFull(error)) {
    return new EnclaveError('audit_write_failed', 'The disk is full, so the audit record could not be written. Nothing was done; free some disk space and try again.', { cause: error });
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('SQLITE_')) {
    return new EnclaveError('audit_write_failed', `The audit record could not be written (${code}), so nothing was done.`, { cause: error });
  }
  return error;
}
