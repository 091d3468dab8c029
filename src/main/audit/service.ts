// The audit service: the use cases of the audit log, for the core and the CLI
// alike. Verify the chain (at start, and on demand), search it, check a text
// against an event, export a verifiable bundle, seal batches (on a schedule in
// the app, on demand in the CLI), and the signing key's enrolment and
// rotation. Other services write events through `log` (the AuditLog) and the
// SIEM outbox reads sealed batches through `sealedBatches`.
import { join } from 'node:path';
import type { AuditFilter, AuditVerifyReport } from '../../shared/api.js';
import { EnclaveError } from '../../shared/errors.js';
import type { Store } from '../store/index.js';
import { lastBatch, quarantineUnsealedTail, sealPending, type SealedBatch, type SealOptions } from './batches.js';
import { exportAuditedBundle, type BundleExportResult } from './bundle/write.js';
import { describeBundleReport, verifyAuditBundle, type BundleVerifyReport } from './bundle/verify/index.js';
import { AuditLog } from './log.js';
import { searchAuditEvents, statedAuditFilter, type AuditSearch, type AuditSearchPage } from './query.js';
import type { AuditEventInput } from './record.js';
import { sealedBatches, type SealedBatches } from './sealed-batches.js';
import { BatchSealer, type SealSchedule } from './sealer.js';
import { currentEnrolmentKey, ensureEnrolmentKey, rotateEnrolmentKey, wipeRetiredSigningKeys, type EnrolmentKey } from './signing.js';
import type { TextCheck } from './private-text.js';
import { checkTextAudited } from './text-check.js';
import { describeVerifyReport, verifyAuditChain } from './verify.js';

/** Who an event is about: the signed-in officer in the app, the OS account in the CLI. */
export type AuditActor = NonNullable<AuditEventInput['user']>;

export interface AuditServiceOptions {
  store: Store;
  /** The workstation's id (meta host.id) and name, as records and manifests name them. */
  hostId: string;
  hostName: string;
  serviceVersion: string;
  now: () => number;
  /**
   * When and for whom to seal, from policy (the app). Without it (the CLI,
   * which reads no policy) a seal takes at most CLI_SEAL_MAX_EVENTS events a
   * batch and names the institution as the last manifest named it.
   */
  sealing?: { schedule: () => SealSchedule; institution: () => string };
  /** Where exports go that name no folder (the compliance screen's): a new folder per export inside it. */
  exportDir?: string;
  log?: (message: string, error?: unknown) => void;
}

/** Batch size of a seal run by the CLI, which reads no policy. */
const CLI_SEAL_MAX_EVENTS = 500;

/**
 * Sealing what waited before an export failed (a damaged event, a full disk):
 * the export did not start. Same code and message as the seal's own error; the
 * CLI tells it apart to say what to run next.
 */
export class SealBeforeExportError extends EnclaveError {
  constructor(cause: EnclaveError) {
    super(cause.code, cause.message, { cause });
    this.name = 'SealBeforeExportError';
  }
}

export interface AuditExportRequest {
  filter: AuditFilter;
  actor: AuditActor;
  /** The name the bundle states as its exporter. */
  exportedBy: string;
  /** A new or empty folder; default: a new folder in exportDir named after the host and the time. */
  directory?: string;
}

export interface AuditExport {
  /** Batches of waiting events sealed before the bundle was written. */
  sealedFirst: number;
  bundle: BundleExportResult;
}

export class AuditService {
  readonly #o: AuditServiceOptions;
  /** Where every service writes its events. */
  readonly log: AuditLog;
  /** What the SIEM outbox reads (siem/types.ts SealedBatchSource). */
  readonly sealedBatches: SealedBatches;
  #sealer: BatchSealer | null = null;
  readonly #sealedListeners = new Set<() => void>();

  constructor(options: AuditServiceOptions) {
    this.#o = options;
    const { store, hostId, hostName, serviceVersion, now } = options;
    this.log = new AuditLog({ store, hostId, hostName, serviceVersion, now });
    this.sealedBatches = sealedBatches(store, this.log);
  }

  /** The chain check alone: reads only (a read-only store will do), audits nothing. */
  checkChain(): AuditVerifyReport {
    return verifyAuditChain(this.#o.store.reader);
  }

  /**
   * The check at start. A damaged chain is reported, never silently repaired.
   * A damaged tail that was never sealed is moved to audit_quarantine so
   * sealing can go on; damage under a signed manifest stays where it is, for
   * the verifier to name. Either way audit.corruption_detected is recorded.
   */
  verifyAtStart(): AuditVerifyReport {
    const chain = this.checkChain();
    if (!chain.ok && chain.firstBad) {
      const bad = chain.firstBad;
      const quarantined = this.#o.store.transaction((db) => quarantineUnsealedTail(db, bad.sequence, bad.problem, this.#o.now()));
      this.log.record({
        action: 'audit.corruption_detected',
        outcome: 'failure',
        reason: bad.problem,
        detail: { first_bad_sequence: bad.sequence, detail: bad.detail, quarantined_events: quarantined },
      });
    }
    return chain;
  }

  /** The check on demand (the compliance screen): audited as audit.verify. */
  verify(actor: AuditActor): AuditVerifyReport {
    const report = this.checkChain();
    this.log.record({
      action: 'audit.verify',
      outcome: report.ok ? 'success' : 'failure',
      ...(report.firstBad ? { reason: report.firstBad.problem } : {}),
      user: actor,
      detail: { events_checked: report.eventsChecked, first_bad_sequence: report.firstBad?.sequence ?? null },
    });
    return report;
  }

  /** Matching events, newest first, a page at a time. Looking at the audit is itself audited: who searched for what (a name that is no account's, by keyed token). */
  search(search: AuditSearch, actor: AuditActor): AuditSearchPage {
    const page = searchAuditEvents(this.#o.store.reader, search);
    const stated = statedAuditFilter(this.log, search);
    this.log.record({ action: 'audit.search', outcome: 'success', user: actor, detail: { ...stated.detail, matches: page.total }, ...(stated.privateText ? { privateText: stated.privateText } : {}) });
    return page;
  }

  /** Was this exact text typed text of the event? Compared by keyed hash; audited (audit.text_check), never the text. */
  checkText(eventId: string, text: string, actor: AuditActor): TextCheck {
    return checkTextAudited(this.log, eventId, text, actor);
  }

  /**
   * Seals what is waiting, then writes the bundle of the matching events, in
   * the transaction that writes its audit.export event. The export seals, in
   * its own transaction, the heartbeat that closes the range when no batch
   * follows it yet. Throws SealBeforeExportError when the first seal failed.
   */
  export(request: AuditExportRequest): AuditExport {
    let sealedFirst: SealedBatch[];
    try {
      // What happened up to now is sealed first, so the bundle can prove it.
      sealedFirst = this.seal();
    } catch (error) {
      if (error instanceof EnclaveError) throw new SealBeforeExportError(error);
      throw error;
    }
    const directory = request.directory ?? this.#exportFolder();
    const bundle = exportAuditedBundle(this.log, request.filter, directory, { user: request.actor, exportedBy: request.exportedBy }, this.#o.now, this.sealOptions());
    // A batch it sealed goes to the SIEM like any other.
    if (bundle.sealedBatches > 0) this.#announceSealed();
    return { sealedFirst: sealedFirst.length, bundle };
  }

  #exportFolder(): string {
    if (this.#o.exportDir === undefined) throw new EnclaveError('export_failed', 'No folder was named for the audit bundle.');
    const stamp = new Date(this.#o.now()).toISOString().replace(/[:.]/g, '-');
    return join(this.#o.exportDir, `audit-${this.#o.hostName}-${stamp}`);
  }

  /** Verifies an exported bundle against the key ids IT registered; needs nothing from this workstation. */
  static verifyBundle(directory: string, expectedKeyIds: string[]): BundleVerifyReport {
    return verifyAuditBundle(directory, { expectedKeyIds });
  }

  static describeBundleReport(report: BundleVerifyReport): string[] {
    return describeBundleReport(report);
  }

  static describeChainReport(report: AuditVerifyReport): string {
    return describeVerifyReport(report);
  }

  /** What a seal right now uses: policy's schedule and institution in the app; in the CLI, its own batch size and the last manifest's institution. */
  sealOptions(): SealOptions {
    if (this.#sealer) return this.#sealer.sealOptions();
    const { store, hostId, hostName, now, sealing } = this.#o;
    return {
      maxEvents: sealing?.schedule().batchMaxEvents ?? CLI_SEAL_MAX_EVENTS,
      // Policy is not read in the CLI: the institution as the last manifest named it.
      institution: sealing?.institution() ?? lastBatch(store.reader)?.manifest.origin.institution ?? 'Enclave',
      hostId,
      hostName,
      now,
    };
  }

  /** Seals whatever is waiting now (before an export, at shutdown). Throws what sealing throws. */
  seal(): SealedBatch[] {
    if (this.#sealer) return this.#sealer.sealNow();
    const sealed = sealPending(this.#o.store, this.sealOptions());
    if (sealed.length > 0) this.#announceSealed();
    return sealed;
  }

  /** Seals on policy's schedule from now on (the app). Needs the `sealing` option. */
  startSealing(): void {
    const { sealing } = this.#o;
    if (!sealing) throw new Error('Sealing on a schedule needs the policy (the sealing option).');
    if (this.#sealer) return;
    this.#sealer = new BatchSealer({
      store: this.#o.store,
      audit: this.log,
      schedule: sealing.schedule,
      identity: () => ({ institution: sealing.institution(), hostId: this.#o.hostId, hostName: this.#o.hostName }),
      now: this.#o.now,
      onSealed: () => this.#announceSealed(),
      log: this.#o.log ?? (() => undefined),
    });
    this.#sealer.start();
  }

  /** Stops the schedule; seal() still seals (at shutdown). */
  stopSealing(): void {
    this.#sealer?.stop();
  }

  /** Called after batches were sealed (the outbox looks for work). Returns the unsubscribe. */
  onSealed(listener: () => void): () => void {
    this.#sealedListeners.add(listener);
    return () => this.#sealedListeners.delete(listener);
  }

  #announceSealed(): void {
    for (const listener of this.#sealedListeners) listener();
  }

  /** The current signing key, or null before enrolment. */
  signingKey(): EnrolmentKey | null {
    return currentEnrolmentKey(this.#o.store);
  }

  /** Enrols on first start: makes the signing key pair and audits it (audit.enroll); later starts find it. */
  enrol(): EnrolmentKey {
    return ensureEnrolmentKey(this.#o.store, this.log, this.#o.now);
  }

  /**
   * A new signing key; waiting events (the rotation event included) are
   * sealed with the old one, in a batch that names the new one. Returns the
   * two keys and the batch that names the new key.
   */
  rotateSigningKey(actor: AuditActor): { previous: EnrolmentKey; current: EnrolmentKey; rotationBatch: number } {
    const { previous, current } = rotateEnrolmentKey(this.#o.store, this.log, this.sealOptions(), actor);
    return { previous, current, rotationBatch: lastBatch(this.#o.store.reader)!.batchSeq };
  }

  /** Overwrites the private keys of retired signing keys (before a rekey, so no copy moves on under the new key). */
  wipeRetiredSigningKeys(): number {
    return this.#o.store.transaction(wipeRetiredSigningKeys);
  }
}
