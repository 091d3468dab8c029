// The faults a verification finds, kept in the order they sit in the bundle.
import type { BundleFault, BundleProblem } from './report.js';

/** Faults kept in memory before sorting (a bundle broken everywhere need not cost memory per event). */
const MAX_KEPT_FAULTS = 10_000;

/**
 * Where a fault sorts in the report (its key): an event's sequence number; a
 * manifest's place just before the events it seals (tree size before it +
 * 0.5); whole-bundle and whole-file problems first, and what can only be
 * judged at the end last.
 */
export const FAULT_KEY = {
  /** No expected key id was given. */
  noExpectedKey: -3,
  /** bundle.json or keys.json cannot be read or is not of its format. */
  headerFile: -2,
  /** A file missing, or the bundle unreadable as a whole. */
  bundle: -1,
  /** What is judged once everything is read. */
  end: Number.MAX_SAFE_INTEGER,
} as const;

export class FaultLog {
  #kept: { key: number; order: number; fault: BundleFault }[] = [];
  #count = 0;

  /** Every fault found, including those past what is kept. */
  get count(): number {
    return this.#count;
  }

  /** Records a fault at `key` (see FAULT_KEY). */
  add(key: number, fault: BundleFault): void {
    this.#count += 1;
    if (this.#kept.length < MAX_KEPT_FAULTS) this.#kept.push({ key, order: this.#count, fault });
  }

  /** A fault about a file as a whole: no event, batch or line. */
  file(key: number, problem: BundleProblem, file: string, detail: string): void {
    this.add(key, { problem, sequence: null, batchSeq: null, file, line: null, detail });
  }

  /** A fault about a batch (its manifest, or what bundle.json says of it). */
  batch(key: number, problem: BundleProblem, batchSeq: number | null, file: string, line: number | null, detail: string): void {
    this.add(key, { problem, sequence: null, batchSeq, file, line, detail });
  }

  /** The kept faults in bundle order (by key; in the order found where keys tie). */
  sorted(): BundleFault[] {
    return this.#kept.sort((a, b) => a.key - b.key || a.order - b.order).map((f) => f.fault);
  }
}

/** A hash as the report names it: its first 16 hex digits. */
export function short(hash: string): string {
  return `${hash.slice(0, 16)}…`;
}

export function span(first: number, last: number, noun: 'event' | 'batch'): string {
  return first === last ? `${noun} ${first}` : `${noun === 'batch' ? 'batches' : 'events'} ${first}–${last}`;
}
