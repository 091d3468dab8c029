// What a syslog destination receives for one sealed batch (pure): one RFC 5424
// message per event, in sequence order, then the batch's signed manifest.
//
// The event's body is in the destination's format: the canonical JSON exactly
// as stored (so the SIEM can recompute event.hash from the bytes it received),
// a CEF line, or a LEEF 2.0 line. CEF and LEEF bodies go without a BOM (RFC
// 5424's MSG-ANY): their parsers expect the message to start with "CEF:" or
// "LEEF:". The manifest is always BOM + canonical JSON, whatever the format:
// its signature covers the canonical bytes, so they must arrive exact.
import { canonicalJson, type BatchManifest } from '../../audit/index.js';
import type { OutgoingBatch, OutgoingEvent, RenderContext, SiemDestination } from '../types.js';
import { renderCef } from './cef.js';
import { renderLeef } from './leef.js';
import { BOM, eventStructuredData, formatSyslogMessage, manifestStructuredData, MSGID_BATCH, MSGID_EVENT, SEVERITY, severityOf } from './rfc5424.js';

export type SyslogFormat = Extract<SiemDestination, { type: 'syslog-tls' }>['format'];

export function renderEventBody(event: OutgoingEvent, batchSeq: number, format: SyslogFormat, ctx: RenderContext): string {
  switch (format) {
    case 'rfc5424-json':
      return BOM + event.text;
    case 'cef':
      return renderCef(event.record, batchSeq, ctx);
    case 'leef':
      return renderLeef(event.record, batchSeq, ctx);
  }
}

export function renderEventMessage(event: OutgoingEvent, batchSeq: number, format: SyslogFormat, ctx: RenderContext): string {
  return formatSyslogMessage({
    severity: severityOf(event.record),
    timestamp: event.record['@timestamp'],
    hostname: event.record.host.name,
    msgId: MSGID_EVENT,
    structuredData: eventStructuredData(event.record, batchSeq, ctx.enterpriseNumber),
    body: renderEventBody(event, batchSeq, format, ctx),
  });
}

export function renderManifestMessage(manifest: BatchManifest, ctx: RenderContext): string {
  return formatSyslogMessage({
    severity: SEVERITY.informational,
    timestamp: manifest.created,
    hostname: manifest.origin.host_name,
    msgId: MSGID_BATCH,
    structuredData: manifestStructuredData(manifest, ctx.enterpriseNumber),
    body: BOM + canonicalJson(manifest),
  });
}

/** Every event of the batch in sequence order, then its manifest last. */
export function renderSyslogBatch(batch: OutgoingBatch, format: SyslogFormat, ctx: RenderContext): string[] {
  return [...batch.events.map((event) => renderEventMessage(event, batch.batchSeq, format, ctx)), renderManifestMessage(batch.manifest, ctx)];
}
