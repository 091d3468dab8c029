// The audit export bundle: its format, and the verifier that anyone (the
// SIEM team, an outside auditor) runs on it with nothing but the bundle folder
// and the key id IT registered for the workstation. Pure: reads only the
// folder, imports nothing from the store, so it runs the same on any machine.
//
// What a valid bundle proves:
// - every manifest is signed by the expected key, or by a key that a batch
//   signed by a trusted key introduced through an audit.key_rotate event;
// - the manifests form one chain (prev_manifest_hash / prev_signature, or a
//   stated key-rotation start) with contiguous batch numbers;
// - the events are exactly the events of the covered batches, in order,
//   gap-free, each matching its hash and chained to the one before, and their
//   Merkle tree (continued from the anchor's frontier) has each manifest's
//   signed root at its tree size;
// - each selected event has an inclusion proof against its batch's root;
// - the selection is exactly the covered events that match the stated filter
//   (the verifier re-applies it, so nothing matching was left out), and
//   events.csv is exactly those events rendered for people;
// - the range is closed at both ends: the anchor manifest before the covered
//   batches holds nothing inside the filter's time range (so nothing was cut
//   off the front), and the signed CLOSING manifest after them — chained to
//   the last covered one, its batch's events (or heartbeat time) after the
//   range — proves that nothing was cut off the end. Events are written and
//   sealed in sequence, so every event after the closing batch came later
//   still (by the workstation's clock: a clock set back defeats this, as it
//   defeats any time filter). Without a `to` the range ends at the export:
//   the closing manifest is the heartbeat the export sealed, and the range is
//   proven up to it.
// The report states the time range proven complete (`provenRange`), so an
// auditor compares it with what was asked for: bundle.json itself is not
// signed, and a filter edited there shows in that range.
import { createHash, createPublicKey } from 'node:crypto';
import { closeSync, existsSync, readSync } from 'node:fs';
import { openRegularFileSync, readLimitedFileSync, UnreadableFileError } from '../files/index.js';
import { EnclaveError } from '../../shared/errors.js';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { z } from 'zod';
import { AuditFilter } from '../../shared/api.js';
import { BatchManifestSchema, manifestHash, verifyManifestSignature, type BatchManifest } from './manifest.js';
import { MerkleFrontier, MerkleProofBuilder, verifyInclusion } from './merkle.js';
import {
  anchorProblem,
  BUNDLE_FILES,
  BUNDLE_FORMAT,
  BUNDLE_KEYS_FORMAT,
  BundleHeaderSchema,
  BundleKeysSchema,
  closingProblem,
  CSV_BOM,
  csvEventLine,
  csvHeaderLine,
  InclusionProofLineSchema,
  keyIdOfSpki,
  provenRangeOf,
  type BundleHeader,
  type InclusionProofLine,
  type ProvenRange,
} from './bundle/format.js';
import { matchesAuditFilter } from './query.js';
import { AuditRecordSchema, canonicalJson, hashRecord, type AuditRecord } from './record.js';

// ---------------------------------------------------------------------------
// The report

export type EventRangeStatus = 'valid' | 'modified' | 'missing' | 'reordered' | 'unverified';
export type BatchRangeStatus =
  | 'valid'
  | 'malformed'
  | 'missing'
  | 'reordered'
  | 'bad_signature'
  | 'wrong_key'
  | 'broken_chain'
  | 'events_mismatch'
  | 'root_mismatch'
  | 'proof_invalid'
  | 'inside_range'
  | 'unverified';
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
/** Faults kept in memory before sorting (a bundle broken everywhere need not cost memory per event). */
const MAX_KEPT_FAULTS = 10_000;
/** Proofs kept while their event has not come yet (it may be out of order). */
const MAX_EARLY_PROOFS = 10_000;
/** Out-of-order events waiting for a gap before them to fill; past this, the tree is declared broken. */
const MAX_PENDING_LEAVES = 1_000_000;
/** A bundle claiming more events than this is refused as malformed rather than allocated for. */
const MAX_EVENTS = 50_000_000;

// Event states while verifying; MISSING (0) is what an unseen sequence number reads as.
const MISSING = 0;
const VALID = 1;
const MODIFIED = 2;
const REORDERED = 3;
const UNVERIFIED = 4;
const EVENT_STATUS: Record<number, EventRangeStatus> = { [MISSING]: 'missing', [VALID]: 'valid', [MODIFIED]: 'modified', [REORDERED]: 'reordered', [UNVERIFIED]: 'unverified' };

// ---------------------------------------------------------------------------
// Reading

/** One event, manifest, proof or CSV record is kilobytes; a "line" of gigabytes would only fill memory. */
const MAX_LINE_CHARS = 16 * 1024 * 1024;

function lineTooLong(path: string): EnclaveError {
  return new EnclaveError('invalid_input', `${path} has a line of more than ${MAX_LINE_CHARS.toLocaleString('en-US')} characters; it is not a file of an Enclave audit bundle.`);
}

/** Lines of a file, read in chunks (never the whole file at once); a CR before the LF is dropped. */
function* fileLines(path: string): Generator<string> {
  // A regular file only: a FIFO or /dev/zero named events.jsonl must not hang or flood the verifier.
  const fd = openRegularFileSync(path);
  try {
    const chunk = Buffer.alloc(1 << 20);
    const decoder = new StringDecoder('utf8');
    let rest = '';
    for (;;) {
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      rest += decoder.write(chunk.subarray(0, read));
      let start = 0;
      for (let end = rest.indexOf('\n', start); end !== -1; end = rest.indexOf('\n', start)) {
        yield rest.charCodeAt(end - 1) === 13 ? rest.slice(start, end - 1) : rest.slice(start, end);
        start = end + 1;
      }
      rest = rest.slice(start);
      if (rest.length > MAX_LINE_CHARS) throw lineTooLong(path);
    }
    rest += decoder.end();
    if (rest.length > 0) yield rest;
  } finally {
    closeSync(fd);
  }
}

/** RFC 4180 records of a CSV file, as their raw text without the line end (quoted line breaks stay inside). */
function* csvRecords(path: string): Generator<string> {
  // A regular file only: a FIFO or /dev/zero named events.jsonl must not hang or flood the verifier.
  const fd = openRegularFileSync(path);
  try {
    const chunk = Buffer.alloc(1 << 20);
    const decoder = new StringDecoder('utf8');
    let record = '';
    let quoted = false;
    let pendingCr = false;
    for (;;) {
      const read = readSync(fd, chunk, 0, chunk.length, null);
      const text = read === 0 ? decoder.end() : decoder.write(chunk.subarray(0, read));
      let start = 0;
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (pendingCr) {
          pendingCr = false;
          if (c === 10) {
            yield record;
            record = '';
            start = i + 1;
            continue;
          }
          record += '\r';
        }
        if (c === 34) quoted = !quoted;
        else if (!quoted && c === 13) {
          record += text.slice(start, i);
          start = i + 1;
          pendingCr = true;
        } else if (!quoted && c === 10) {
          record += text.slice(start, i);
          start = i + 1;
          yield record;
          record = '';
        }
      }
      record += text.slice(start);
      if (record.length > MAX_LINE_CHARS) throw lineTooLong(path);
      if (read === 0) break;
    }
    if (pendingCr) record += '\r';
    if (record.length > 0) yield record;
  } finally {
    closeSync(fd);
  }
}

/** Are an object's keys, at every level, in the UTF-16 code-unit order that JCS sorts by? */
function keysInCodeUnitOrder(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) return value.every(keysInCodeUnitOrder);
  const keys = Object.keys(value);
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! >= keys[i]!) return false;
  return Object.values(value).every(keysInCodeUnitOrder);
}

/**
 * Is `text` the canonical JSON (RFC 8785) of `value`, its parse? JCS output is
 * JSON.stringify's with keys sorted by code unit, so the usual case is checked
 * without re-serialising through canonicalize; anything else (integer-like
 * keys, which JS orders numerically) falls back to canonicalJson itself.
 */
function isCanonicalText(text: string, value: unknown): boolean {
  if (JSON.stringify(value) === text && keysInCodeUnitOrder(value)) return true;
  try {
    return canonicalJson(value) === text;
  } catch {
    return false;
  }
}

/** bundle.json and keys.json hold a header and a few public keys: kilobytes. */
const BUNDLE_JSON_MAX_BYTES = 16 * 1024 * 1024;

function readJsonFile(path: string): { ok: true; value: unknown } | { ok: false; why: string } {
  if (!existsSync(path)) return { ok: false, why: 'the file is missing' };
  let text: string;
  try {
    text = readLimitedFileSync(path, { maxBytes: BUNDLE_JSON_MAX_BYTES }).toString('utf8');
  } catch (error) {
    if (error instanceof UnreadableFileError) return { ok: false, why: `it ${error.problem}` };
    throw error;
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, why: `it is not valid JSON (${(error as Error).message})` };
  }
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message}` : 'schema mismatch';
}

function short(hash: string): string {
  return `${hash.slice(0, 16)}…`;
}

function span(first: number, last: number, noun: 'event' | 'batch'): string {
  return first === last ? `${noun} ${first}` : `${noun === 'batch' ? 'batches' : 'events'} ${first}–${last}`;
}

// ---------------------------------------------------------------------------
// Verifying

interface ManifestSlot {
  line: number;
  manifest: BatchManifest | null;
  /** Why the line is not a manifest. */
  error: string | null;
  /** The batch number the line claims, when it can be read at all. */
  claimedBatch: number | null;
}

interface KeyEntry {
  pem: string;
  spkiBase64: string;
}

interface RotationClaim {
  seq: number;
  oldKeyId: string;
  newKeyId: string;
  newPublicKey: string;
}

export interface VerifyBundleOptions {
  /** Key ids (hex SHA-256 of the SPKI) the verifier trusts: the ones IT registered for the workstation. */
  expectedKeyIds: readonly string[];
}

export function verifyAuditBundle(dir: string, options: VerifyBundleOptions): BundleVerifyReport {
  return new BundleVerifier(dir, options).run();
}

class BundleVerifier {
  readonly #dir: string;
  readonly #expected: Set<string>;
  readonly #trusted = new Set<string>();
  readonly #signers = new Set<string>();

  #faults: { key: number; order: number; fault: BundleFault }[] = [];
  #faultCount = 0;

  #header: BundleHeader | null = null;
  #keys = new Map<string, KeyEntry>();

  // Events: statuses of sequence numbers anchor+1 .. #lastSeq.
  #anchorSize = 0;
  #lastSeq = 0;
  #status = new Uint8Array(0);
  #eventsChecked = 0;

  // Manifests.
  #slots: ManifestSlot[] = [];
  #slotIndex = 0;
  #manifestByBatch = new Map<number, BatchManifest>();
  #boundarySeqs = new Set<number>();
  #boundaryTimes = new Map<number, string>();
  #batchStatus = new Map<number, BatchRangeStatus>();
  #batchesChecked = 0;
  /** The last manifest accepted in sequence (the anchor to begin with). */
  #previous: BatchManifest | null = null;
  #expectedBatch = 1;
  /** The highest tree size whose signed root, by a trusted key, was recomputed from the events. */
  #confirmedThrough = 0;
  /** The closing manifest's line (the last of manifests.jsonl), taken out of the covered ones. */
  #closing: ManifestSlot | null = null;
  /** The newest and the first covered event's time (from events that match their hash). */
  #newestEventTime: string | null = null;
  #firstEventTime: string | null = null;
  #provenRange: ProvenRange | null = null;

  // The Merkle tree recomputed from the anchor's frontier and the events' hashes.
  #tree = new MerkleProofBuilder(new MerkleFrontier());
  /** Recomputed roots by tree size (hex), for the proofs. */
  #roots = new Map<number, string>();
  /** The first batch whose signed root the recomputed tree missed: every later root misses too, so those are not checked. */
  #divergedAt: number | null = null;
  /** Proofs waiting for the tree to reach their size. */
  #proofQueue: { seq: number; line: number; proof: InclusionProofLine; manifest: BatchManifest }[] = [];
  #treeBroken = false;
  #pendingLeaves = new Map<number, Buffer>();
  #rotations: RotationClaim[] = [];
  /** The highest sequence number read so far. */
  #seenThrough = 0;
  /** Where a jump ahead left a gap: if a missing event turns up later, the one that jumped is out of place too. */
  #gaps: { from: number; to: number; jumper: number; line: number }[] = [];

  // Selection, proofs and CSV.
  #selected = new Set<string>();
  #selectionSeen = new Set<string>();
  #proofsChecked = 0;
  #proofBatchFaults = new Set<number>();

  constructor(dir: string, options: VerifyBundleOptions) {
    this.#dir = dir;
    this.#expected = new Set(options.expectedKeyIds.map((id) => id.toLowerCase()));
    for (const id of this.#expected) this.#trusted.add(id);
  }

  run(): BundleVerifyReport {
    if (this.#expected.size === 0) {
      this.#fault(-3, { problem: 'wrong_key', sequence: null, batchSeq: null, file: BUNDLE_FILES.manifests, line: null, detail: 'no expected key id was given: a bundle can only be verified against the key id IT registered for the workstation' });
    }
    try {
      if (this.#readHeader() && this.#readKeys() && this.#readManifests()) {
        this.#checkAnchor();
        this.#checkEvents();
      }
    } catch (error) {
      // A file that cannot be read (a folder in its place, an I/O error) is a fault of the bundle, not a crash of the verifier.
      this.#fault(-1, { problem: 'malformed', sequence: null, batchSeq: null, file: '(bundle)', line: null, detail: `the bundle could not be read: ${(error as Error).message}` });
    }
    return this.#report();
  }

  #path(file: string): string {
    return join(this.#dir, file);
  }

  /**
   * Records a fault. `key` orders faults by where they sit in the bundle: an
   * event's sequence number; a manifest's place just before the events it
   * seals (tree size before it + 0.5); whole-file problems first.
   */
  #fault(key: number, fault: BundleFault): void {
    this.#faultCount += 1;
    if (this.#faults.length < MAX_KEPT_FAULTS) this.#faults.push({ key, order: this.#faultCount, fault });
  }

  #readHeader(): boolean {
    const read = readJsonFile(this.#path(BUNDLE_FILES.header));
    if (!read.ok) {
      this.#fault(-2, { problem: 'malformed', sequence: null, batchSeq: null, file: BUNDLE_FILES.header, line: null, detail: `${BUNDLE_FILES.header} cannot be read: ${read.why}` });
      return false;
    }
    const parsed = BundleHeaderSchema.safeParse(read.value);
    if (!parsed.success) {
      this.#fault(-2, { problem: 'malformed', sequence: null, batchSeq: null, file: BUNDLE_FILES.header, line: null, detail: `${BUNDLE_FILES.header} is not an ${BUNDLE_FORMAT} header (${describeIssue(parsed.error)})` });
      return false;
    }
    const header = parsed.data;
    this.#header = header;
    this.#selected = new Set(header.selection.event_ids);
    if (this.#selected.size !== header.selection.event_ids.length || header.selection.count !== header.selection.event_ids.length) {
      this.#fault(-2, {
        problem: 'selection_mismatch',
        sequence: null,
        batchSeq: null,
        file: BUNDLE_FILES.header,
        line: null,
        detail: `the selection says ${header.selection.count} events but lists ${header.selection.event_ids.length} ids (${this.#selected.size} distinct)`,
      });
    }
    return true;
  }

  #readKeys(): boolean {
    const read = readJsonFile(this.#path(BUNDLE_FILES.keys));
    if (!read.ok) {
      this.#fault(-2, { problem: 'malformed', sequence: null, batchSeq: null, file: BUNDLE_FILES.keys, line: null, detail: `${BUNDLE_FILES.keys} cannot be read: ${read.why}` });
      return false;
    }
    const parsed = BundleKeysSchema.safeParse(read.value);
    if (!parsed.success) {
      this.#fault(-2, { problem: 'malformed', sequence: null, batchSeq: null, file: BUNDLE_FILES.keys, line: null, detail: `${BUNDLE_FILES.keys} is not an ${BUNDLE_KEYS_FORMAT} key list (${describeIssue(parsed.error)})` });
      return false;
    }
    for (const key of parsed.data.keys) {
      let spki: Buffer;
      try {
        spki = createPublicKey(key.public_key_pem).export({ type: 'spki', format: 'der' });
      } catch {
        this.#fault(-2, { problem: 'malformed', sequence: null, batchSeq: null, file: BUNDLE_FILES.keys, line: null, detail: `the public key listed for key id ${key.key_id} is not a PEM public key` });
        continue;
      }
      // A key id is the hash of its key: a list that pairs an id with another key is lying.
      const actual = keyIdOfSpki(spki);
      if (actual !== key.key_id) {
        this.#fault(-2, { problem: 'wrong_key', sequence: null, batchSeq: null, file: BUNDLE_FILES.keys, line: null, detail: `the public key listed for key id ${key.key_id} has key id ${actual}` });
        continue;
      }
      this.#keys.set(key.key_id, { pem: key.public_key_pem, spkiBase64: spki.toString('base64') });
    }
    return true;
  }

  #readManifests(): boolean {
    const path = this.#path(BUNDLE_FILES.manifests);
    if (!existsSync(path)) {
      this.#fault(-2, { problem: 'missing', sequence: null, batchSeq: null, file: BUNDLE_FILES.manifests, line: null, detail: `${BUNDLE_FILES.manifests} is missing` });
      return false;
    }
    let line = 0;
    for (const text of fileLines(path)) {
      line += 1;
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        this.#slots.push({ line, manifest: null, error: 'the line is not valid JSON', claimedBatch: null });
        continue;
      }
      const claimed = (json as { batch_seq?: unknown } | null)?.batch_seq;
      const claimedBatch = typeof claimed === 'number' && Number.isSafeInteger(claimed) && claimed > 0 ? claimed : null;
      const parsed = BatchManifestSchema.safeParse(json);
      if (!parsed.success) {
        this.#slots.push({ line, manifest: null, error: `the line is not a batch manifest (${describeIssue(parsed.error)})`, claimedBatch });
        continue;
      }
      this.#slots.push({ line, manifest: parsed.data, error: null, claimedBatch });
    }
    return true;
  }

  #checkAnchor(): void {
    const header = this.#header!;
    const frontier = MerkleFrontier.fromJSON(header.anchor.frontier);
    this.#tree = new MerkleProofBuilder(frontier);
    this.#anchorSize = frontier.size;
    this.#seenThrough = frontier.size;
    const anchorKey = frontier.size + 0.1;

    if (header.anchor.batch_seq === null) {
      this.#expectedBatch = 1;
      if (frontier.size !== 0) {
        this.#fault(anchorKey, { problem: 'malformed', sequence: null, batchSeq: null, file: BUNDLE_FILES.header, line: null, detail: `bundle.json names no anchor manifest but a Merkle frontier of ${frontier.size} events` });
        this.#treeBroken = true;
      }
    } else {
      const anchorBatch = header.anchor.batch_seq;
      this.#expectedBatch = anchorBatch + 1;
      this.#batchStatus.set(anchorBatch, 'valid');
      const first = this.#slots[0];
      if (!first || first.manifest?.batch_seq !== anchorBatch) {
        this.#batchStatus.set(anchorBatch, 'missing');
        this.#fault(anchorKey, {
          problem: 'missing',
          sequence: null,
          batchSeq: anchorBatch,
          file: BUNDLE_FILES.manifests,
          line: 1,
          detail: `line 1 should be the anchor manifest of batch ${anchorBatch} (bundle.json), but ${first ? (first.manifest ? `holds batch ${first.manifest.batch_seq}` : first.error!) : 'the file is empty'}`,
        });
      } else {
        this.#slots.shift();
        const anchor = first.manifest;
        this.#batchesChecked += 1;
        const status = this.#checkSignature(anchor, first.line, anchorKey);
        if (anchor.tree_size !== frontier.size || anchor.root !== frontier.root().toString('hex')) {
          this.#fault(anchorKey, {
            problem: 'root_mismatch',
            sequence: null,
            batchSeq: anchorBatch,
            file: BUNDLE_FILES.header,
            line: null,
            detail: `the Merkle frontier in bundle.json (${frontier.size} events) does not have the anchor manifest's signed root (batch ${anchorBatch}, ${anchor.tree_size} events)`,
          });
          this.#batchStatus.set(anchorBatch, status === 'valid' ? 'root_mismatch' : status);
          this.#treeBroken = true;
        } else {
          this.#batchStatus.set(anchorBatch, status);
        }
        this.#checkHost(anchor, first.line, anchorKey);
        this.#checkAnchorOutsideRange(anchor, first.line, anchorKey);
        this.#previous = anchor;
      }
    }

    this.#takeClosing();

    // Where each covered batch begins and ends, to compare its oldest/newest with its events.
    let lastSeq = header.coverage?.last_seq ?? 0;
    for (const slot of this.#slots) {
      const m = slot.manifest;
      if (!m) continue;
      if (!this.#manifestByBatch.has(m.batch_seq)) this.#manifestByBatch.set(m.batch_seq, m);
      if (m.first_seq !== null) this.#boundarySeqs.add(m.first_seq);
      if (m.last_seq !== null) this.#boundarySeqs.add(m.last_seq);
      lastSeq = Math.max(lastSeq, m.tree_size);
    }
    if (lastSeq - this.#anchorSize > MAX_EVENTS) {
      this.#fault(-1, { problem: 'malformed', sequence: null, batchSeq: null, file: BUNDLE_FILES.manifests, line: null, detail: `the bundle claims ${lastSeq - this.#anchorSize} events, more than a verifier accepts` });
      lastSeq = this.#anchorSize;
    }
    this.#lastSeq = Math.max(lastSeq, this.#anchorSize);
    this.#status = new Uint8Array(this.#lastSeq - this.#anchorSize);
  }

  /**
   * The closing manifest is the last line of manifests.jsonl, the batch that
   * bundle.json names as closing_batch_seq. It is set aside here: its events
   * are not in the bundle, and it is checked once the covered batches are.
   */
  #takeClosing(): void {
    const closingSeq = this.#header!.closing_batch_seq;
    const last = this.#slots.at(-1);
    if (closingSeq === null || closingSeq === undefined || !last) return;
    if ((last.manifest?.batch_seq ?? last.claimedBatch) !== closingSeq) return;
    this.#closing = this.#slots.pop()!;
  }

  /**
   * The export starts the coverage at the first batch with an event (or a
   * heartbeat) in the time range, so the anchor lies wholly before it: its
   * first and last events (or its heartbeat time) are before `from`. Otherwise
   * batches were cut off the front and their events are missing from the
   * selection. Only a range clipped by local pruning (which bundle.json says,
   * and the report shows) starts later.
   */
  #checkAnchorOutsideRange(anchor: BatchManifest, line: number, key: number): void {
    const { filter, coverage } = this.#header!;
    if (coverage?.pruned_through_seq) return;
    const problem = anchorProblem(anchor, filter);
    if (problem) {
      this.#fault(key, {
        problem: 'selection_mismatch',
        sequence: null,
        batchSeq: anchor.batch_seq,
        file: BUNDLE_FILES.manifests,
        line,
        detail: `the bundle does not prove its range is complete from its start: the anchor, batch ${anchor.batch_seq}, does not lie wholly before the range (${problem}), so the coverage should have begun with it: batches were cut off the front and events inside the filter's time range may be left out`,
      });
    }
  }

  /** Is the signer known, the signature good, and the signer trusted? */
  #checkSignature(m: BatchManifest, line: number, key: number): BatchRangeStatus {
    const problem = this.#signatureProblem(m);
    if (!problem) return 'valid';
    this.#fault(key, { problem: problem.problem, sequence: null, batchSeq: m.batch_seq, file: BUNDLE_FILES.manifests, line, detail: problem.detail });
    return problem.problem;
  }

  /** What is wrong with a manifest's signature, or null (and its signer noted) when a trusted key made it. */
  #signatureProblem(m: BatchManifest): { problem: 'wrong_key' | 'bad_signature'; detail: string } | null {
    const entry = this.#keys.get(m.key_id);
    if (!entry) return { problem: 'wrong_key', detail: `batch ${m.batch_seq} is signed by key ${m.key_id}, which keys.json does not hold` };
    if (!verifyManifestSignature(m, entry.pem)) return { problem: 'bad_signature', detail: `the signature of batch ${m.batch_seq} does not verify with key ${short(m.key_id)}: the manifest was altered` };
    if (!this.#trusted.has(m.key_id)) {
      return {
        problem: 'wrong_key',
        detail: `batch ${m.batch_seq} is signed by key ${m.key_id}, which is not an expected key id (${[...this.#expected].map(short).join(', ')}) and was not introduced by an audit.key_rotate event in a batch signed by a trusted key. Check the key id registered for this workstation (enclave enroll show on it, or IT's records).`,
      };
    }
    this.#signers.add(m.key_id);
    return null;
  }

  #checkHost(m: BatchManifest, line: number, key: number): void {
    const host = this.#header!.host;
    if (m.origin.host_id !== host.id) {
      this.#fault(key, { problem: 'wrong_host', sequence: null, batchSeq: m.batch_seq, file: BUNDLE_FILES.manifests, line, detail: `batch ${m.batch_seq} was sealed on host ${m.origin.host_id}, not on the bundle's host ${host.id}` });
    }
  }

  #checkEvents(): void {
    const header = this.#header!;
    const eventsPath = this.#path(BUNDLE_FILES.events);
    const proofs = this.#proofReader();
    const csv = this.#csvReader();
    this.#closeReady(false);
    if (!existsSync(eventsPath)) {
      this.#fault(-1, { problem: 'missing', sequence: null, batchSeq: null, file: BUNDLE_FILES.events, line: null, detail: `${BUNDLE_FILES.events} is missing` });
    } else {
      let expected = this.#anchorSize + 1;
      let previousLine: { seq: number; hash: string } | null = null;
      const anchorNodes = header.anchor.frontier.nodes;
      // The hash of the anchor's last event is on its frontier only when that event is a subtree of its own.
      const anchorLastLeaf = anchorNodes.length > 0 && anchorNodes.at(-1)![0] === 1 ? anchorNodes.at(-1)![1] : null;
      let line = 0;
      for (const text of fileLines(eventsPath)) {
        line += 1;
        this.#eventsChecked += 1;
        const position = expected;
        const outcome = this.#checkEventLine(text, line, position, previousLine, anchorLastLeaf, proofs, csv);
        if (outcome) {
          previousLine = outcome;
          expected = Math.max(expected, outcome.seq + 1);
          this.#seenThrough = Math.max(this.#seenThrough, outcome.seq);
          this.#addLeaf(outcome.seq, Buffer.from(outcome.hash, 'hex'));
        } else {
          previousLine = null;
          if (this.#statusOf(position) === MISSING) {
            // Unreadable: its leaf is unknown, so no root after it can be recomputed.
            this.#setStatus(position, MODIFIED);
            this.#treeBroken = true;
            expected = position + 1;
            this.#seenThrough = Math.max(this.#seenThrough, position);
          }
        }
        this.#closeReady(false);
      }
    }
    this.#closeReady(true);
    this.#drainProofs(true);
    proofs.finish();
    csv.finish();
    this.#finishEvents();
  }

  /**
   * Checks one line of events.jsonl, expected to hold event `position`.
   * Returns the sequence number it stands for and the hash it puts in the
   * tree, or null when it is unreadable, a duplicate or outside the bundle.
   */
  #checkEventLine(
    text: string,
    line: number,
    position: number,
    previousLine: { seq: number; hash: string } | null,
    anchorLastLeaf: string | null,
    proofs: ProofReader,
    csv: CsvReader,
  ): { seq: number; hash: string } | null {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      this.#eventFault(position, 'modified', line, 'the line is not valid JSON (cut short or overwritten)');
      return null;
    }
    const parsed = AuditRecordSchema.safeParse(raw);
    if (!parsed.success) {
      this.#eventFault(position, 'modified', line, `the event does not match the event schema (${describeIssue(parsed.error)})`);
      return null;
    }
    const record = parsed.data;
    const claimedHash = record.event.hash;

    let recomputed: string | null;
    try {
      recomputed = hashRecord(record);
    } catch {
      // canonicalize refuses what JCS cannot represent (a lone surrogate): no hash can match.
      recomputed = null;
    }
    if (recomputed !== claimedHash) {
      // Its content changed, so its own sequence number is not to be trusted:
      // it stands where it sits, and the tree gets the hash it claims (what
      // the chain and the manifests committed to), so the damage stays local.
      const says = record.event.sequence !== position ? ` (it calls itself event ${record.event.sequence})` : '';
      this.#eventFault(position, 'modified', line, `the event does not match its hash${says}`);
      this.#setStatus(position, MODIFIED);
      if (this.#selected.has(record.event.id)) {
        // Step past its proof and CSV row; the fault above says it all.
        this.#selectionSeen.add(record.event.id);
        proofs.skip(position);
        csv.skip();
      }
      return { seq: position, hash: claimedHash };
    }

    const seq = record.event.sequence;
    if (seq <= this.#anchorSize || seq > this.#lastSeq) {
      this.#eventFault(position, 'modified', line, `line ${line} holds event ${seq}, which is outside the covered events ${this.#anchorSize + 1}–${this.#lastSeq}`);
      return null;
    }
    if (seq > position) {
      // Missing events are reported at the end, unless they turn up later (then they are out of order).
      this.#gaps.push({ from: position, to: seq - 1, jumper: seq, line });
    } else if (seq < position) {
      if (this.#statusOf(seq) !== MISSING) {
        this.#eventFault(seq, 'reordered', line, `event ${seq} appears a second time, at line ${line}`);
        return null;
      }
      this.#eventFault(seq, 'reordered', line, `event ${seq} is out of order: it is at line ${line}, after event ${position - 1}`);
      this.#setStatus(seq, REORDERED);
      const gap = this.#gaps.find((g) => g.from <= seq && seq <= g.to);
      if (gap) this.#setStatus(gap.jumper, REORDERED);
    }
    if (this.#statusOf(seq) === MISSING) this.#setStatus(seq, VALID);

    if (!isCanonicalText(text, raw)) {
      this.#eventFault(seq, 'modified', line, 'the line is not the canonical JSON of the event (it was re-serialised or edited)');
      this.#setStatus(seq, MODIFIED);
    }
    if (previousLine !== null && previousLine.seq === seq - 1 && record.prev !== previousLine.hash) {
      this.#eventFault(seq, 'modified', line, `the event does not follow event ${seq - 1} (its prev is not that event's hash): one of the two was altered and re-hashed`);
      this.#setStatus(seq, MODIFIED);
    } else if (previousLine === null && seq === this.#anchorSize + 1 && anchorLastLeaf !== null && record.prev !== anchorLastLeaf) {
      this.#eventFault(seq, 'modified', line, `the event does not follow event ${seq - 1}, the last event of the anchor batch`);
      this.#setStatus(seq, MODIFIED);
    }
    if (record.event.action === 'audit.key_rotate') this.#noteRotation(seq, record);
    if (this.#boundarySeqs.has(seq)) this.#boundaryTimes.set(seq, record['@timestamp']);
    const time = record['@timestamp'];
    if (this.#newestEventTime === null || Date.parse(time) > Date.parse(this.#newestEventTime)) this.#newestEventTime = time;
    if (seq === this.#anchorSize + 1) this.#firstEventTime = time;
    this.#checkSelection(seq, line, record, proofs, csv);
    return { seq, hash: claimedHash };
  }

  #statusOf(seq: number): number {
    const i = seq - this.#anchorSize - 1;
    return i >= 0 && i < this.#status.length ? this.#status[i]! : -1;
  }

  #setStatus(seq: number, status: number): void {
    const i = seq - this.#anchorSize - 1;
    if (i >= 0 && i < this.#status.length) this.#status[i] = status;
  }

  #eventFault(seq: number, problem: BundleProblem, line: number, detail: string): void {
    this.#fault(seq, { problem, sequence: seq, batchSeq: null, file: BUNDLE_FILES.events, line, detail });
  }

  /** Appends a leaf in sequence order; an early one waits for the gap before it. */
  #addLeaf(seq: number, leaf: Buffer): void {
    if (this.#treeBroken) return;
    if (seq !== this.#tree.size + 1) {
      if (seq > this.#tree.size + 1 && !this.#pendingLeaves.has(seq)) {
        if (this.#pendingLeaves.size >= MAX_PENDING_LEAVES) this.#treeBroken = true;
        else this.#pendingLeaves.set(seq, leaf);
      }
      return;
    }
    this.#tree.append(leaf);
    this.#closeReady(false);
    for (let next = this.#pendingLeaves.get(this.#tree.size + 1); next; next = this.#pendingLeaves.get(this.#tree.size + 1)) {
      this.#pendingLeaves.delete(this.#tree.size + 1);
      this.#tree.append(next);
      this.#closeReady(false);
    }
    this.#drainProofs(false);
  }

  /** The recomputed root of the first `treeSize` events, or null when the tree cannot give it. */
  #rootAt(treeSize: number): string | null {
    if (this.#treeBroken || treeSize < this.#tree.start || treeSize > this.#tree.size) return null;
    let root = this.#roots.get(treeSize);
    if (root === undefined) {
      root = this.#tree.root(treeSize).toString('hex');
      this.#roots.set(treeSize, root);
    }
    return root;
  }

  /**
   * Checks queued proofs whose tree the events have reached. Where the
   * recomputed tree has the signed root, a proof is valid exactly when it is
   * that tree's audit path for the leaf (RFC 6962 paths are unique), which
   * costs no hashing; elsewhere (a broken tree, a root mismatch) it is
   * verified on its own with verifyInclusion.
   */
  #drainProofs(atEnd: boolean): void {
    while (this.#proofQueue.length > 0) {
      const { seq, line, proof, manifest } = this.#proofQueue[0]!;
      const root = this.#rootAt(proof.tree_size);
      if (root === null && !atEnd && !this.#treeBroken) return;
      this.#proofQueue.shift();
      let valid: boolean;
      if (root === manifest.root && this.#tree.leaf(seq - 1).toString('hex') === proof.leaf_hash) {
        const path = this.#tree.inclusionProof(seq - 1, proof.tree_size);
        valid = path.length === proof.path.length && path.every((hash, i) => hash.toString('hex') === proof.path[i]);
      } else {
        valid = verifyInclusion(seq - 1, proof.tree_size, Buffer.from(proof.leaf_hash, 'hex'), proof.path.map((h) => Buffer.from(h, 'hex')), Buffer.from(manifest.root, 'hex'));
      }
      if (!valid) this.#proofFault(seq, line, proof.batch_seq, `it does not lead to the root signed in batch ${proof.batch_seq}`);
    }
  }

  #proofFault(seq: number, line: number, batchSeq: number, why: string): void {
    this.#proofBatchFaults.add(batchSeq);
    this.#fault(seq + 0.3, { problem: 'proof_invalid', sequence: seq, batchSeq, file: BUNDLE_FILES.proofs, line, detail: `the inclusion proof of event ${seq} is invalid: ${why}` });
  }

  #noteRotation(seq: number, record: AuditRecord): void {
    const detail = record.enclave.detail ?? {};
    const { old_key_id: oldKeyId, new_key_id: newKeyId, new_public_key: newPublicKey } = detail;
    if (typeof oldKeyId === 'string' && typeof newKeyId === 'string' && typeof newPublicKey === 'string') {
      this.#rotations.push({ seq, oldKeyId, newKeyId, newPublicKey });
    }
  }

  /** Closes, in order, every manifest whose events have all been seen (all of them at the end). */
  #closeReady(atEnd: boolean): void {
    while (this.#slotIndex < this.#slots.length) {
      const slot = this.#slots[this.#slotIndex]!;
      const previousSize = this.#previous?.tree_size ?? this.#anchorSize;
      const key = previousSize + 0.5;
      if (!slot.manifest) {
        if (slot.claimedBatch !== null) this.#batchStatus.set(slot.claimedBatch, 'malformed');
        this.#fault(key, { problem: 'malformed', sequence: null, batchSeq: slot.claimedBatch, file: BUNDLE_FILES.manifests, line: slot.line, detail: slot.error! });
        this.#slotIndex += 1;
        continue;
      }
      const m = slot.manifest;
      if (m.batch_seq < this.#expectedBatch) {
        const known = this.#batchStatus.get(m.batch_seq);
        if (known === 'missing') {
          this.#batchStatus.set(m.batch_seq, 'reordered');
          this.#fault(Math.max(0, m.tree_size - m.event_count) + 0.5, { problem: 'reordered', sequence: null, batchSeq: m.batch_seq, file: BUNDLE_FILES.manifests, line: slot.line, detail: `batch ${m.batch_seq} is out of order: it is at line ${slot.line}, after batch ${this.#expectedBatch - 1}` });
        } else {
          this.#fault(key, { problem: 'reordered', sequence: null, batchSeq: m.batch_seq, file: BUNDLE_FILES.manifests, line: slot.line, detail: `batch ${m.batch_seq} appears a second time` });
        }
        this.#slotIndex += 1;
        continue;
      }
      if (m.batch_seq > this.#expectedBatch && this.#isStray(m, slot.line)) {
        this.#slotIndex += 1;
        continue;
      }
      // Wait for its events: for the tree to reach its size, or (once the tree is broken) for the file to pass it.
      if (!atEnd && (this.#treeBroken ? this.#seenThrough < m.tree_size : this.#tree.size < m.tree_size)) return;
      this.#closeManifest(m, slot.line, key);
      this.#slotIndex += 1;
    }
  }

  /**
   * A manifest ahead of its place is a stray when the next line carries on
   * where the sequence is: it replaced the batch expected here (which is then
   * missing), or was moved or copied in. Only its signature is checked.
   * Otherwise the batches before it are missing (a dropped manifest).
   */
  #isStray(m: BatchManifest, line: number): boolean {
    const next = this.#slots.slice(this.#slotIndex + 1).find((slot) => slot.manifest !== null)?.manifest;
    const expected = this.#expectedBatch;
    if (!next || (next.batch_seq !== expected && next.batch_seq !== expected + 1)) return false;
    const key = (this.#previous?.tree_size ?? this.#anchorSize) + 0.5;
    this.#checkSignature(m, line, key);
    if (this.#batchStatus.get(m.batch_seq) === undefined) this.#batchStatus.set(m.batch_seq, 'reordered');
    if (next.batch_seq === expected) {
      this.#fault(key, { problem: 'reordered', sequence: null, batchSeq: m.batch_seq, file: BUNDLE_FILES.manifests, line, detail: `batch ${m.batch_seq} is out of place: line ${line} holds it before batch ${expected}` });
    } else {
      this.#batchStatus.set(expected, 'missing');
      this.#fault(key, { problem: 'missing', sequence: null, batchSeq: expected, file: BUNDLE_FILES.manifests, line, detail: `line ${line} holds batch ${m.batch_seq} where batch ${expected} belongs: the manifest of batch ${expected} is missing` });
      this.#expectedBatch = expected + 1;
    }
    return true;
  }

  #closeManifest(m: BatchManifest, line: number, key: number): void {
    this.#batchesChecked += 1;
    const previous = this.#previous;
    const previousSize = previous?.tree_size ?? this.#anchorSize;
    const problems: BatchRangeStatus[] = [];
    const fault = (problem: BundleProblem & BatchRangeStatus, detail: string) => {
      problems.push(problem);
      this.#fault(key, { problem, sequence: null, batchSeq: m.batch_seq, file: BUNDLE_FILES.manifests, line, detail });
    };

    // Chained to the manifest just before it, or after a gap (whose batches were dropped, or seen out of place).
    const contiguous = previous !== null ? previous.batch_seq === m.batch_seq - 1 : m.batch_seq === this.#expectedBatch;
    const gap: number[] = [];
    for (let b = this.#expectedBatch; b < m.batch_seq; b++) if (this.#batchStatus.get(b) !== 'reordered') gap.push(b);
    if (gap.length > 0) {
      for (const b of gap) this.#batchStatus.set(b, 'missing');
      this.#fault(key, {
        problem: 'missing',
        sequence: null,
        batchSeq: gap[0]!,
        file: BUNDLE_FILES.manifests,
        line,
        detail: `line ${line} holds batch ${m.batch_seq} where batch ${gap[0]} belongs: the manifest${gap.length > 1 ? 's' : ''} of ${gap.length > 1 ? `batches ${gap.join(', ')} are` : `batch ${gap[0]} is`} missing`,
      });
    }

    const signature = this.#checkSignature(m, line, key);
    if (signature !== 'valid') problems.push(signature);
    this.#checkHost(m, line, key);

    // The chain: to the manifest before, or a stated start.
    if (contiguous && previous) {
      if (m.prev_manifest_hash !== null) {
        if (m.prev_manifest_hash !== manifestHash(previous) || m.prev_signature !== previous.signature) {
          fault('broken_chain', `batch ${m.batch_seq} does not chain to batch ${previous.batch_seq}: its prev_manifest_hash / prev_signature name another manifest`);
        }
      } else if (m.start?.reason === 'key_rotation') {
        if (m.start.previous_key_id !== previous.key_id || m.key_id === previous.key_id) {
          fault('broken_chain', `batch ${m.batch_seq} claims a key rotation from key ${short(m.start.previous_key_id ?? '(none)')}, but batch ${previous.batch_seq} is signed by key ${short(previous.key_id)}`);
        } else if (previous.first_seq !== null && previous.batch_seq !== this.#header!.anchor.batch_seq) {
          const announced = this.#rotations.some((r) => r.seq >= previous.first_seq! && r.seq <= previous.last_seq! && r.oldKeyId === previous.key_id && r.newKeyId === m.key_id);
          if (!announced) fault('broken_chain', `batch ${m.batch_seq} starts a new chain with key ${short(m.key_id)}, but batch ${previous.batch_seq} holds no audit.key_rotate event naming it`);
        }
      } else {
        fault('broken_chain', `batch ${m.batch_seq} claims to start the chain (${m.start?.reason ?? 'no reason'}) after batch ${previous.batch_seq}`);
      }
    } else if (!previous && this.#header!.anchor.batch_seq === null && m.batch_seq === this.#expectedBatch) {
      if (m.batch_seq !== 1 || m.start?.reason !== 'enrolment') fault('broken_chain', `the first manifest is batch ${m.batch_seq}, not the enrolment manifest (batch 1, start reason enrolment), and bundle.json names no anchor`);
    }

    // Its place in the sequence and its own summary of its events.
    if (m.kind === 'heartbeat') {
      if (m.tree_size !== previousSize && contiguous) fault('events_mismatch', `heartbeat batch ${m.batch_seq} says the tree has ${m.tree_size} events, but batch ${previous?.batch_seq ?? '(anchor)'} left it at ${previousSize}`);
    } else {
      if (contiguous && m.first_seq !== previousSize + 1) fault('events_mismatch', `batch ${m.batch_seq} starts at event ${m.first_seq}, but the batch before it ends at event ${previousSize}`);
      const oldest = this.#boundaryTimes.get(m.first_seq!);
      const newest = this.#boundaryTimes.get(m.last_seq!);
      if ((oldest !== undefined && oldest !== m.oldest) || (newest !== undefined && newest !== m.newest)) {
        fault('events_mismatch', `batch ${m.batch_seq} gives its events' times as ${m.oldest} – ${m.newest}, but events ${m.first_seq} and ${m.last_seq} say ${oldest ?? '?'} – ${newest ?? '?'}`);
      }
    }

    // The signed root, recomputed from the anchor's frontier and the events.
    let rootChecked = false;
    const recomputed = this.#tree.size === m.tree_size && this.#divergedAt === null ? this.#rootAt(m.tree_size) : null;
    if (recomputed !== null) {
      rootChecked = true;
      if (recomputed !== m.root) {
        this.#divergedAt = m.batch_seq;
        problems.push('root_mismatch');
        // After its events in the report, so that a broken link between two of them is named first.
        this.#fault(m.tree_size + 0.6, {
          problem: 'root_mismatch',
          sequence: null,
          batchSeq: m.batch_seq,
          file: BUNDLE_FILES.manifests,
          line,
          detail: `the events up to ${m.tree_size} do not hash to the root signed in batch ${m.batch_seq}: ${m.event_count > 0 ? `one of ${span(m.first_seq!, m.last_seq!, 'event')}` : 'an event before it'} was altered and re-hashed, added or removed (later batches' roots cannot be checked)`,
        });
      }
    } else if (!this.#treeBroken && this.#tree.size > m.tree_size) {
      fault('root_mismatch', `batch ${m.batch_seq} signs a tree of ${m.tree_size} events, but the events before it already number ${this.#tree.size}`);
    }

    const status = problems[0] ?? (rootChecked ? 'valid' : 'unverified');
    this.#batchStatus.set(m.batch_seq, status);
    if (status === 'valid') {
      this.#confirmedThrough = Math.max(this.#confirmedThrough, m.tree_size);
      this.#trustRotations(m);
    }
    if (m.batch_seq >= this.#expectedBatch) {
      this.#previous = m;
      this.#expectedBatch = m.batch_seq + 1;
    }
  }

  /**
   * The end of the range: the signed manifest right after the covered batches
   * (after the anchor when nothing is covered), chained to the last of them,
   * whose batch holds nothing inside the time range. Without it, trailing
   * batches could be dropped with their events, bundle.json edited to match,
   * and what is left would still verify.
   */
  #checkClosing(): void {
    const header = this.#header!;
    const previous = this.#previous;
    const previousSize = previous?.tree_size ?? this.#anchorSize;
    const key = previousSize + 0.7;
    const after = this.#newestEventTime ?? (header.filter.from !== undefined ? new Date(header.filter.from).toISOString() : null);
    const lead = `the bundle does not prove its range is complete after ${after ?? 'its start'}`;
    const expectedBatch = previous ? previous.batch_seq + 1 : (header.anchor.batch_seq ?? 0) + 1;
    const problems: BatchRangeStatus[] = [];
    const fail = (problem: BundleProblem, batchStatus: BatchRangeStatus, batchSeq: number, line: number | null, why: string) => {
      problems.push(batchStatus);
      this.#fault(key, { problem, sequence: null, batchSeq, file: BUNDLE_FILES.manifests, line, detail: `${lead}: ${why}` });
    };
    /** The closing batch's status in the report, unless a covered batch of that number already has one. */
    const settle = (batchSeq: number, status: BatchRangeStatus = problems[0] ?? 'valid') => {
      const known = this.#batchStatus.get(batchSeq);
      if (known === undefined || known === 'valid') this.#batchStatus.set(batchSeq, status);
    };

    const named = header.closing_batch_seq ?? null;
    if (named === null) {
      const old = header.format !== BUNDLE_FORMAT ? ` (an ${header.format} bundle has none; export it again)` : '';
      fail('missing', 'missing', expectedBatch, null, `the signed batch that follows the range is missing: bundle.json names no closing batch${old}`);
      return settle(expectedBatch);
    }
    const slot = this.#closing;
    if (!slot) {
      fail('missing', 'missing', named, null, `the signed batch that follows the range is missing: bundle.json names batch ${named}, but ${BUNDLE_FILES.manifests} does not end with its manifest`);
      return settle(named);
    }
    this.#batchesChecked += 1;
    if (!slot.manifest) {
      fail('malformed', 'malformed', named, slot.line, `the manifest of batch ${named}, which follows the range, cannot be read: ${slot.error}`);
      return settle(named);
    }
    const m = slot.manifest;
    const line = slot.line;
    if (m.batch_seq !== expectedBatch) {
      fail('missing', 'missing', expectedBatch, line, `the signed batch that follows the range is missing: ${BUNDLE_FILES.manifests} closes with batch ${m.batch_seq}, but the batch after ${previous ? `batch ${previous.batch_seq}` : 'the start'} is batch ${expectedBatch}`);
      settle(expectedBatch, 'missing');
      // The manifest in its place is out of place, whatever its signature says.
      return settle(m.batch_seq, this.#signatureProblem(m)?.problem ?? 'reordered');
    }

    const signature = this.#signatureProblem(m);
    if (signature) fail(signature.problem, signature.problem, m.batch_seq, line, signature.detail);
    this.#checkHost(m, line, key);

    // Chained to the last covered manifest (or the anchor), or a key rotation that batch announced.
    if (previous) {
      if (m.prev_manifest_hash !== null) {
        if (m.prev_manifest_hash !== manifestHash(previous) || m.prev_signature !== previous.signature) {
          fail('broken_chain', 'broken_chain', m.batch_seq, line, `batch ${m.batch_seq}, which follows the range, does not chain to batch ${previous.batch_seq}: its prev_manifest_hash / prev_signature name another manifest`);
        }
      } else if (m.start?.reason === 'key_rotation') {
        if (m.start.previous_key_id !== previous.key_id || m.key_id === previous.key_id) {
          fail('broken_chain', 'broken_chain', m.batch_seq, line, `batch ${m.batch_seq}, which follows the range, claims a key rotation from key ${short(m.start.previous_key_id ?? '(none)')}, but batch ${previous.batch_seq} is signed by key ${short(previous.key_id)}`);
        } else if (previous.first_seq !== null && previous.batch_seq !== header.anchor.batch_seq) {
          const announced = this.#rotations.some((r) => r.seq >= previous.first_seq! && r.seq <= previous.last_seq! && r.oldKeyId === previous.key_id && r.newKeyId === m.key_id);
          if (!announced) fail('broken_chain', 'broken_chain', m.batch_seq, line, `batch ${m.batch_seq}, which follows the range, starts a new chain with key ${short(m.key_id)}, but batch ${previous.batch_seq} holds no audit.key_rotate event naming it`);
        }
      } else {
        fail('broken_chain', 'broken_chain', m.batch_seq, line, `batch ${m.batch_seq}, which follows the range, claims to start the chain (${m.start?.reason ?? 'no reason'}) after batch ${previous.batch_seq}`);
      }
    } else if (header.anchor.batch_seq === null && m.start?.reason !== 'enrolment') {
      fail('broken_chain', 'broken_chain', m.batch_seq, line, `batch ${m.batch_seq} is the first manifest and follows nothing, but it is not the enrolment manifest`);
    }

    // It continues the tree where the covered batches left it.
    if (m.kind === 'heartbeat') {
      if (m.tree_size !== previousSize || (previous && previous.tree_size === m.tree_size && previous.root !== m.root)) {
        fail('events_mismatch', 'events_mismatch', m.batch_seq, line, `heartbeat batch ${m.batch_seq}, which follows the range, signs a tree of ${m.tree_size} events (root ${short(m.root)}), not the ${previousSize} events the covered batches end with`);
      }
    } else if (m.first_seq !== previousSize + 1) {
      fail('events_mismatch', 'events_mismatch', m.batch_seq, line, `batch ${m.batch_seq}, which follows the range, starts at event ${m.first_seq}, but the covered events end at event ${previousSize}`);
    }

    // And it holds nothing inside the range.
    const inside = closingProblem(m, header.filter, this.#newestEventTime);
    if (inside) fail('selection_mismatch', 'inside_range', m.batch_seq, line, `batch ${m.batch_seq}, the signed batch that follows the range, cannot close it: ${inside}. Batches were cut off the end, and events in the range may be left out`);

    if (problems.length === 0) {
      const clipped = header.coverage?.pruned_through_seq ? (this.#firstEventTime ?? previous?.newest ?? previous?.created ?? null) : null;
      const from = clipped !== null && header.filter.from !== undefined && Date.parse(clipped) < header.filter.from ? null : clipped;
      this.#provenRange = provenRangeOf(header.filter, m, from);
    }
    settle(m.batch_seq);
  }

  /** A batch signed by a trusted key, whose events are proven, vouches for the key its audit.key_rotate event names. */
  #trustRotations(m: BatchManifest): void {
    if (m.first_seq === null) return;
    for (const rotation of this.#rotations) {
      if (rotation.seq < m.first_seq || rotation.seq > m.last_seq! || rotation.oldKeyId !== m.key_id || this.#trusted.has(rotation.newKeyId)) continue;
      const listed = this.#keys.get(rotation.newKeyId);
      let announcedId: string | null = null;
      try {
        announcedId = keyIdOfSpki(Buffer.from(rotation.newPublicKey, 'base64'));
      } catch {
        announcedId = null;
      }
      if (announcedId === rotation.newKeyId && listed && listed.spkiBase64 === rotation.newPublicKey) {
        this.#trusted.add(rotation.newKeyId);
      } else {
        this.#fault(rotation.seq + 0.1, {
          problem: 'wrong_key',
          sequence: rotation.seq,
          batchSeq: m.batch_seq,
          file: BUNDLE_FILES.keys,
          line: null,
          detail: `the key rotation in event ${rotation.seq} names key ${short(rotation.newKeyId)}, but ${listed ? 'keys.json holds a different public key under that id' : announcedId !== rotation.newKeyId ? 'the public key it gives has another id' : 'keys.json does not hold it'}`,
        });
      }
    }
  }

  #checkSelection(seq: number, line: number, record: AuditRecord, proofs: ProofReader, csv: CsvReader): void {
    const id = record.event.id;
    const matches = matchesAuditFilter(record, this.#header!.filter);
    const selected = this.#selected.has(id);
    if (matches && !selected) {
      this.#fault(seq + 0.2, { problem: 'selection_mismatch', sequence: seq, batchSeq: null, file: BUNDLE_FILES.header, line: null, detail: `event ${seq} (events.jsonl line ${line}) matches the bundle's filter but is not in its selection: the export is incomplete` });
    } else if (!matches && selected) {
      this.#fault(seq + 0.2, { problem: 'selection_mismatch', sequence: seq, batchSeq: null, file: BUNDLE_FILES.header, line: null, detail: `the selection names event ${seq}, which does not match the bundle's filter` });
    }
    if (!selected) return;
    this.#selectionSeen.add(id);
    proofs.check(seq, record);
    csv.check(seq, record, this.#batchOf(seq));
  }

  /** The covered batch whose range holds a sequence number (by the manifests, in order). */
  #batchOf(seq: number): number | null {
    for (let i = Math.max(0, this.#slotIndex - 1); i < this.#slots.length; i++) {
      const m = this.#slots[i]!.manifest;
      if (m && m.first_seq !== null && m.first_seq <= seq && seq <= m.last_seq!) return m.batch_seq;
    }
    for (const m of this.#manifestByBatch.values()) if (m.first_seq !== null && m.first_seq <= seq && seq <= m.last_seq!) return m.batch_seq;
    return null;
  }

  #proofReader(): ProofReader {
    const path = this.#path(BUNDLE_FILES.proofs);
    const exists = existsSync(path);
    if (!exists) this.#fault(-1, { problem: 'missing', sequence: null, batchSeq: null, file: BUNDLE_FILES.proofs, line: null, detail: `${BUNDLE_FILES.proofs} is missing` });
    const lines = exists ? fileLines(path) : null;
    let lineNo = 0;
    let next: { line: number; proof: InclusionProofLine } | null = null;
    const fault = (seq: number | null, line: number | null, detail: string, problem: BundleProblem = 'proof_invalid', batchSeq: number | null = null) =>
      this.#fault(seq === null ? Number.MAX_SAFE_INTEGER : seq + 0.3, { problem, sequence: seq, batchSeq, file: BUNDLE_FILES.proofs, line, detail });
    const advance = (): void => {
      next = null;
      if (!lines) return;
      for (let step = lines.next(); !step.done; step = lines.next()) {
        lineNo += 1;
        let parsed: ReturnType<typeof InclusionProofLineSchema.safeParse>;
        try {
          parsed = InclusionProofLineSchema.safeParse(JSON.parse(step.value));
        } catch {
          fault(null, lineNo, 'the line is not valid JSON', 'malformed');
          continue;
        }
        if (!parsed.success) {
          fault(null, lineNo, `the line is not an inclusion proof (${describeIssue(parsed.error)})`, 'malformed');
          continue;
        }
        next = { line: lineNo, proof: parsed.data };
        return;
      }
    };
    advance();
    /** Proofs met before their event, which may still come (out of order); an event that never comes is reported as missing, not its proof. */
    const early = new Map<number, { line: number; proof: InclusionProofLine }>();
    const passOver = (found: { line: number; proof: InclusionProofLine }) => {
      const seq = found.proof.seq;
      const status = this.#statusOf(seq);
      if (status === MISSING) {
        if (early.size < MAX_EARLY_PROOFS) early.set(seq, found);
        return;
      }
      fault(seq, found.line, status === -1 ? `a proof for event ${seq}, which is outside the covered events` : `a proof for event ${seq}, which is not selected (or is out of sequence order)`);
    };
    /** The proof of a selected event: the next in the file, after passing over those of earlier events. */
    const take = (seq: number): { line: number; proof: InclusionProofLine } | null => {
      let current = next as { line: number; proof: InclusionProofLine } | null;
      while (current && current.proof.seq < seq) {
        passOver(current);
        advance();
        current = next;
      }
      if (current && current.proof.seq === seq) {
        advance();
        return current;
      }
      const held = early.get(seq);
      if (held) {
        early.delete(seq);
        return held;
      }
      if (exists) fault(seq, null, `there is no inclusion proof for selected event ${seq}`, 'missing');
      return null;
    };
    return {
      check: (seq, record) => {
        const found = take(seq);
        if (!found) return;
        this.#proofsChecked += 1;
        const { proof, line } = found;
        const m = this.#manifestByBatch.get(proof.batch_seq);
        let why: string | null = null;
        if (proof.event_id !== record.event.id || proof.leaf_hash !== record.event.hash || proof.leaf_index !== seq - 1) why = 'it names another event, leaf or index';
        else if (!m) why = `it names batch ${proof.batch_seq}, whose manifest is not in the bundle`;
        else if (m.first_seq === null || seq < m.first_seq || seq > m.last_seq!) why = `batch ${proof.batch_seq} does not seal event ${seq}`;
        else if (proof.tree_size !== m.tree_size) why = `its tree size ${proof.tree_size} is not batch ${m.batch_seq}'s ${m.tree_size}`;
        if (why) this.#proofFault(seq, line, proof.batch_seq, why);
        else this.#proofQueue.push({ seq, line, proof, manifest: m! });
      },
      skip: (seq) => {
        take(seq);
      },
      finish: () => {
        for (let current = next as { line: number; proof: InclusionProofLine } | null; current; current = next) {
          passOver(current);
          advance();
        }
      },
    };
  }

  #csvReader(): CsvReader {
    const path = this.#path(BUNDLE_FILES.csv);
    if (!existsSync(path)) {
      this.#fault(-1, { problem: 'missing', sequence: null, batchSeq: null, file: BUNDLE_FILES.csv, line: null, detail: `${BUNDLE_FILES.csv} is missing` });
      return { check: () => undefined, skip: () => undefined, finish: () => undefined };
    }
    const records = csvRecords(path);
    let row = 0;
    let mismatches = 0;
    const fault = (seq: number | null, detail: string) => {
      mismatches += 1;
      // The first few differences say enough; after a dropped row every later one differs.
      if (mismatches <= 3) this.#fault(seq === null ? (row === 1 ? -1 : Number.MAX_SAFE_INTEGER) : seq + 0.4, { problem: 'csv_mismatch', sequence: seq, batchSeq: null, file: BUNDLE_FILES.csv, line: row, detail });
    };
    const nextRecord = (): string | null => {
      const step = records.next();
      if (step.done) return null;
      row += 1;
      return step.value;
    };
    const header = nextRecord();
    if (header !== CSV_BOM + csvHeaderLine()) fault(null, `the header row is not ${csvHeaderLine()}`);
    return {
      check: (seq, record, batchSeq) => {
        const actual = nextRecord();
        if (actual === null) fault(seq, `${BUNDLE_FILES.csv} ends before the row of event ${seq}`);
        else if (batchSeq === null || actual !== csvEventLine(record, batchSeq)) fault(seq, `row ${row} is not event ${seq} as events.jsonl records it`);
      },
      skip: () => {
        nextRecord();
      },
      finish: () => {
        let extra = 0;
        while (nextRecord() !== null) extra += 1;
        if (extra > 0) fault(null, `${BUNDLE_FILES.csv} has ${extra} row${extra > 1 ? 's' : ''} more than the selection`);
      },
    };
  }

  #finishEvents(): void {
    this.#checkClosing();
    const header = this.#header!;
    const end = Number.MAX_SAFE_INTEGER;
    // Selected ids that no covered event carries.
    const unseen = [...this.#selected].filter((id) => !this.#selectionSeen.has(id));
    if (unseen.length > 0) {
      const examples = unseen.slice(0, 3).join(', ') + (unseen.length > 3 ? ', …' : '');
      this.#fault(end, {
        problem: 'selection_mismatch',
        sequence: null,
        batchSeq: null,
        file: BUNDLE_FILES.header,
        line: null,
        detail: `the selection names ${unseen.length === 1 ? 'an event' : `${unseen.length} events`} not among the covered events in ${BUNDLE_FILES.events} (${examples})`,
      });
    }
    // The header's account of the coverage against the manifests.
    const lastBatch = this.#previous && this.#previous.batch_seq !== header.anchor.batch_seq ? this.#previous : null;
    if (header.coverage) {
      if (lastBatch && header.coverage.last_batch_seq > lastBatch.batch_seq) {
        for (let b = lastBatch.batch_seq + 1; b <= header.coverage.last_batch_seq; b++) this.#batchStatus.set(b, 'missing');
        this.#fault(lastBatch.tree_size + 0.5, {
          problem: 'missing',
          sequence: null,
          batchSeq: lastBatch.batch_seq + 1,
          file: BUNDLE_FILES.manifests,
          line: null,
          detail: `bundle.json covers batches up to ${header.coverage.last_batch_seq}, but ${BUNDLE_FILES.manifests} ends at batch ${lastBatch.batch_seq}`,
        });
      }
      if (header.coverage.events !== this.#eventsChecked) {
        this.#fault(end, { problem: 'malformed', sequence: null, batchSeq: null, file: BUNDLE_FILES.header, line: null, detail: `bundle.json says ${header.coverage.events} events are covered; ${BUNDLE_FILES.events} holds ${this.#eventsChecked}` });
      }
    } else if (this.#slots.length > 0 || this.#eventsChecked > 0) {
      this.#fault(end, { problem: 'malformed', sequence: null, batchSeq: null, file: BUNDLE_FILES.header, line: null, detail: 'bundle.json says nothing is covered, but the bundle holds manifests or events' });
    }

    // Events no manifest of the bundle seals.
    const sealedThrough = this.#previous?.tree_size ?? this.#anchorSize;
    if (this.#lastSeq > sealedThrough) {
      this.#fault(sealedThrough + 0.5, {
        problem: 'missing',
        sequence: sealedThrough + 1,
        batchSeq: null,
        file: BUNDLE_FILES.manifests,
        line: null,
        detail: `${span(sealedThrough + 1, this.#lastSeq, 'event')} are not sealed by any manifest in ${BUNDLE_FILES.manifests}`,
      });
    }

    // Unseen events are missing; seen ones are valid only where a trusted, recomputed root covers them.
    let runStart = -1;
    for (let i = 0; i <= this.#status.length; i++) {
      const status = i < this.#status.length ? this.#status[i]! : -1;
      const seq = this.#anchorSize + 1 + i;
      if (status === VALID && seq > this.#confirmedThrough) this.#status[i] = UNVERIFIED;
      if (status === MISSING && runStart < 0) runStart = seq;
      if (status !== MISSING && runStart >= 0) {
        const gap = this.#gaps.find((g) => g.from <= runStart && runStart <= g.to);
        const where = gap ? `: line ${gap.line} holds event ${gap.jumper} where event ${runStart} belongs` : ` (${BUNDLE_FILES.events} ends before ${runStart === seq - 1 ? 'it' : 'them'})`;
        this.#fault(runStart, { problem: 'missing', sequence: runStart, batchSeq: null, file: BUNDLE_FILES.events, line: gap?.line ?? null, detail: `${span(runStart, seq - 1, 'event')} ${seq - 1 > runStart ? 'are' : 'is'} missing${where}` });
        runStart = -1;
      }
    }
    for (const batch of this.#proofBatchFaults) if (this.#batchStatus.get(batch) === 'valid') this.#batchStatus.set(batch, 'proof_invalid');
  }

  #report(): BundleVerifyReport {
    const sorted = this.#faults.sort((a, b) => a.key - b.key || a.order - b.order).map((f) => f.fault);
    const header = this.#header;
    const eventRanges: BundleRange<EventRangeStatus>[] = [];
    for (let i = 0; i < this.#status.length; i++) {
      const status = EVENT_STATUS[this.#status[i]!]!;
      const seq = this.#anchorSize + 1 + i;
      const last = eventRanges.at(-1);
      if (last && last.status === status && last.last === seq - 1) last.last = seq;
      else eventRanges.push({ first: seq, last: seq, status });
    }
    const batchRanges: BundleRange<BatchRangeStatus>[] = [];
    for (const [batch, status] of [...this.#batchStatus.entries()].sort((a, b) => a[0] - b[0])) {
      const last = batchRanges.at(-1);
      if (last && last.status === status && last.last === batch - 1) last.last = batch;
      else batchRanges.push({ first: batch, last: batch, status });
    }
    return {
      ok: this.#faultCount === 0,
      header: header
        ? { created: header.created, exportedBy: header.exported_by, hostId: header.host.id, hostName: header.host.name, filter: header.filter, prunedThroughSeq: header.coverage?.pruned_through_seq ?? null }
        : null,
      firstSeq: this.#status.length > 0 ? this.#anchorSize + 1 : null,
      lastSeq: this.#status.length > 0 ? this.#lastSeq : null,
      eventsChecked: this.#eventsChecked,
      batchesChecked: this.#batchesChecked,
      selectedEvents: this.#selected.size,
      proofsChecked: this.#proofsChecked,
      trustedKeyIds: [...this.#signers],
      provenRange: this.#faultCount === 0 ? this.#provenRange : null,
      closingBatchSeq: this.#closing?.manifest?.batch_seq ?? header?.closing_batch_seq ?? null,
      eventRanges,
      batchRanges,
      firstFault: sorted[0] ?? null,
      faults: sorted.slice(0, MAX_REPORTED_FAULTS),
      faultCount: this.#faultCount,
    };
  }
}

interface ProofReader {
  check(seq: number, record: AuditRecord): void;
  skip(seq: number): void;
  finish(): void;
}

interface CsvReader {
  check(seq: number, record: AuditRecord, batchSeq: number | null): void;
  skip(): void;
  finish(): void;
}

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
  if (h?.prunedThroughSeq) lines.push(`note: the bundle says events up to ${h.prunedThroughSeq} had been removed from the workstation (after SIEM delivery) before it was exported; the SIEM holds them, this bundle cannot show them`);
  for (const r of report.eventRanges) lines.push(`${span(r.first, r.last, 'event')}: ${r.status.replaceAll('_', ' ')}`);
  for (const r of report.batchRanges) lines.push(`${span(r.first, r.last, 'batch')}: ${r.status.replaceAll('_', ' ')}`);
  const f = report.firstFault;
  if (f) {
    const where = `${f.file}${f.line !== null ? ` line ${f.line}` : ''}`;
    const what = f.sequence !== null ? `event ${f.sequence}` : f.batchSeq !== null ? `batch ${f.batchSeq}` : f.file;
    lines.push(`first fault: ${what} ${f.problem.replaceAll('_', ' ')} (${where}) — ${f.detail}`);
  }
  const r = report.provenRange;
  const complete = r
    ? `; complete from ${r.from ?? 'the start of the log'} to ${r.to}${r.endsAtExport ? ' (the export)' : ''}, closed by signed batch ${report.closingBatchSeq}`
    : '';
  lines.push(
    report.ok
      ? `audit bundle verified: ${report.eventsChecked} events in ${report.batchesChecked} signed batches${report.firstSeq !== null ? ` (events ${report.firstSeq}–${report.lastSeq})` : ''}, ${report.selectedEvents} selected, ${report.proofsChecked} inclusion proofs${complete}; signed by ${report.trustedKeyIds.join(', ') || 'no key'}`
      : `audit bundle NOT verified: ${report.faultCount} fault${report.faultCount === 1 ? '' : 's'}`,
  );
  return lines;
}
