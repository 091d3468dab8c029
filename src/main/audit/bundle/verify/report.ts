// The verifier's report: what was checked, by range of events and batches,
// the faults in bundle order, and the report in words for the CLI.
import type { AuditFilter } from '../../../../shared/api.js';
import type { ProvenRange } from '../format.js';
import { span } from './faults.js';

export type EventRangeStatus = 'valid' | 'modified' | 'missing' | 'reordered' | 'unverified';
export type BatchRangeStatus =
  'valid' | 'malformed' | 'missing' | 'reordered' | 'bad_signature' | 'wrong_key' | 'broken_chain' | 'events_mismatch' | 'root_mismatch' | 'proof_invalid' | 'inside_range' | 'unverified';
export type BundleProblem =
  | 'malformed'
  | 'modified'
  | 'missing'
  | 'reordered'
  | 'bad_signature'
  | 'wrong_key'
  | 'wrong_host'
  | 'broken_chain'
  | 'events_mismatch'
  | 'root_mismatch'
  | 'proof_invalid'
  | 'selection_mismatch'
  | 'csv_mismatch';

export interface BundleFault {
  problem: BundleProblem;
  /** The event's sequence number when the fault is about an event (or its proof, selection or CSV row). */
  sequence: number | null;
  /** The batch when the fault is about a manifest. */
  batchSeq: number | null;
  file: string;
  /** 1-based line of that file (record number for events.csv, the header being 1); null for the file as a whole. */
  line: number | null;
  detail: string;
}

export interface BundleRange<S extends string> {
  first: number;
  last: number;
  status: S;
}

export interface BundleVerifyReport {
  ok: boolean;
  header: { created: string; exportedBy: string; hostId: string; hostName: string; filter: AuditFilter; prunedThroughSeq: number | null } | null;
  /** Sequence numbers of the covered events (null when none). */
  firstSeq: number | null;
  lastSeq: number | null;
  eventsChecked: number;
  batchesChecked: number;
  selectedEvents: number;
  proofsChecked: number;
  /** Keys whose signatures were accepted: the expected ones and those they introduced by rotation. */
  trustedKeyIds: string[];
  /** The time range the bundle proves complete (null unless it verifies): what an auditor compares with what was asked for. */
  provenRange: ProvenRange | null;
  /** The batch after the covered ones whose signed manifest closes the range (null when the bundle has none). */
  closingBatchSeq: number | null;
  eventRanges: BundleRange<EventRangeStatus>[];
  batchRanges: BundleRange<BatchRangeStatus>[];
  firstFault: BundleFault | null;
  /** In bundle order (by sequence), at most MAX_REPORTED_FAULTS. */
  faults: BundleFault[];
  faultCount: number;
}

export const MAX_REPORTED_FAULTS = 100;

/** The report in words: one line per range, then the first fault and the verdict. */
export function describeBundleReport(report: BundleVerifyReport): string[] {
  const lines: string[] = [];
  const h = report.header;
  if (h) {
    const f = h.filter;
    const criteria = [
      `time ${f.from === undefined ? 'from the beginning' : new Date(f.from).toISOString()} to ${f.to === undefined ? 'the export' : new Date(f.to).toISOString()}`,
      f.user !== undefined ? `user ${f.user} (any case)` : null,
      f.action !== undefined ? `action ${f.action}` : null,
      f.outcome !== undefined ? `outcome ${f.outcome}` : null,
    ].filter((c): c is string => c !== null);
    lines.push(`bundle from host ${h.hostName} (${h.hostId}), exported ${h.created} by ${h.exportedBy}`);
    lines.push(`filter (re-applied to every covered event): ${criteria.join(', ')}`);
  }
  if (h?.prunedThroughSeq)
    lines.push(
      `note: the bundle says events up to ${h.prunedThroughSeq} had been removed from the workstation (after SIEM delivery) before it was exported; the SIEM holds them, this bundle cannot show them`,
    );
  for (const r of report.eventRanges) lines.push(`${span(r.first, r.last, 'event')}: ${r.status.replaceAll('_', ' ')}`);
  for (const r of report.batchRanges) lines.push(`${span(r.first, r.last, 'batch')}: ${r.status.replaceAll('_', ' ')}`);
  const f = report.firstFault;
  if (f) {
    const where = `${f.file}${f.line !== null ? ` line ${f.line}` : ''}`;
    const what = f.sequence !== null ? `event ${f.sequence}` : f.batchSeq !== null ? `batch ${f.batchSeq}` : f.file;
    lines.push(`first fault: ${what} ${f.problem.replaceAll('_', ' ')} (${where}) — ${f.detail}`);
  }
  const r = report.provenRange;
  const complete = r ? `; complete from ${r.from ?? 'the start of the log'} to ${r.to}${r.endsAtExport ? ' (the export)' : ''}, closed by signed batch ${report.closingBatchSeq}` : '';
  lines.push(
    report.ok
      ? `audit bundle verified: ${report.eventsChecked} events in ${report.batchesChecked} signed batches${report.firstSeq !== null ? ` (events ${report.firstSeq}–${report.lastSeq})` : ''}, ${report.selectedEvents} selected, ${report.proofsChecked} inclusion proofs${complete}; signed by ${report.trustedKeyIds.join(', ') || 'no key'}`
      : `audit bundle NOT verified: ${report.faultCount} fault${report.faultCount === 1 ? '' : 's'}`,
  );
  return lines;
}

/** Numbered statuses (in ascending order) as ranges of consecutive numbers with one status. */
export function rangesOf<S extends string>(entries: Iterable<readonly [number, S]>): BundleRange<S>[] {
  const ranges: BundleRange<S>[] = [];
  for (const [n, status] of entries) {
    const last = ranges.at(-1);
    if (last && last.status === status && last.last === n - 1) last.last = n;
    else ranges.push({ first: n, last: n, status });
  }
  return ranges;
}
