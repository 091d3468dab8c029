// ECS documents in Elastic's `_bulk` format, for the https-json transport
// (https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk):
// NDJSON, an action line then the document, the body ending with a newline.
//
// Each audit record is sent exactly as stored: its canonical JSON already uses
// ECS field names, and keeping the bytes lets the SIEM side recompute
// event.hash without any mapping. The action is `create` with `_id` =
// event.id, so a resent batch is idempotent: Elastic answers 409
// version_conflict_engine_exception for an _id it already holds.
import { canonicalJson, type BatchManifest } from '../../audit/index.js';
import type { OutgoingBatch, OutgoingEvent } from '../types.js';

/** ECS event.dataset of the batch manifest documents. */
export const MANIFEST_DATASET = 'enclave.audit_batch';

/** One `_bulk` item: its document id and its two NDJSON lines, each ending with "\n". */
export interface BulkItem {
  id: string;
  lines: string;
}

/** The id a batch manifest carries downstream (Elastic `_id`, Splunk fields.event_id): unique per workstation and batch. */
export function manifestDocumentId(manifest: BatchManifest): string {
  return `batch-${manifest.origin.host_id}-${manifest.batch_seq}`;
}

function actionLine(id: string): string {
  return JSON.stringify({ create: { _id: id } });
}

/** An audit record: `{"create":{"_id":"<event.id>"}}` then the stored canonical JSON. */
export function renderBulkEvent(event: OutgoingEvent): BulkItem {
  // Canonical JSON escapes every control character, so a stored record is one line.
  if (event.text.includes('\n') || event.text.includes('\r')) throw new Error(`Audit event ${event.seq} is not single-line canonical JSON.`);
  const id = event.record.event.id;
  return { id, lines: `${actionLine(id)}\n${event.text}\n` };
}

/** The manifest document: an ECS "state" event holding the signed manifest unchanged. */
export function renderBulkManifest(manifest: BatchManifest): BulkItem {
  const id = manifestDocumentId(manifest);
  const document = {
    '@timestamp': manifest.created,
    event: { kind: 'state', dataset: MANIFEST_DATASET },
    enclave: { manifest },
  };
  return { id, lines: `${actionLine(id)}\n${canonicalJson(document)}\n` };
}

/** A whole batch in delivery order: its events by sequence, then its manifest. */
export function renderBulkBatch(batch: OutgoingBatch): BulkItem[] {
  return [...batch.events.map(renderBulkEvent), renderBulkManifest(batch.manifest)];
}

/** The NDJSON body for some items (each already ends with a newline, as `_bulk` requires of the last line). */
export function bulkBody(items: readonly BulkItem[]): string {
  return items.map((item) => item.lines).join('');
}
