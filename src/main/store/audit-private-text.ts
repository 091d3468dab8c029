// audit_private_text: what a person typed that an audit event is about (a
// break-glass reason, a mistyped user name), kept on this workstation only;
// the signed record carries its length and keyed hash. A row goes with its
// event (ON DELETE CASCADE).
import type { ReadableDb, WritableDb } from './handles.js';
import { prepared } from './prepared.js';

/** An audit_private_text row as stored. */
export interface AuditPrivateTextRow {
  event_seq: number;
  field: string;
  text: string;
}

/** Keeps one field's text for an event (written with the event, in its transaction). */
export function insert(db: WritableDb, row: AuditPrivateTextRow): void {
  prepared(db, 'INSERT INTO audit_private_text (event_seq, field, text) VALUES (?, ?, ?)').run(row.event_seq, row.field, row.text);
}

/** The text kept for an event, by field name order. */
export function ofEvent(db: ReadableDb, eventSeq: number): Pick<AuditPrivateTextRow, 'field' | 'text'>[] {
  return prepared(db, 'SELECT field, text FROM audit_private_text WHERE event_seq = ? ORDER BY field').all(eventSeq) as Pick<AuditPrivateTextRow, 'field' | 'text'>[];
}

/**
 * Whether a name is an account's here (local user name or directory
 * sAMAccountName, ignoring ASCII case): such a name is no secret, so a record
 * may carry it as typed. It reads accounts, the identity service's table: the
 * one question the audit asks of it.
 */
export function namesAnAccount(db: ReadableDb, name: string): boolean {
  return prepared(db, 'SELECT 1 FROM accounts WHERE username = ? COLLATE NOCASE OR sam_account_name = ? COLLATE NOCASE LIMIT 1').get(name, name) !== undefined;
}
