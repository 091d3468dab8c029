// The selection: exactly the covered events that match the stated filter
// (the verifier re-applies it, so nothing matching was left out), each with
// its proof, and events.csv exactly those events rendered for people.
import { existsSync } from 'node:fs';
import type { AuditFilter } from '../../../../shared/api.js';
import { BUNDLE_FILES, CSV_BOM, csvEventLine, csvHeaderLine, type BundleHeader } from '../format.js';
import { matchesAuditFilter } from '../../query.js';
import type { AuditRecord } from '../../record.js';
import { FAULT_KEY, type FaultLog } from './faults.js';
import type { ProofChecker } from './proofs.js';
import { csvRecords } from './read.js';

/** The selection as bundle.json states it, with a fault when its count and ids disagree. */
export function selectionOf(header: BundleHeader, faults: FaultLog): Set<string> {
  const selected = new Set(header.selection.event_ids);
  if (selected.size !== header.selection.event_ids.length || header.selection.count !== header.selection.event_ids.length) {
    faults.file(
      FAULT_KEY.headerFile,
      'selection_mismatch',
      BUNDLE_FILES.header,
      `the selection says ${header.selection.count} events but lists ${header.selection.event_ids.length} ids (${selected.size} distinct)`,
    );
  }
  return selected;
}

/** Why an event's place in the selection is wrong (it matches the filter and is left out, or the reverse), or null. */
export function selectionProblem(seq: number, line: number, matches: boolean, selected: boolean): string | null {
  if (matches && !selected) return `event ${seq} (events.jsonl line ${line}) matches the bundle's filter but is not in its selection: the export is incomplete`;
  if (!matches && selected) return `the selection names event ${seq}, which does not match the bundle's filter`;
  return null;
}

/** Reads events.csv alongside events.jsonl: one row per selected event, after the header row. */
export class CsvChecker {
  readonly #faults: FaultLog;
  readonly #records: Generator<string> | null;
  #row = 0;
  #mismatches = 0;

  constructor(path: string, faults: FaultLog) {
    this.#faults = faults;
    if (!existsSync(path)) {
      faults.file(FAULT_KEY.bundle, 'missing', BUNDLE_FILES.csv, `${BUNDLE_FILES.csv} is missing`);
      this.#records = null;
      return;
    }
    this.#records = csvRecords(path);
    const header = this.#nextRecord();
    if (header !== CSV_BOM + csvHeaderLine()) this.#fault(null, `the header row is not ${csvHeaderLine()}`);
  }

  check(seq: number, record: AuditRecord, batchSeq: number | null): void {
    if (!this.#records) return;
    const actual = this.#nextRecord();
    if (actual === null) this.#fault(seq, `${BUNDLE_FILES.csv} ends before the row of event ${seq}`);
    else if (batchSeq === null || actual !== csvEventLine(record, batchSeq)) this.#fault(seq, `row ${this.#row} is not event ${seq} as events.jsonl records it`);
  }

  skip(): void {
    if (this.#records) this.#nextRecord();
  }

  finish(): void {
    if (!this.#records) return;
    let extra = 0;
    while (this.#nextRecord() !== null) extra += 1;
    if (extra > 0) this.#fault(null, `${BUNDLE_FILES.csv} has ${extra} row${extra > 1 ? 's' : ''} more than the selection`);
  }

  #nextRecord(): string | null {
    const step = this.#records!.next();
    if (step.done) return null;
    this.#row += 1;
    return step.value;
  }

  #fault(seq: number | null, detail: string): void {
    this.#mismatches += 1;
    // The first few differences say enough; after a dropped row every later one differs.
    if (this.#mismatches <= 3)
      this.#faults.add(seq === null ? (this.#row === 1 ? FAULT_KEY.bundle : FAULT_KEY.end) : seq + 0.4, {
        problem: 'csv_mismatch',
        sequence: seq,
        batchSeq: null,
        file: BUNDLE_FILES.csv,
        line: this.#row,
        detail,
      });
  }
}

export interface SelectionCheckOptions {
  selected: ReadonlySet<string>;
  filter: AuditFilter;
  faults: FaultLog;
  proofs: ProofChecker;
  csv: CsvChecker;
  /** The covered batch that seals an event, for its CSV row. */
  batchOf(seq: number): number | null;
}

/** Checks each covered event against the selection, and each selected one's proof and CSV row. */
export class SelectionCheck {
  readonly #o: SelectionCheckOptions;
  readonly #seen = new Set<string>();

  constructor(options: SelectionCheckOptions) {
    this.#o = options;
  }

  /** An event read whole and in place. */
  check(seq: number, line: number, record: AuditRecord): void {
    const { selected, filter, faults, proofs, csv } = this.#o;
    const id = record.event.id;
    const isSelected = selected.has(id);
    const problem = selectionProblem(seq, line, matchesAuditFilter(record, filter), isSelected);
    if (problem) faults.add(seq + 0.2, { problem: 'selection_mismatch', sequence: seq, batchSeq: null, file: BUNDLE_FILES.header, line: null, detail: problem });
    if (!isSelected) return;
    this.#seen.add(id);
    proofs.check(seq, record);
    csv.check(seq, record, this.#o.batchOf(seq));
  }

  /** An event whose content changed: when selected, its proof and CSV row are stepped past (its fault says it all). */
  skipAltered(record: AuditRecord, position: number): void {
    if (!this.#o.selected.has(record.event.id)) return;
    this.#seen.add(record.event.id);
    this.#o.proofs.skip(position);
    this.#o.csv.skip();
  }

  /** Selected ids that no covered event carries. */
  finish(): void {
    const unseen = [...this.#o.selected].filter((id) => !this.#seen.has(id));
    if (unseen.length === 0) return;
    const examples = unseen.slice(0, 3).join(', ') + (unseen.length > 3 ? ', …' : '');
    this.#o.faults.file(
      FAULT_KEY.end,
      'selection_mismatch',
      BUNDLE_FILES.header,
      `the selection names ${unseen.length === 1 ? 'an event' : `${unseen.length} events`} not among the covered events in ${BUNDLE_FILES.events} (${examples})`,
    );
  }
}
