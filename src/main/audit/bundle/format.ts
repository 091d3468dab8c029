// The audit export bundle's file format, shared by the writer (write.ts) and
// the verifier (verify/): the files of a bundle folder, their schemas, the
// CSV rendering, and the two rules both sides decide by (which batch may be
// the anchor before the range, which may close it after). Pure: no store, no
// file access, so the verifier runs the same on any machine.
import { z } from 'zod';
import { AuditFilter } from '../../../shared/api.js';
import type { BatchManifest } from '../manifest.js';
import type { AuditRecord } from '../record.js';

/** v2: the closing manifest after the covered batches (closing_batch_seq). A v1 bundle has none, so it cannot prove where its range ends. */
export const BUNDLE_FORMAT = 'enclave-audit-bundle/v2';
const BUNDLE_FORMAT_V1 = 'enclave-audit-bundle/v1';
export const BUNDLE_KEYS_FORMAT = 'enclave-audit-keys/v1';

/** The files of a bundle folder. bundle.json is written last: a bundle cut short by a crash has none and fails to verify. */
export const BUNDLE_FILES = {
  header: 'bundle.json',
  manifests: 'manifests.jsonl',
  events: 'events.jsonl',
  proofs: 'proofs.jsonl',
  keys: 'keys.json',
  csv: 'events.csv',
  readme: 'README.txt',
} as const;

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits');
const Seq = z.number().int().positive();
const Count = z.number().int().nonnegative();
const Time = z.string().datetime({ precision: 3 });

/** A Merkle frontier as audit_batches.frontier stores it: [subtree size, root hex], sizes strictly decreasing powers of two. */
export const FrontierJsonSchema = z
  .object({ size: Count, nodes: z.array(z.tuple([z.number().int().positive(), Hex64])) })
  .strict()
  .superRefine((frontier, ctx) => {
    let total = 0;
    let previous = Number.POSITIVE_INFINITY;
    for (const [size] of frontier.nodes) {
      if ((size & (size - 1)) !== 0 || size >= previous) ctx.addIssue({ code: 'custom', message: 'node sizes must be strictly decreasing powers of two' });
      previous = size;
      total += size;
    }
    if (total !== frontier.size) ctx.addIssue({ code: 'custom', message: 'the node sizes do not add up to the frontier size' });
  });
export type FrontierJson = z.infer<typeof FrontierJsonSchema>;

/** bundle.json */
export const BundleHeaderSchema = z
  .object({
    format: z.enum([BUNDLE_FORMAT, BUNDLE_FORMAT_V1]),
    created: Time,
    exported_by: z.string(),
    host: z.object({ id: z.string(), name: z.string() }).strict(),
    /** The filter as given (UTC milliseconds, both ends inclusive); the verifier re-applies it. */
    filter: AuditFilter,
    /** The batch just before the covered ones (null when coverage starts at enrolment) and the Merkle frontier after it. */
    anchor: z.object({ batch_seq: Seq.nullable(), frontier: FrontierJsonSchema }).strict(),
    /** The covered batches and their events; null when no sealed batch falls in the range. */
    coverage: z
      .object({
        first_batch_seq: Seq,
        last_batch_seq: Seq,
        batches: Count,
        first_seq: Seq.nullable(),
        last_seq: Seq.nullable(),
        events: Count,
        /** Set when the range reaches back before the events this workstation still keeps (pruned after SIEM delivery). */
        pruned_through_seq: Count.nullable(),
      })
      .strict()
      .nullable(),
    /**
     * The batch right after the covered ones (after the anchor when nothing is
     * covered): its signed manifest is the last line of manifests.jsonl, its
     * events are not in the bundle. It holds nothing inside the time range, so
     * it proves where the range ends. Absent only in a v1 bundle.
     */
    closing_batch_seq: Seq.nullable().optional(),
    selection: z.object({ count: Count, event_ids: z.array(z.string()) }).strict(),
  })
  .strict();
export type BundleHeader = z.infer<typeof BundleHeaderSchema>;

/**
 * Why a batch cannot close the range of `filter` — it holds something inside
 * it — or null when it does. With `to`: an events batch whose events (oldest
 * and newest) are after `to`, or a heartbeat sealed after `to`. Without `to`
 * the range ends at the export: only a heartbeat closes it, sealed no earlier
 * than the newest covered event (`newestCovered`, ISO time, null when none).
 * The exporter and the verifier both decide by this.
 */
export function closingProblem(m: BatchManifest, filter: AuditFilter, newestCovered: string | null): string | null {
  if (filter.to !== undefined) {
    const to = new Date(filter.to).toISOString();
    if (m.kind === 'heartbeat') return Date.parse(m.created) > filter.to ? null : `it is a heartbeat sealed at ${m.created}, inside the range (which ends ${to})`;
    return Date.parse(m.oldest!) > filter.to && Date.parse(m.newest!) > filter.to
      ? null
      : `it holds events from ${m.oldest} to ${m.newest}, inside the range (which ends ${to}), and they are not in the bundle`;
  }
  if (m.kind !== 'heartbeat') return `it holds events (${m.oldest} to ${m.newest}), and a range without an end takes in every event up to the export; they are not in the bundle`;
  if (newestCovered !== null && Date.parse(m.created) < Date.parse(newestCovered)) return `it is a heartbeat sealed at ${m.created}, before the newest covered event (${newestCovered})`;
  return null;
}

/**
 * Why a batch cannot be the anchor — it does not lie wholly before the range
 * of `filter` — or null when it can: an events batch whose events (oldest and
 * newest) are before `from`, or a heartbeat sealed before it. A range without
 * `from` starts at enrolment, so nothing comes before it. The exporter and
 * the verifier both decide by this.
 */
export function anchorProblem(m: BatchManifest, filter: AuditFilter): string | null {
  if (filter.from === undefined) return 'the range has no start, so it takes in every batch since enrolment';
  const from = new Date(filter.from).toISOString();
  if (m.kind === 'heartbeat') return Date.parse(m.created) < filter.from ? null : `it is a heartbeat sealed at ${m.created}, not before the range (which starts ${from})`;
  return Date.parse(m.oldest!) < filter.from && Date.parse(m.newest!) < filter.from ? null : `it holds events from ${m.oldest} to ${m.newest}, not all before the range (which starts ${from})`;
}

/** A time range proven complete: every event in it that matches the filter is in the selection. */
export interface ProvenRange {
  /** ISO time; null: from the first event since enrolment. */
  from: string | null;
  /** ISO time, inclusive. */
  to: string;
  /** No `to` was given (or it lay after the export): the range ends just before the closing heartbeat, sealed at the export. */
  endsAtExport: boolean;
}

/**
 * The range a bundle proves complete once its closing manifest holds: to the
 * filter's `to`, or without one to just before the closing heartbeat was
 * sealed (an event written in that same millisecond may follow it). From the
 * filter's `from`, or — where local pruning clipped the range — from
 * `clippedFrom`, the first covered event.
 */
export function provenRangeOf(filter: AuditFilter, closing: BatchManifest, clippedFrom: string | null): ProvenRange {
  const from = clippedFrom ?? (filter.from === undefined ? null : new Date(filter.from).toISOString());
  if (filter.to !== undefined) return { from, to: new Date(filter.to).toISOString(), endsAtExport: false };
  return { from, to: new Date(Date.parse(closing.created) - 1).toISOString(), endsAtExport: true };
}

/** keys.json */
export const BundleKeysSchema = z
  .object({
    format: z.literal(BUNDLE_KEYS_FORMAT),
    keys: z.array(
      z
        .object({
          key_id: Hex64,
          algorithm: z.literal('Ed25519'),
          public_key_pem: z.string(),
          created: Time,
          retired: Time.nullable(),
          replaced_by: Hex64.nullable(),
        })
        .strict(),
    ),
  })
  .strict();
export type BundleKeys = z.infer<typeof BundleKeysSchema>;

/** One line of proofs.jsonl: RFC 6962 inclusion proof of a selected event in the tree its batch's manifest signs. */
export const InclusionProofLineSchema = z
  .object({
    seq: Seq,
    event_id: z.string(),
    batch_seq: Seq,
    leaf_index: Count,
    tree_size: Seq,
    leaf_hash: Hex64,
    path: z.array(Hex64),
  })
  .strict();
export type InclusionProofLine = z.infer<typeof InclusionProofLineSchema>;

export const CSV_COLUMNS = ['sequence', 'time', 'action', 'outcome', 'reason', 'user', 'roles', 'auth method', 'session', 'model', 'event id', 'event hash', 'batch'] as const;
/** RFC 4180 ends records with CRLF. */
export const CSV_LINE_END = '\r\n';
/** A UTF-8 byte order mark, so Excel (the tool a compliance office opens a CSV with) reads names with accents correctly. */
export const CSV_BOM = '\uFEFF';

/**
 * One CSV cell. A cell that starts with = + - @ TAB or CR is prefixed with a
 * single quote: spreadsheet programs read such cells as formulas, and a value
 * that someone else controls (a user name typed at sign-in, a reason code, a
 * session or model name) could otherwise run a formula — exfiltrate data
 * through a HYPERLINK, or launch a program via DDE — on the machine of the
 * person who opens the export (OWASP "CSV injection"). The canonical record in
 * events.jsonl keeps the exact value. Then RFC 4180 quoting.
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function csvHeaderLine(): string {
  return CSV_COLUMNS.map(csvCell).join(',');
}

/** The CSV record of one event (without the line end). */
export function csvEventLine(record: AuditRecord, batchSeq: number): string {
  return [
    String(record.event.sequence),
    record['@timestamp'],
    record.event.action,
    record.event.outcome,
    record.event.reason ?? '',
    record.user?.name ?? '',
    (record.user?.roles ?? []).join(';'),
    record.user?.auth_method ?? '',
    record.enclave.session_id ?? '',
    record.enclave.model?.id ?? '',
    record.event.id,
    record.event.hash,
    String(batchSeq),
  ]
    .map(csvCell)
    .join(',');
}
