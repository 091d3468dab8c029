// events.jsonl: every event of the covered batches, each matching its hash,
// canonical, chained to the one before and in its place. The ledger holds
// each covered sequence number's state and what the other checks need of
// the events (their times at batch boundaries, key rotations).
import { BUNDLE_FILES } from '../format.js';
import { AuditRecordSchema, hashRecord, type AuditRecord } from '../../record.js';
import type { FaultLog } from './faults.js';
import { span } from './faults.js';
import type { RotationClaim } from './keys.js';
import { describeIssue, isCanonicalText } from './read.js';
import { rangesOf, type BundleProblem, type BundleRange, type EventRangeStatus } from './report.js';

/** An event's state while verifying; MISSING (0) is what an unseen sequence number reads as. */
export const EventState = { missing: 0, valid: 1, modified: 2, reordered: 3, unverified: 4 } as const;
export type EventState = (typeof EventState)[keyof typeof EventState];
const EVENT_STATUS: Record<number, EventRangeStatus> = { 0: 'missing', 1: 'valid', 2: 'modified', 3: 'reordered', 4: 'unverified' };
/** What statusOf reads for a sequence number outside the covered events. */
export const OUTSIDE = -1;

/** Where a jump ahead left a gap: if a missing event turns up later, the one that jumped is out of place too. */
interface Gap {
  from: number;
  to: number;
  jumper: number;
  line: number;
}

/** The covered events anchor+1 .. lastSeq: their states, and what was read of them. */
export class EventLedger {
  readonly anchorSize: number;
  readonly lastSeq: number;
  readonly #status: Uint8Array;
  readonly #gaps: Gap[] = [];
  /** Lines of events.jsonl read. */
  linesRead = 0;
  /** The highest sequence number read so far. */
  seenThrough: number;
  readonly rotations: RotationClaim[] = [];
  /** The times of the events where a batch begins or ends, to compare with its manifest's oldest/newest. */
  readonly boundaryTimes = new Map<number, string>();
  /** The newest and the first covered event's time (from events that match their hash). */
  newestTime: string | null = null;
  firstTime: string | null = null;

  constructor(anchorSize: number, lastSeq: number) {
    this.anchorSize = anchorSize;
    this.lastSeq = lastSeq;
    this.seenThrough = anchorSize;
    this.#status = new Uint8Array(lastSeq - anchorSize);
  }

  /** How many sequence numbers are covered. */
  get size(): number {
    return this.#status.length;
  }

  statusOf(seq: number): number {
    const i = seq - this.anchorSize - 1;
    return i >= 0 && i < this.#status.length ? this.#status[i]! : OUTSIDE;
  }

  set(seq: number, state: EventState): void {
    const i = seq - this.anchorSize - 1;
    if (i >= 0 && i < this.#status.length) this.#status[i] = state;
  }

  noteGap(gap: Gap): void {
    this.#gaps.push(gap);
  }

  gapHolding(seq: number): Gap | undefined {
    return this.#gaps.find((g) => g.from <= seq && seq <= g.to);
  }

  /**
   * At the end: unseen events are missing (one fault per run of them); seen
   * ones are valid only where a trusted, recomputed root covers them.
   */
  settle(confirmedThrough: number, faults: FaultLog): void {
    let runStart = -1;
    for (let i = 0; i <= this.#status.length; i++) {
      const status = i < this.#status.length ? this.#status[i]! : OUTSIDE;
      const seq = this.anchorSize + 1 + i;
      if (status === EventState.valid && seq > confirmedThrough) this.#status[i] = EventState.unverified;
      if (status === EventState.missing && runStart < 0) runStart = seq;
      if (status !== EventState.missing && runStart >= 0) {
        const gap = this.gapHolding(runStart);
        const where = gap ? `: line ${gap.line} holds event ${gap.jumper} where event ${runStart} belongs` : ` (${BUNDLE_FILES.events} ends before ${runStart === seq - 1 ? 'it' : 'them'})`;
        faults.add(runStart, {
          problem: 'missing',
          sequence: runStart,
          batchSeq: null,
          file: BUNDLE_FILES.events,
          line: gap?.line ?? null,
          detail: `${span(runStart, seq - 1, 'event')} ${seq - 1 > runStart ? 'are' : 'is'} missing${where}`,
        });
        runStart = -1;
      }
    }
  }

  ranges(): BundleRange<EventRangeStatus>[] {
    const anchorSize = this.anchorSize;
    return rangesOf(Array.from(this.#status, (status, i) => [anchorSize + 1 + i, EVENT_STATUS[status]!] as const));
  }
}

/** The event a line stands for in the chain and the tree. */
export interface ReadEvent {
  seq: number;
  /** The hash it puts in the tree: the one it claims (what the chain and the manifests committed to). */
  hash: string;
}

/** What checking one line needs besides the ledger. */
export interface EventLineContext {
  ledger: EventLedger;
  faults: FaultLog;
  /** The event just before on the previous line, when that line was read. */
  previous: ReadEvent | null;
  /** The hash of the anchor's last event, when its frontier holds it. */
  anchorLastLeaf: string | null;
  /** Sequence numbers where a covered batch begins or ends. */
  boundarySeqs: ReadonlySet<number>;
  /** An event whose content changed: its selection, proof and CSV row are stepped past. */
  onAltered(record: AuditRecord, position: number): void;
  /** An event read whole and in place: its selection, proof and CSV row are checked. */
  onEvent(seq: number, line: number, record: AuditRecord): void;
}

function eventFault(faults: FaultLog, seq: number, problem: BundleProblem, line: number, detail: string): void {
  faults.add(seq, { problem, sequence: seq, batchSeq: null, file: BUNDLE_FILES.events, line, detail });
}

/**
 * Checks one line of events.jsonl, expected to hold event `position`.
 * Returns the event it stands for, or null when it is unreadable, a duplicate
 * or outside the bundle.
 */
export function checkEventLine(text: string, line: number, position: number, ctx: EventLineContext): ReadEvent | null {
  const { ledger, faults } = ctx;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    eventFault(faults, position, 'modified', line, 'the line is not valid JSON (cut short or overwritten)');
    return null;
  }
  const parsed = AuditRecordSchema.safeParse(raw);
  if (!parsed.success) {
    eventFault(faults, position, 'modified', line, `the event does not match the event schema (${describeIssue(parsed.error)})`);
    return null;
  }
  const record = parsed.data;
  const claimedHash = record.event.hash;

  if (recomputedHash(record) !== claimedHash) {
    // Its content changed, so its own sequence number is not to be trusted:
    // it stands where it sits, and the tree gets the hash it claims (what
    // the chain and the manifests committed to), so the damage stays local.
    const says = record.event.sequence !== position ? ` (it calls itself event ${record.event.sequence})` : '';
    eventFault(faults, position, 'modified', line, `the event does not match its hash${says}`);
    ledger.set(position, EventState.modified);
    ctx.onAltered(record, position);
    return { seq: position, hash: claimedHash };
  }

  const seq = record.event.sequence;
  if (seq <= ledger.anchorSize || seq > ledger.lastSeq) {
    eventFault(faults, position, 'modified', line, `line ${line} holds event ${seq}, which is outside the covered events ${ledger.anchorSize + 1}–${ledger.lastSeq}`);
    return null;
  }
  if (!checkPlace(seq, line, position, ledger, faults)) return null;
  if (ledger.statusOf(seq) === EventState.missing) ledger.set(seq, EventState.valid);

  if (!isCanonicalText(text, raw)) {
    eventFault(faults, seq, 'modified', line, 'the line is not the canonical JSON of the event (it was re-serialised or edited)');
    ledger.set(seq, EventState.modified);
  }
  const link = linkProblem(record, seq, ctx);
  if (link) {
    eventFault(faults, seq, 'modified', line, link);
    ledger.set(seq, EventState.modified);
  }
  noteFacts(record, seq, ledger, ctx.boundarySeqs);
  ctx.onEvent(seq, line, record);
  return { seq, hash: claimedHash };
}

/** The record's own hash, or null when it has none (canonicalize refuses what JCS cannot represent, a lone surrogate: no hash can match). */
function recomputedHash(record: AuditRecord): string | null {
  try {
    return hashRecord(record);
  } catch {
    return null;
  }
}

/** Event seq read where `position` was expected: a jump ahead leaves a gap; one behind is out of order or a duplicate (false: skip it). */
function checkPlace(seq: number, line: number, position: number, ledger: EventLedger, faults: FaultLog): boolean {
  if (seq > position) {
    // Missing events are reported at the end, unless they turn up later (then they are out of order).
    ledger.noteGap({ from: position, to: seq - 1, jumper: seq, line });
  } else if (seq < position) {
    if (ledger.statusOf(seq) !== EventState.missing) {
      eventFault(faults, seq, 'reordered', line, `event ${seq} appears a second time, at line ${line}`);
      return false;
    }
    eventFault(faults, seq, 'reordered', line, `event ${seq} is out of order: it is at line ${line}, after event ${position - 1}`);
    ledger.set(seq, EventState.reordered);
    const gap = ledger.gapHolding(seq);
    if (gap) ledger.set(gap.jumper, EventState.reordered);
  }
  return true;
}

/** Why the event does not follow the one before it (on the line before, or the anchor's last), or null. */
function linkProblem(record: AuditRecord, seq: number, ctx: EventLineContext): string | null {
  const { previous, anchorLastLeaf } = ctx;
  if (previous !== null && previous.seq === seq - 1 && record.prev !== previous.hash) {
    return `the event does not follow event ${seq - 1} (its prev is not that event's hash): one of the two was altered and re-hashed`;
  }
  if (previous === null && seq === ctx.ledger.anchorSize + 1 && anchorLastLeaf !== null && record.prev !== anchorLastLeaf) {
    return `the event does not follow event ${seq - 1}, the last event of the anchor batch`;
  }
  return null;
}

/** What the manifests' and the range's checks need of an event: key rotations, boundary times, the first and newest time. */
function noteFacts(record: AuditRecord, seq: number, ledger: EventLedger, boundarySeqs: ReadonlySet<number>): void {
  if (record.event.action === 'audit.key_rotate') {
    const detail = record.enclave.detail ?? {};
    const { old_key_id: oldKeyId, new_key_id: newKeyId, new_public_key: newPublicKey } = detail;
    if (typeof oldKeyId === 'string' && typeof newKeyId === 'string' && typeof newPublicKey === 'string') ledger.rotations.push({ seq, oldKeyId, newKeyId, newPublicKey });
  }
  const time = record['@timestamp'];
  if (boundarySeqs.has(seq)) ledger.boundaryTimes.set(seq, time);
  if (ledger.newestTime === null || Date.parse(time) > Date.parse(ledger.newestTime)) ledger.newestTime = time;
  if (seq === ledger.anchorSize + 1) ledger.firstTime = time;
}
