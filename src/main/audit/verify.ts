// Walks the local audit chain and reports the first event that is not what it
// claims to be. Used at start-up, by `enclave audit verify` and by the UI.
import type { AuditVerifyReport } from '../../shared/api.js';
import type { Db } from '../store/index.js';
import { PRUNED_HASH_KEY, PRUNED_THROUGH_SEQ_KEY } from './batches.js';
import { HEAD_HASH_KEY, HEAD_SEQ_KEY } from './log.js';
import { AuditRecordSchema, hashRecord } from './record.js';

interface Row {
  seq: number;
  id: string;
  ts: number;
  action: string;
  record: string;
  hash: string;
}

type Problem = NonNullable<AuditVerifyReport['firstBad']>;

export function verifyAuditChain(db: Db): AuditVerifyReport {
  // Events delivered to every SIEM destination and past retention were pruned; the chain resumes after them.
  const meta = (key: string) => (db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  let expected = Number(meta(PRUNED_THROUGH_SEQ_KEY) ?? '0') + 1;
  let prevHash: string | null = meta(PRUNED_HASH_KEY) ?? null;
  let checked = 0;
  const fail = (problem: Problem): AuditVerifyReport => ({ ok: false, eventsChecked: checked, headSequence: expected - 1, headHash: prevHash, firstBad: problem });

  for (const row of db.prepare('SELECT seq, id, ts, action, record, hash FROM audit_events ORDER BY seq').iterate() as IterableIterator<Row>) {
    if (row.seq !== expected) {
      return fail({ sequence: expected, problem: 'missing', detail: row.seq > expected ? `events ${expected}–${row.seq - 1} are missing` : `sequence ${row.seq} appears out of order` });
    }
    let json: unknown;
    try {
      json = JSON.parse(row.record);
    } catch {
      return fail({ sequence: row.seq, problem: 'malformed', detail: 'the stored record is not valid JSON (cut short or overwritten)' });
    }
    const parsed = AuditRecordSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return fail({ sequence: row.seq, problem: 'malformed', detail: `the stored record does not match the event schema (${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''})` });
    }
    const record = parsed.data;
    const recomputed = hashRecord(record);
    if (recomputed !== record.event.hash || row.hash !== record.event.hash) {
      return fail({ sequence: row.seq, problem: 'modified', detail: 'the event does not match its hash' });
    }
    if (record.event.sequence !== row.seq) {
      return fail({
        sequence: row.seq,
        problem: 'reordered',
        detail: `the event stored at ${row.seq} is event ${record.event.sequence}`,
      });
    }
    if (record.prev !== prevHash) {
      return fail({ sequence: row.seq, problem: prevHash === null ? 'modified' : 'reordered', detail: `the event does not follow event ${row.seq - 1} (its prev hash differs)` });
    }
    if (row.id !== record.event.id || row.action !== record.event.action || row.ts !== Date.parse(record['@timestamp'])) {
      return fail({ sequence: row.seq, problem: 'modified', detail: 'the row columns do not match the signed-off record' });
    }
    prevHash = record.event.hash;
    checked += 1;
    expected += 1;
  }

  // Deleting the newest events leaves a valid chain; the head kept in meta shows the cut.
  const headSeq = Number(meta(HEAD_SEQ_KEY) ?? '0');
  const headHash = meta(HEAD_HASH_KEY) ?? null;
  const last = expected - 1;
  if (headSeq > last) {
    return fail({ sequence: last + 1, problem: 'missing', detail: `the log ends at ${last} but ${headSeq} events were written: events ${last + 1}–${headSeq} are missing` });
  }
  if (headSeq === last && headHash !== prevHash) {
    return fail({ sequence: last, problem: 'modified', detail: 'the newest event is not the one that was written last' });
  }
  return { ok: true, eventsChecked: checked, headSequence: last, headHash: prevHash, firstBad: null };
}

export function describeVerifyReport(report: AuditVerifyReport): string {
  if (report.ok) {
    return `audit intact: ${report.eventsChecked} events checked, head ${report.headSequence} ${report.headHash ?? '(empty)'}`;
  }
  const bad = report.firstBad;
  return `audit NOT intact: event ${bad?.sequence} ${bad?.problem} — ${bad?.detail} (${report.eventsChecked} events before it verified)`;
}
