// What the compliance officer asks of the audit log: which events match a
// filter (user, action, outcome, time range), newest first, a page at a time.
// matchesAuditFilter is the one definition of "matches": the search, the
// export's selection and the bundle verifier (which re-applies the filter on
// another machine) all use it, so they cannot disagree.
import type { AuditEventSummary, AuditFilter } from '../../shared/api.js';
import { EnclaveError } from '../../shared/errors.js';
import { auditBatches, auditEvents, type ReadableDb } from '../store/index.js';
import type { AuditLog } from './log.js';
import { foldUserName, privateTextOf, readTextKey, typedNameToken } from './private-text.js';
import { AuditRecordSchema, type AuditRecord } from './record.js';

export { foldUserName } from './private-text.js';

/**
 * Does the event match? Every given criterion must hold; times are inclusive
 * UTC milliseconds. typedUserToken: on the workstation, the keyed token of the
 * filter's user name, so a failed sign-in recorded by token (the typed name
 * named no account) matches the name as typed.
 */
export function matchesAuditFilter(record: AuditRecord, filter: AuditFilter, typedUserToken: string | null = null): boolean {
  if (filter.from !== undefined || filter.to !== undefined) {
    const time = Date.parse(record['@timestamp']);
    if (filter.from !== undefined && time < filter.from) return false;
    if (filter.to !== undefined && time > filter.to) return false;
  }
  if (filter.action !== undefined && record.event.action !== filter.action) return false;
  if (filter.outcome !== undefined && record.event.outcome !== filter.outcome) return false;
  if (filter.user !== undefined) {
    const name = record.user?.name;
    if (name === undefined || (foldUserName(name) !== foldUserName(filter.user.trim()) && name !== typedUserToken)) return false;
  }
  return true;
}

/**
 * A search or export filter as audit detail: who looked for what is itself
 * audited. The user name must already be recordable (recordableUserName: an
 * account's name, or the token of what was typed).
 */
export function auditFilterDetail(filter: AuditFilter): Record<string, string | null> {
  return {
    filter_from: filter.from === undefined ? null : new Date(filter.from).toISOString(),
    filter_to: filter.to === undefined ? null : new Date(filter.to).toISOString(),
    filter_user: filter.user ?? null,
    filter_action: filter.action ?? null,
    filter_outcome: filter.outcome ?? null,
  };
}

/**
 * A search or export filter as the record (and a bundle's header) may state
 * it: a user name that names no account here is replaced by its keyed token
 * (it may be a password typed as a user name, found on the compliance screen),
 * and what was typed is kept as private text on this workstation.
 */
export function statedAuditFilter(audit: AuditLog, filter: AuditFilter): { filter: AuditFilter; detail: Record<string, string | null>; privateText?: Record<string, string> } {
  if (filter.user === undefined) return { filter, detail: auditFilterDetail(filter) };
  const typed = filter.user.trim();
  const stated = { ...filter, user: audit.recordableUserName(typed) };
  return { filter: stated, detail: auditFilterDetail(stated), ...(stated.user !== typed ? { privateText: { filter_user: typed } } : {}) };
}

export interface AuditSearch extends AuditFilter {
  /** Page size (the contract allows 1..500). */
  limit: number;
  /** Only events older than this sequence: the previous page's nextBeforeSequence. */
  beforeSequence?: number | undefined;
}

export interface AuditSearchPage {
  events: AuditEventSummary[];
  /** How many events match in all, on every page. */
  total: number;
  /** Pass as beforeSequence for the next (older) page; null on the last page. */
  nextBeforeSequence: number | null;
}

/**
 * Matching events, newest first. The time range and action narrow the rows in
 * SQL on audit_events' own columns (ts, action), the outcome with the JSON
 * of the record, so SQLite hands back only candidates; the user name is then
 * compared here (case folding must be the same as matchesAuditFilter's, which
 * SQLite's ASCII-only lower() is not). Only the page's records are parsed.
 */
export function searchAuditEvents(db: ReadableDb, search: AuditSearch): AuditSearchPage {
  if (!Number.isSafeInteger(search.limit) || search.limit < 1) throw new EnclaveError('invalid_input', 'The page size must be a positive whole number.');
  if (search.from === undefined && search.to === undefined && search.action === undefined && search.outcome === undefined && search.user === undefined) return pageWithoutFilter(db, search);

  const wantedUser = search.user !== undefined ? foldUserName(search.user.trim()) : null;
  const textKey = search.user !== undefined ? readTextKey(db) : null;
  const wantedToken = search.user !== undefined && textKey ? typedNameToken(textKey, search.user) : null;
  const before = search.beforeSequence ?? Number.POSITIVE_INFINITY;
  const page: number[] = [];
  let total = 0;
  let more = false;
  const candidates = auditEvents.searchCandidates(db, { from: search.from, to: search.to, action: search.action, outcome: search.outcome, withUserName: search.user !== undefined });
  for (const row of candidates) {
    if (wantedUser !== null && (typeof row.user_name !== 'string' || (foldUserName(row.user_name) !== wantedUser && row.user_name !== wantedToken))) continue;
    total += 1;
    if (row.seq >= before) continue;
    if (page.length < search.limit) page.push(row.seq);
    else more = true;
  }

  return { events: summaries(db, page), total, nextBeforeSequence: more ? page.at(-1)! : null };
}

/** No criteria: the count comes from the small id index and the page from the rowid, without reading every record. */
function pageWithoutFilter(db: ReadableDb, search: AuditSearch): AuditSearchPage {
  const total = auditEvents.count(db);
  const seqs = auditEvents.seqsBefore(db, search.beforeSequence ?? Number.MAX_SAFE_INTEGER, search.limit + 1);
  const page = seqs.slice(0, search.limit);
  return { events: summaries(db, page), total, nextBeforeSequence: seqs.length > search.limit ? page.at(-1)! : null };
}

function summaries(db: ReadableDb, seqs: number[]): AuditEventSummary[] {
  return seqs.map((seq) => {
    const row = auditEvents.recordAt(db, seq)!;
    return { ...summarizeAuditEvent(row.seq, row.record, batchSealing(db, row.seq)), privateText: privateTextOf(db, row.seq) };
  });
}

/** The batch that seals an event, or null while it waits to be sealed. */
export function batchSealing(db: ReadableDb, seq: number): number | null {
  return auditBatches.sealing(db, seq);
}

/** The list view of one event, with its canonical record for the detail view. */
export function summarizeAuditEvent(seq: number, text: string, batchSeq: number | null): Omit<AuditEventSummary, 'privateText'> {
  let record: AuditRecord;
  try {
    record = AuditRecordSchema.parse(JSON.parse(text));
  } catch (cause) {
    throw new EnclaveError('audit_corrupt', `Audit event ${seq} is damaged and cannot be shown; run enclave audit verify to see what is wrong.`, { cause });
  }
  return {
    sequence: record.event.sequence,
    id: record.event.id,
    timestamp: record['@timestamp'],
    action: record.event.action,
    outcome: record.event.outcome,
    reason: record.event.reason ?? null,
    user: record.user?.name ?? null,
    roles: record.user?.roles ?? [],
    authMethod: record.user?.auth_method ?? null,
    sessionId: record.enclave.session_id ?? null,
    batchSeq,
    record: text,
  };
}
