// When to seal: after batchMaxEvents events, when the oldest waiting event is
// batchMaxSeconds old, at once for an urgent event (a break-glass sign-in, a
// reported answer: URGENT_AUDIT_ACTIONS; such a batch is sent first),
// and an empty heartbeat batch when nothing happened for heartbeatSeconds.
// One timer, set to whichever of those comes first.
import { URGENT_AUDIT_ACTIONS } from '../../shared/audit-actions.js';
import { auditEvents, type Store } from '../store/index.js';
import { lastBatch, pendingEvents, sealNextBatch, sealPending, type SealedBatch, type SealOptions } from './batches.js';
import type { AuditLog } from './log.js';
import type { AuditRecord } from './record.js';

export interface SealSchedule {
  batchMaxEvents: number;
  batchMaxSeconds: number;
  heartbeatSeconds: number;
}

export interface BatchSealerOptions {
  store: Store;
  audit: AuditLog;
  schedule: () => SealSchedule;
  identity: () => Omit<SealOptions, 'maxEvents' | 'now'>;
  now: () => number;
  onSealed: (batches: SealedBatch[]) => void;
  log: (message: string, error?: unknown) => void;
}

/** After a failed seal (disk full, a damaged event) try again this much later. */
const RETRY_AFTER_FAILURE_MS = 30_000;
/** Re-read the schedule at least this often, so a policy change applies without waiting a day. */
const MAX_TIMER_MS = 60_000;

export class BatchSealer {
  readonly #options: BatchSealerOptions;
  #timer: NodeJS.Timeout | null = null;
  #pending = 0;
  #sealSoon = false;
  #failedAt: number | null = null;
  #stopped = false;
  readonly #unsubscribe: () => void;

  constructor(options: BatchSealerOptions) {
    this.#options = options;
    this.#pending = pendingEvents(options.store.reader).count;
    this.#unsubscribe = options.audit.onAppended((record) => this.#onAppended(record));
  }

  start(): void {
    this.#schedule(0);
  }

  stop(): void {
    this.#stopped = true;
    this.#unsubscribe();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Seals whatever is waiting now (before an export, at shutdown). Throws what sealing throws. */
  sealNow(): SealedBatch[] {
    const sealed = sealPending(this.#options.store, this.sealOptions());
    this.#pending = 0;
    if (sealed.length > 0) this.#options.onSealed(sealed);
    return sealed;
  }

  /** What a seal right now would use (the export seals its closing heartbeat with it). */
  sealOptions(): SealOptions {
    return { ...this.#options.identity(), maxEvents: this.#options.schedule().batchMaxEvents, now: this.#options.now };
  }

  #onAppended(record: AuditRecord): void {
    if (this.#stopped) return;
    this.#pending += 1;
    const urgent = URGENT_AUDIT_ACTIONS.includes(record.event.action);
    if ((urgent || this.#pending >= this.#options.schedule().batchMaxEvents) && !this.#sealSoon) {
      this.#sealSoon = true;
      this.#schedule(0);
    }
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, Math.min(delayMs, MAX_TIMER_MS)));
    this.#timer.unref?.();
  }

  #tick(): void {
    this.#timer = null;
    this.#sealSoon = false;
    const { store, now } = this.#options;
    const schedule = this.#options.schedule();
    const time = now();
    try {
      const pending = pendingEvents(store.reader);
      this.#pending = pending.count;
      const last = lastBatch(store.reader);
      const dueByAge = pending.oldestAt !== null && time - pending.oldestAt >= schedule.batchMaxSeconds * 1000;
      const dueByCount = pending.count >= schedule.batchMaxEvents;
      const heartbeatDue = pending.count === 0 && (last === null || time - last.createdAt >= schedule.heartbeatSeconds * 1000);
      const urgent = pending.count > 0 && this.#holdsUrgent();
      if (dueByAge || dueByCount || urgent) {
        this.sealNow();
      } else if (heartbeatDue) {
        const batch = store.transaction((db) => sealNextBatch(db, { ...this.sealOptions(), heartbeat: true }));
        if (batch) this.#options.onSealed([batch]);
      }
      this.#failedAt = null;
    } catch (error) {
      if (this.#failedAt === null) this.#options.log('sealing an audit batch failed; it will be retried', error);
      this.#failedAt = time;
      this.#schedule(RETRY_AFTER_FAILURE_MS);
      return;
    }
    this.#schedule(this.#nextDueIn());
  }

  #holdsUrgent(): boolean {
    const sealedThrough = lastBatch(this.#options.store.reader)?.manifest.tree_size ?? 0;
    return auditEvents.hasActionAfter(this.#options.store.reader, sealedThrough, URGENT_AUDIT_ACTIONS);
  }

  #nextDueIn(): number {
    const { store, now } = this.#options;
    const schedule = this.#options.schedule();
    const time = now();
    const pending = pendingEvents(store.reader);
    if (pending.oldestAt !== null) return pending.oldestAt + schedule.batchMaxSeconds * 1000 - time;
    const last = lastBatch(store.reader);
    return (last?.createdAt ?? time) + schedule.heartbeatSeconds * 1000 - time;
  }
}
