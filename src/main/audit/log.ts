// Appends audit events in the same SQLite transaction as the action they
// record: if the event cannot be written, the action is rolled back too.
import { v7 as uuidv7 } from 'uuid';
import { EnclaveError } from '../../shared/errors.js';
import { auditBatches, auditEvents, auditPrivateText, isDiskFull, meta, type Store, type WritableDb } from '../store/index.js';
import { ensureTextKey, keyedHash, PRIVATE_CHARS_SUFFIX, PRIVATE_FIELD, PRIVATE_HMAC_SUFFIX, recordableUserName, typedNameToken, TYPED_NAME_FIELD } from './private-text.js';
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

export interface AuditLogOptions extends AuditContext {
  store: Store;
}

export class AuditLog {
  readonly #store: Store;
  readonly #context: AuditContext;
  readonly #listeners = new Set<(record: AuditRecord) => void>();

  constructor(options: AuditLogOptions) {
    this.#store = options.store;
    this.#context = options;
  }

  /**
   * Runs `action` and writes the event that `describe` makes of its result, in
   * one transaction. Any failure (disk full included) leaves neither behind.
   */
  run<T>(action: (db: WritableDb) => T, describe: (result: T) => AuditEventInput): T {
    let written: AuditRecord | undefined;
    let result: T;
    try {
      result = this.#store.transaction((db) => {
        const value = action(db);
        written = this.#append(db, describe(value));
        return value;
      });
    } catch (error) {
      throw translateWriteError(error);
    }
    this.#announce(written);
    return result;
  }

  /** Like run, for an action that may find nothing to do (null): then nothing is written or audited. */
  runOptional<T>(action: (db: WritableDb) => T | null, describe: (result: T) => AuditEventInput): T | null {
    let written: AuditRecord | undefined;
    let result: T | null;
    try {
      result = this.#store.transaction((db) => {
        const value = action(db);
        if (value !== null) written = this.#append(db, describe(value));
        return value;
      });
    } catch (error) {
      throw translateWriteError(error);
    }
    this.#announce(written);
    return result;
  }

  /** Writes one event on its own (for actions that touch nothing else in the database). */
  record(event: AuditEventInput): AuditRecord {
    let written: AuditRecord;
    try {
      written = this.#store.transaction((db) => this.#append(db, event));
    } catch (error) {
      throw translateWriteError(error);
    }
    this.#announce(written);
    return written;
  }

  /** Called after each event is committed (the batch sealer counts them). Returns the unsubscribe. */
  onAppended(listener: (record: AuditRecord) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #announce(record: AuditRecord | undefined): void {
    // Inside an outer transaction (key rotation) the commit is the caller's; announcing early is harmless: listeners only schedule work.
    if (!record) return;
    for (const listener of this.#listeners) listener(record);
  }

  head(): { sequence: number; hash: string | null } {
    const seq = Number(this.#store.getMeta(HEAD_SEQ_KEY) ?? '0');
    return { sequence: seq, hash: this.#store.getMeta(HEAD_HASH_KEY) ?? null };
  }

  /** A typed user name (a search term) as a record may carry it: as typed when an account or a record already names it so, else its keyed token. */
  recordableUserName(typed: string): string {
    return this.#store.transaction((db) => recordableUserName(db, typed));
  }

  #append(db: WritableDb, input: AuditEventInput): AuditRecord {
    // Typed text: the record gets lengths and keyed hashes; the text goes to audit_private_text below.
    const privateText = Object.entries(input.privateText ?? {});
    for (const [field] of privateText) {
      if (!PRIVATE_FIELD.test(field) || field === TYPED_NAME_FIELD) throw new Error(`"${field}" cannot name private audit text.`);
    }
    const typedName = input.user?.typed === true ? input.user.name : null;
    const key = privateText.length > 0 || typedName !== null || input.prompt || input.response ? ensureTextKey(db) : null;
    const digest = (text: { text: string; tokens?: number }) => ({
      hmac_sha256: keyedHash(key!, text.text),
      ...(text.tokens !== undefined ? { tokens: text.tokens } : {}),
      chars: text.text.length,
    });
    let detail = input.detail;
    if (privateText.length > 0) {
      detail = { ...detail };
      for (const [field, text] of privateText) {
        detail[`${field}${PRIVATE_HMAC_SUFFIX}`] = keyedHash(key!, text);
        detail[`${field}${PRIVATE_CHARS_SUFFIX}`] = text.length;
      }
    }
    const head = auditEvents.newest(db);
    // Never reuse a sequence a signed batch already covers: after a tail was
    // cut from under a manifest, new events (the corruption report first)
    // continue after it, so they can still be sealed and reach the SIEM, and
    // the gap stays visible to verify.
    const sequence = Math.max(head?.seq ?? 0, auditBatches.newestTreeSize(db) ?? 0) + 1;
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
              name: typedName !== null ? typedNameToken(key!, typedName) : input.user.name,
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
        ...(detail !== undefined ? { detail } : {}),
      },
      ...(input.prompt || input.response ? { ai: { ...(input.prompt ? { prompt: digest(input.prompt) } : {}), ...(input.response ? { response: digest(input.response) } : {}) } } : {}),
    };
    const hash = hashRecord(unhashed);
    const record: AuditRecord = { ...unhashed, event: { ...unhashed.event, hash } };
    auditEvents.insert(db, { seq: sequence, id: record.event.id, ts: time, action: record.event.action, record: canonicalJson(record), hash });
    for (const [field, text] of privateText) auditPrivateText.insert(db, { event_seq: sequence, field, text });
    if (typedName !== null) auditPrivateText.insert(db, { event_seq: sequence, field: TYPED_NAME_FIELD, text: typedName });
    meta.set(db, HEAD_SEQ_KEY, String(sequence));
    meta.set(db, HEAD_HASH_KEY, hash);
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
