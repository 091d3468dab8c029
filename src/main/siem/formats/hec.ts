// Splunk HTTP Event Collector events ("Format events for HTTP Event Collector",
// https://help.splunk.com/splunk-enterprise/get-data-in/collect-http-event-data/format-events-for-http-event-collector):
// one JSON object per event with the metadata keys time, host, source,
// sourcetype, event and fields, several objects stacked `{…}{…}` in one POST
// to /services/collector/event.
//
// `event` is the record object itself (HEC keeps a JSON event as JSON), in the
// key order of its stored canonical JSON, so the SIEM side can re-derive the
// canonical text and check event.hash. `fields` are indexed fields; Splunk
// documents their values as strings (or arrays of strings), so numbers are sent
// as decimal strings.
import type { BatchManifest } from '../../audit/index.js';
import type { OutgoingBatch, OutgoingEvent } from '../types.js';
import { manifestDocumentId } from './ecs.js';

export const HEC_SOURCE = 'enclave';
export const HEC_EVENT_SOURCETYPE = 'enclave:audit';
export const HEC_BATCH_SOURCETYPE = 'enclave:audit:batch';

/** One HEC event object, rendered, with the id it carries in fields.event_id. */
export interface HecItem {
  id: string;
  json: string;
}

/** HEC `time`: epoch seconds with milliseconds as a number, e.g. 1433188255.5. */
export function hecTime(isoTimestamp: string): number {
  const ms = Date.parse(isoTimestamp);
  if (!Number.isFinite(ms)) throw new Error(`"${isoTimestamp}" is not a time.`);
  return ms / 1000;
}

/** An audit record as a HEC event. */
export function renderHecEvent(event: OutgoingEvent, batchSeq: number): HecItem {
  const { record } = event;
  const id = record.event.id;
  const envelope = {
    time: hecTime(record['@timestamp']),
    host: record.host.name,
    source: HEC_SOURCE,
    sourcetype: HEC_EVENT_SOURCETYPE,
    // Parsed from the stored text, not the schema-typed record, to keep the canonical key order.
    event: JSON.parse(event.text) as unknown,
    fields: { event_id: id, seq: String(event.seq), batch_seq: String(batchSeq), host_id: record.host.id },
  };
  return { id, json: JSON.stringify(envelope) };
}

/** A batch manifest as a HEC event of its own sourcetype, on the same stream as its events. */
export function renderHecManifest(manifest: BatchManifest): HecItem {
  const id = manifestDocumentId(manifest);
  const envelope = {
    time: hecTime(manifest.created),
    host: manifest.origin.host_name,
    source: HEC_SOURCE,
    sourcetype: HEC_BATCH_SOURCETYPE,
    event: manifest,
    // event_id makes a resent manifest as recognisable as a resent event.
    fields: { event_id: id, batch_seq: String(manifest.batch_seq), host_id: manifest.origin.host_id },
  };
  return { id, json: JSON.stringify(envelope) };
}

/** A whole batch in delivery order: its events by sequence, then its manifest. */
export function renderHecBatch(batch: OutgoingBatch): HecItem[] {
  return [...batch.events.map((event) => renderHecEvent(event, batch.batchSeq)), renderHecManifest(batch.manifest)];
}

/** The POST body for some items: the objects stacked with nothing between them. */
export function hecBody(items: readonly HecItem[]): string {
  return items.map((item) => item.json).join('');
}
