// What the outbox hands a transport and what a transport may throw. One batch
// at a time per destination; a transport either confirms the whole batch
// (resolves) or throws a DeliveryError, and the outbox resends the whole batch.
import type { AuditRecord, BatchManifest } from '../audit/index.js';
import type { SiemDestination } from '../policy/index.js';

export type { SiemDestination };

export interface OutgoingEvent {
  seq: number;
  record: AuditRecord;
  /** The record's canonical JSON exactly as stored (and as hashed). */
  text: string;
}

export interface OutgoingBatch {
  batchSeq: number;
  manifest: BatchManifest;
  /** In sequence order; empty for a heartbeat. */
  events: readonly OutgoingEvent[];
}

/**
 * How the outbox reads what the audit service sealed (the core hands it the
 * audit service's): the outbox keeps its own cursors and never reads an audit
 * table itself.
 */
export interface SealedBatchSource {
  /** The whole batch, events in order, or null when it is not there or cannot be read whole. */
  read(batchSeq: number): OutgoingBatch | null;
  /** For the status bar: events waiting to be sealed, and the newest sealed batch. */
  sealing(): { pendingEvents: number; lastBatchSeq: number | null; lastSealedAt: number | null };
  /**
   * Deletes the local events of batches up to `confirmedThrough` (every
   * destination confirmed them) sealed at or before `sealedBy` (retention
   * passed), audited as audit.prune. Null when nothing was deleted.
   */
  pruneDelivered(confirmedThrough: number, sealedBy: number, retentionDays: number): { events: number; throughSeq: number } | null;
}

/** What every rendering needs besides the record itself. */
export interface RenderContext {
  /** IANA Private Enterprise Number for RFC 5424 structured data (policy siem.enterpriseNumber). */
  enterpriseNumber: number;
  /** Enclave's version, for CEF/LEEF headers. */
  productVersion: string;
  /** The vendor field of CEF/LEEF headers. */
  vendor: string;
}

/**
 * Why a delivery failed, in words for the status bar, with a stable code:
 * - certificate_rejected: the receiver's certificate is not trusted (wrong CA, name mismatch, expired)
 * - client_certificate_rejected: the receiver refused our client certificate (mutual TLS)
 * - host_unreachable: DNS, connection refused, no route
 * - timeout: no answer in time
 * - connection_reset: the connection broke before the batch was confirmed
 * - token_refused: HEC token missing, invalid or disabled
 * - rejected: the receiver answered but refused the data (4xx, per-item errors)
 * - server_busy: the receiver asked us to come back later (503, 429)
 * - server_error: 5xx or a malformed answer
 * - ack_pending: HEC indexer acknowledgement did not arrive in time
 * - configuration: a file named in policy cannot be read
 */
export type DeliveryErrorCode =
  | 'certificate_rejected'
  | 'client_certificate_rejected'
  | 'host_unreachable'
  | 'timeout'
  | 'connection_reset'
  | 'token_refused'
  | 'rejected'
  | 'server_busy'
  | 'server_error'
  | 'ack_pending'
  | 'configuration';

export class DeliveryError extends Error {
  readonly code: DeliveryErrorCode;
  constructor(code: DeliveryErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeliveryError';
    this.code = code;
  }
}

export interface Transport {
  /** Delivers the whole batch (its events, then its manifest) and resolves only once the receiver confirmed it. */
  send(batch: OutgoingBatch, signal: AbortSignal): Promise<void>;
  /**
   * Optional: delivers consecutive batches as one unit (all confirmed, or none),
   * where one confirmation per batch would be costly (syslog's clean close).
   */
  sendBatches?(batches: readonly OutgoingBatch[], signal: AbortSignal): Promise<void>;
  /** Releases sockets and agents. */
  close(): Promise<void>;
}
