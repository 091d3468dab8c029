// The outbox: one worker per SIEM destination, each with its own durable
// cursor, one batch in flight, whole-batch resend with exponential back-off and
// jitter. A destination that is down never holds up the others. "On the
// network" is discovered by trying. A batch's events leave the workstation only
// when every destination confirmed it and local retention passed.
import type { SiemDestinationStatus, SiemStatus } from '../../shared/api.js';
import type { AuditLog } from '../audit/index.js';
import type { Store } from '../store/index.js';
import { confirmBatch, confirmedThrough, ensureCursor, followingBatches, nextBatchFor, queuedBatches, recordFailure, type CursorRow } from './cursors.js';
import { DeliveryError, type OutgoingBatch, type SealedBatchSource, type SiemDestination, type Transport } from './types.js';

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

export interface OutboxOptions {
  /** Where the delivery cursors are kept (siem_cursors, siem_confirmations). */
  store: Store;
  /** The sealed batches to deliver (the audit service's). */
  batches: SealedBatchSource;
  /** Going offline and coming back are audited. */
  audit: Pick<AuditLog, 'record'>;
  destinations: () => readonly SiemDestination[];
  localRetentionDays: () => number;
  createTransport: (destination: SiemDestination) => Transport;
  now: () => number;
  onChange: (status: SiemStatus) => void;
  log: (message: string, error?: unknown) => void;
  backoff?: BackoffOptions;
  /** Jitter source; tests make it deterministic. */
  random?: () => number;
}

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1_000, maxMs: 5 * 60_000 };
/** What one send may carry where the transport confirms batches together (syslog): bounded, so memory stays flat. */
const SEND_TOGETHER_LIMITS = { batches: 50, events: 5_000 };
/** Pruning runs after confirmations, at most this often. */
const PRUNE_INTERVAL_MS = 10 * 60_000;

/** Host and port, or the URL without credentials or query (a HEC token never shows). */
export function destinationTarget(destination: SiemDestination): string {
  if (destination.type === 'syslog-tls') return destination.address;
  const url = new URL(destination.url);
  return `${url.protocol}//${url.host}${url.pathname}`;
}

interface DestinationWorkerOptions {
  outbox: SiemOutbox;
  destination: SiemDestination;
  transport: Transport;
  /** The destination's stored cursor: what it last confirmed and how its last try failed. */
  cursor: CursorRow;
}

class DestinationWorker {
  readonly destination: SiemDestination;
  readonly #outbox: SiemOutbox;
  readonly #transport: Transport;
  readonly #abort = new AbortController();
  #wake: (() => void) | null = null;
  #kicked = false;
  state: SiemDestinationStatus['state'] = 'idle';
  failures = 0;
  nextAttemptAt: number | null = null;
  lastFailure: SiemDestinationStatus['lastFailure'] = null;
  lastSuccessAt: number | null = null;
  readonly done: Promise<void>;

  constructor({ outbox, destination, transport, cursor }: DestinationWorkerOptions) {
    this.#outbox = outbox;
    this.destination = destination;
    this.#transport = transport;
    this.lastSuccessAt = cursor.last_success_at;
    if (cursor.last_failure && cursor.last_failure_at !== null && (cursor.last_success_at ?? 0) < cursor.last_failure_at) {
      const failure = JSON.parse(cursor.last_failure) as { code: string; message: string };
      this.lastFailure = { at: cursor.last_failure_at, ...failure };
    }
    this.done = this.#run();
  }

  /** A new batch was sealed: look again (does not cut a back-off short). */
  kick(): void {
    this.#kicked = true;
    if (this.state === 'idle' || this.state === 'online') this.#wake?.();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.#wake?.();
    await this.done;
    await this.#transport.close().catch(() => undefined);
  }

  #sleep(ms: number | null): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = ms === null ? null : setTimeout(finish, ms);
      function finish() {
        if (timer) clearTimeout(timer);
        resolve();
      }
      this.#wake = finish;
    }).then(() => {
      this.#wake = null;
    });
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      this.#kicked = false;
      const batchSeq = this.#outbox.next(this.destination.id);
      if (batchSeq === null) {
        // Caught up: online once anything was ever delivered, else simply waiting for a first batch.
        this.state = this.lastSuccessAt !== null ? 'online' : 'idle';
        this.#outbox.changed();
        if (!this.#kicked) await this.#sleep(null);
        continue;
      }
      const sendMany = this.#transport.sendBatches?.bind(this.#transport);
      const seqs = [batchSeq, ...(sendMany ? followingBatches(this.#outbox.store.reader, this.destination.id, batchSeq, SEND_TOGETHER_LIMITS) : [])];
      const batches: OutgoingBatch[] = [];
      for (const seq of seqs) {
        const batch = this.#outbox.batches.read(seq);
        if (!batch) break;
        batches.push(batch);
      }
      if (batches.length === 0) {
        // Only a damaged store gets here; say so and try again later rather than skip a batch.
        await this.#failed(new DeliveryError('configuration', `Audit batch ${batchSeq} cannot be read from the local database.`));
        continue;
      }
      this.state = 'sending';
      this.#outbox.changed();
      try {
        if (sendMany && batches.length > 1) await sendMany(batches, signal);
        else await this.#transport.send(batches[0]!, signal);
      } catch (error) {
        if (signal.aborted) return;
        await this.#failed(
          error instanceof DeliveryError ? error : new DeliveryError('server_error', `Delivery failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`, { cause: error }),
        );
        continue;
      }
      if (signal.aborted) return; // sent but not recorded: it is sent again next time, which is allowed
      this.#outbox.confirmed(
        this,
        batches.map((b) => b.batchSeq),
      );
    }
  }

  async #failed(error: DeliveryError): Promise<void> {
    const now = this.#outbox.now();
    this.failures += 1;
    const delay = this.#outbox.backoffDelay(this.failures);
    this.state = 'offline';
    this.nextAttemptAt = now + delay;
    const first = this.lastFailure === null || this.failures === 1;
    this.lastFailure = { at: now, code: error.code, message: error.message };
    this.#outbox.failed(this, error, first);
    await this.#sleep(delay);
    this.nextAttemptAt = null;
  }

  succeeded(now: number): boolean {
    const recovered = this.failures > 0 || this.lastFailure !== null;
    this.failures = 0;
    this.lastFailure = null;
    this.lastSuccessAt = now;
    this.state = 'online';
    return recovered;
  }
}

export class SiemOutbox {
  readonly store: Store;
  readonly batches: SealedBatchSource;
  readonly #options: OutboxOptions;
  readonly #workers = new Map<string, { worker: DestinationWorker; config: string }>();
  #lastPruneAt = 0;
  #stopped = false;

  constructor(options: OutboxOptions) {
    this.store = options.store;
    this.batches = options.batches;
    this.#options = options;
  }

  now(): number {
    return this.#options.now();
  }

  /** Starts, stops or restarts workers so they match the policy's destinations. */
  async reconcile(): Promise<void> {
    if (this.#stopped) return;
    const wanted = new Map(this.#options.destinations().map((d) => [d.id, d]));
    const stopping: Promise<void>[] = [];
    for (const [id, { worker, config }] of this.#workers) {
      const next = wanted.get(id);
      if (!next || JSON.stringify(next) !== config) {
        this.#workers.delete(id);
        stopping.push(worker.stop());
      }
    }
    await Promise.all(stopping);
    for (const [id, destination] of wanted) {
      if (this.#workers.has(id)) continue;
      const cursor = this.store.transaction((db) => ensureCursor(db, id, this.now()));
      const worker = new DestinationWorker({ outbox: this, destination, transport: this.#options.createTransport(destination), cursor });
      this.#workers.set(id, { worker, config: JSON.stringify(destination) });
    }
    this.changed();
  }

  /** A batch was sealed. */
  kick(): void {
    for (const { worker } of this.#workers.values()) worker.kick();
    this.changed();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all([...this.#workers.values()].map(({ worker }) => worker.stop()));
    this.#workers.clear();
  }

  next(destinationId: string): number | null {
    return nextBatchFor(this.store.reader, destinationId);
  }

  backoffDelay(failures: number): number {
    const { initialMs, maxMs } = this.#options.backoff ?? DEFAULT_BACKOFF;
    const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(failures - 1, 30));
    // "Equal jitter": at least half the ceiling, so a fleet of 3,000 workstations does not retry in step.
    return Math.round(ceiling / 2 + (this.#options.random ?? Math.random)() * (ceiling / 2));
  }

  confirmed(worker: DestinationWorker, batchSeqs: readonly number[]): void {
    const now = this.now();
    this.store.transaction((db) => {
      for (const batchSeq of batchSeqs) confirmBatch(db, worker.destination.id, batchSeq, now);
    });
    if (worker.succeeded(now)) this.#auditTransition(worker, 'success', null);
    this.#maybePrune(now);
    this.changed();
  }

  failed(worker: DestinationWorker, error: DeliveryError, firstFailure: boolean): void {
    const now = this.now();
    try {
      this.store.transaction((db) => recordFailure(db, worker.destination.id, { code: error.code, message: error.message }, now));
    } catch (storeError) {
      this.#options.log('could not record a SIEM delivery failure', storeError);
    }
    if (firstFailure) this.#auditTransition(worker, 'failure', error);
    this.changed();
  }

  /** Going offline and coming back are audited; every retry in between is not (it would feed itself). */
  #auditTransition(worker: DestinationWorker, outcome: 'success' | 'failure', error: DeliveryError | null): void {
    try {
      this.#options.audit.record({
        action: 'sync.destination',
        outcome,
        ...(error ? { reason: error.code } : {}),
        detail: {
          destination: worker.destination.id,
          type: worker.destination.type,
          target: destinationTarget(worker.destination),
          ...(error ? { message: error.message } : { queued_batches: queuedBatches(this.store.reader, worker.destination.id) }),
        },
      });
    } catch (auditError) {
      this.#options.log('could not audit a SIEM destination state change', auditError);
    }
  }

  #maybePrune(now: number): void {
    if (now - this.#lastPruneAt < PRUNE_INTERVAL_MS) return;
    this.#lastPruneAt = now;
    try {
      this.pruneDelivered();
    } catch (error) {
      this.#options.log('pruning delivered audit events failed; they stay on the workstation', error);
    }
  }

  /**
   * Deletes local events that every configured destination confirmed and whose
   * retention passed. With no destination configured (an air-gapped unit)
   * nothing is ever confirmed, so nothing is deleted.
   */
  pruneDelivered(): { events: number; throughSeq: number } | null {
    const destinations = this.#options.destinations();
    if (destinations.length === 0) return null;
    const now = this.now();
    const retentionDays = this.#options.localRetentionDays();
    // Read just before the prune, in the same synchronous run: nothing confirms in between, and a cursor only moves forward, so this never prunes more than was confirmed.
    let through = Number.POSITIVE_INFINITY;
    for (const { id } of destinations) through = Math.min(through, confirmedThrough(this.store.reader, id));
    return this.batches.pruneDelivered(through, now - retentionDays * 86_400_000, retentionDays);
  }

  status(): SiemStatus {
    const db = this.store.reader;
    const destinations: SiemDestinationStatus[] = [...this.#workers.values()].map(({ worker }) => ({
      id: worker.destination.id,
      type: worker.destination.type,
      target: destinationTarget(worker.destination),
      state: worker.state,
      queuedBatches: queuedBatches(db, worker.destination.id),
      lastSuccessAt: worker.lastSuccessAt,
      lastFailure: worker.lastFailure,
      nextAttemptAt: worker.nextAttemptAt,
    }));
    return { destinations, ...this.batches.sealing() };
  }

  changed(): void {
    if (this.#stopped) return;
    try {
      this.#options.onChange(this.status());
    } catch (error) {
      this.#options.log('reporting SIEM status failed', error);
    }
  }
}
