// audit_events (the hash-chained log) and audit_quarantine (a damaged unsealed
// tail moved aside). record is the event's canonical JSON; parsing it into an
// AuditRecord is the audit service's (it owns the schema). Statements that run
// per event are prepared once per connection; a query whose rows are iterated
// prepares its own statement, as a statement being iterated is busy.
import type { ReadableDb, WritableDb } from './handles.js';
import { prepared } from './prepared.js';

/** An audit_events row as stored. */
export interface AuditEventRow {
  seq: number;
  id: string;
  ts: number;
  action: string;
  record: string;
  hash: string;
}

/** An event's sequence and canonical record. */
export type EventRecordRow = Pick<AuditEventRow, 'seq' | 'record'>;

/** The newest event (the chain's head as the table holds it), or undefined on an empty log. */
export function newest(db: ReadableDb): Pick<AuditEventRow, 'seq' | 'hash'> | undefined {
  return prepared(db, 'SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1').get() as Pick<AuditEventRow, 'seq' | 'hash'> | undefined;
}

export function insert(db: WritableDb, row: AuditEventRow): void {
  prepared(db, 'INSERT INTO audit_events (seq, id, ts, action, record, hash) VALUES (?, ?, ?, ?, ?, ?)').run(row.seq, row.id, row.ts, row.action, row.record, row.hash);
}

/** The stored hash of one event, or undefined when there is no such event (pruned, missing). */
export function hashAt(db: ReadableDb, seq: number): string | undefined {
  return (prepared(db, 'SELECT hash FROM audit_events WHERE seq = ?').get(seq) as Pick<AuditEventRow, 'hash'> | undefined)?.hash;
}

export function recordAt(db: ReadableDb, seq: number): EventRecordRow | undefined {
  return prepared(db, 'SELECT seq, record FROM audit_events WHERE seq = ?').get(seq) as EventRecordRow | undefined;
}

/** The event with this id (event.id, a UUID), or undefined. */
export function recordById(db: ReadableDb, id: string): EventRecordRow | undefined {
  return prepared(db, 'SELECT seq, record FROM audit_events WHERE id = ?').get(id) as EventRecordRow | undefined;
}

/** How many events the table holds. */
export function count(db: ReadableDb): number {
  return (prepared(db, 'SELECT count(*) AS n FROM audit_events').get() as { n: number }).n;
}

/** How many events come after seq, and the time (ms) of the oldest of them. */
export function countAfter(db: ReadableDb, seq: number): { count: number; oldestAt: number | null } {
  const row = prepared(db, 'SELECT count(*) AS count, min(ts) AS oldest FROM audit_events WHERE seq > ?').get(seq) as { count: number; oldest: number | null };
  return { count: row.count, oldestAt: row.oldest };
}

/** Up to limit events after seq, in order: the next batch to seal. */
export function after(db: ReadableDb, seq: number, limit: number): Pick<AuditEventRow, 'seq' | 'ts' | 'record' | 'hash'>[] {
  return prepared(db, 'SELECT seq, ts, record, hash FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?').all(seq, limit) as Pick<AuditEventRow, 'seq' | 'ts' | 'record' | 'hash'>[];
}

/** Whether an event with one of these actions (break-glass, a reported answer) was written after seq: it makes a batch urgent. */
export function hasActionAfter(db: ReadableDb, seq: number, actions: readonly string[]): boolean {
  return prepared(db, 'SELECT 1 FROM audit_events WHERE seq > ? AND action IN (SELECT value FROM json_each(?)) LIMIT 1').get(seq, JSON.stringify(actions)) !== undefined;
}

/** The events first..last (inclusive), in order, read as they are iterated. */
export function recordsBetween(db: ReadableDb, first: number, last: number): IterableIterator<EventRecordRow> {
  return db.prepare('SELECT seq, record FROM audit_events WHERE seq BETWEEN ? AND ? ORDER BY seq').iterate(first, last) as IterableIterator<EventRecordRow>;
}

/** Every event, in sequence order, read as it is iterated (the chain walk). */
export function all(db: ReadableDb): IterableIterator<AuditEventRow> {
  return db.prepare('SELECT seq, id, ts, action, record, hash FROM audit_events ORDER BY seq').iterate() as IterableIterator<AuditEventRow>;
}

/** The sequences of up to limit events before beforeSeq, newest first. */
export function seqsBefore(db: ReadableDb, beforeSeq: number, limit: number): number[] {
  return (prepared(db, 'SELECT seq FROM audit_events WHERE seq < ? ORDER BY seq DESC LIMIT ?').all(beforeSeq, limit) as Pick<AuditEventRow, 'seq'>[]).map((r) => r.seq);
}

/** What a search narrows in SQL: times are inclusive UTC milliseconds; outcome is read from the record's JSON. */
export interface SearchCriteria {
  from?: number | undefined;
  to?: number | undefined;
  action?: string | undefined;
  outcome?: string | undefined;
  /** Also hand back each candidate's user.name (any JSON type), for the caller to compare. */
  withUserName: boolean;
}

/** A search candidate: its sequence, and its user.name when asked for. */
export interface SearchCandidate {
  seq: number;
  user_name?: unknown;
}

/** The events that meet the criteria, newest first, read as they are iterated. */
export function searchCandidates(db: ReadableDb, criteria: SearchCriteria): IterableIterator<SearchCandidate> {
  const given: [condition: string, value: string | number | undefined][] = [
    ['ts >= ?', criteria.from],
    ['ts <= ?', criteria.to],
    ['action = ?', criteria.action],
    ["json_extract(record, '$.event.outcome') = ?", criteria.outcome],
  ];
  const where: string[] = [];
  const params: (string | number)[] = [];
  for (const [condition, value] of given) {
    if (value === undefined) continue;
    where.push(condition);
    params.push(value);
  }
  const userColumn = criteria.withUserName ? ", json_extract(record, '$.user.name') AS user_name" : '';
  const sql = `SELECT seq${userColumn} FROM audit_events${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC`;
  return db.prepare(sql).iterate(...params) as IterableIterator<SearchCandidate>;
}

/** Each distinct user.name the records carry (any JSON type), read as it is iterated. */
export function distinctUserNames(db: ReadableDb): IterableIterator<{ name: unknown }> {
  return db.prepare("SELECT DISTINCT json_extract(record, '$.user.name') AS name FROM audit_events").iterate() as IterableIterator<{ name: unknown }>;
}

/** Deletes the events up to seq (pruning after delivery); their private text goes with them (ON DELETE CASCADE). Returns how many. */
export function deleteThrough(db: WritableDb, seq: number): number {
  return prepared(db, 'DELETE FROM audit_events WHERE seq <= ?').run(seq).changes;
}

/** Deletes the events from seq on (a quarantined tail). Returns how many. */
export function deleteFrom(db: WritableDb, seq: number): number {
  return prepared(db, 'DELETE FROM audit_events WHERE seq >= ?').run(seq).changes;
}

/** Copies the events from seq on into audit_quarantine, each with the problem found and when. Delete them after (deleteFrom). */
export function quarantineFrom(db: WritableDb, seq: number, problem: string, now: number): void {
  prepared(
    db,
    `INSERT INTO audit_quarantine (seq, id, ts, action, record, hash, problem, quarantined_at)
     SELECT seq, id, ts, action, record, hash, ?, ? FROM audit_events WHERE seq >= ? ORDER BY seq`,
  ).run(problem, now, seq);
}
