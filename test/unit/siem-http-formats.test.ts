// The exact bytes Enclave sends to Splunk HEC and to Elastic's _bulk API, and
// that the SIEM side can re-derive each record's canonical JSON (and so its
// event.hash) from what it received.
import { describe, expect, it } from 'vitest';
import { AuditRecordSchema, BatchManifestSchema, canonicalJson, hashRecord, type AuditRecord, type BatchManifest } from '../support/audit-internals.js';
import { bulkBody, manifestDocumentId, renderBulkBatch, renderBulkEvent, renderBulkManifest } from '../../src/main/siem/formats/ecs.js';
import { hecBody, hecTime, renderHecBatch, renderHecEvent, renderHecManifest } from '../../src/main/siem/formats/hec.js';
import { deliveryErrorFromNetwork, type ConnectionContext } from '../../src/main/siem/transports/tls.js';
import { hecEndpoints, hecError } from '../../src/main/siem/transports/splunk-hec.js';
import { confirmBulk } from '../../src/main/siem/transports/https-json.js';
import type { OutgoingBatch, OutgoingEvent } from '../../src/main/siem/types.js';
import { DeliveryError } from '../../src/main/siem/types.js';

const EVENT_ID = '01954f2a-7c15-7d3e-9a41-3c2b1d0e9f88';

function makeEvent(): OutgoingEvent {
  const unhashed = {
    '@timestamp': '2025-03-01T12:34:56.789Z',
    event: { id: EVENT_ID, sequence: 7, action: 'auth.login' as const, outcome: 'success' as const },
    prev: 'a'.repeat(64),
    host: { id: 'ws-0001', name: 'WARD7-PC' },
    service: { name: 'enclave' as const, version: '0.1.0' },
    user: { name: 'jdoe@hospital.example', roles: ['clinician' as const], auth_method: 'password' },
    enclave: { clock_state: 'unknown' as const, detail: { note: 'line one\nline two "quoted" | = \\' } },
  };
  const record: AuditRecord = AuditRecordSchema.parse({ ...unhashed, event: { ...unhashed.event, hash: hashRecord(unhashed) } });
  return { seq: 7, record, text: canonicalJson(record) };
}

const MANIFEST: BatchManifest = BatchManifestSchema.parse({
  format: 'enclave-audit-batch/v1',
  origin: { institution: 'St Example', host_id: 'ws-0001', host_name: 'WARD7-PC' },
  batch_seq: 3,
  kind: 'events',
  first_seq: 7,
  last_seq: 7,
  event_count: 1,
  oldest: '2025-03-01T12:34:56.789Z',
  newest: '2025-03-01T12:34:56.789Z',
  created: '2025-03-01T12:35:00.000Z',
  tree_size: 7,
  root: 'b'.repeat(64),
  prev_manifest_hash: 'c'.repeat(64),
  prev_signature: 'AAAA',
  start: null,
  key_id: 'd'.repeat(64),
  alg: 'Ed25519',
  signature: 'c2lnbmF0dXJl',
});

const event = makeEvent();
const batch: OutgoingBatch = { batchSeq: 3, manifest: MANIFEST, events: [event] };

describe('Splunk HEC rendering', () => {
  it('renders an audit record as a HEC event object, exactly', () => {
    const { id, json } = renderHecEvent(event, 3);
    expect(id).toBe(EVENT_ID);
    expect(json).toBe(
      `{"time":1740832496.789,"host":"WARD7-PC","source":"enclave","sourcetype":"enclave:audit","event":${event.text},` +
        `"fields":{"event_id":"${EVENT_ID}","seq":"7","batch_seq":"3","host_id":"ws-0001"}}`,
    );
  });

  it('carries the stored canonical JSON byte for byte, so the SIEM recomputes event.hash', () => {
    const { json } = renderHecEvent(event, 3);
    expect(json).toContain(event.text);
    const received = JSON.parse(json) as { event: AuditRecord };
    expect(canonicalJson(received.event)).toBe(event.text);
    expect(hashRecord(received.event)).toBe(event.record.event.hash);
  });

  it('renders the manifest as its own sourcetype with the batch fields', () => {
    const { id, json } = renderHecManifest(MANIFEST);
    expect(id).toBe('batch-ws-0001-3');
    expect(json).toBe(
      `{"time":1740832500,"host":"WARD7-PC","source":"enclave","sourcetype":"enclave:audit:batch","event":${JSON.stringify(MANIFEST)},` +
        `"fields":{"event_id":"batch-ws-0001-3","batch_seq":"3","host_id":"ws-0001"}}`,
    );
    expect(JSON.parse(json).event).toEqual(MANIFEST);
  });

  it('stacks a batch as {…}{…}: events in order, then the manifest', () => {
    const items = renderHecBatch(batch);
    expect(items.map((i) => i.id)).toEqual([EVENT_ID, 'batch-ws-0001-3']);
    expect(hecBody(items)).toBe(`${renderHecEvent(event, 3).json}${renderHecManifest(MANIFEST).json}`);
    expect(renderHecBatch({ ...batch, events: [] }).map((i) => i.id)).toEqual(['batch-ws-0001-3']);
  });

  it('gives time as epoch seconds with milliseconds', () => {
    expect(hecTime('1970-01-01T00:00:01.500Z')).toBe(1.5);
    expect(hecTime('2025-03-01T12:34:56.001Z')).toBe(1740832496.001);
    expect(() => hecTime('yesterday')).toThrow();
  });
});

describe('Elastic _bulk rendering', () => {
  it('renders an audit record as a create action with _id = event.id and the record as stored', () => {
    expect(renderBulkEvent(event)).toEqual({ id: EVENT_ID, lines: `{"create":{"_id":"${EVENT_ID}"}}\n${event.text}\n` });
  });

  it('renders the manifest as an ECS state document holding the manifest unchanged', () => {
    const { id, lines } = renderBulkManifest(MANIFEST);
    expect(id).toBe('batch-ws-0001-3');
    expect(manifestDocumentId(MANIFEST)).toBe(id);
    expect(lines).toBe(
      `{"create":{"_id":"batch-ws-0001-3"}}\n` +
        `{"@timestamp":"2025-03-01T12:35:00.000Z","enclave":{"manifest":${canonicalJson(MANIFEST)}},"event":{"dataset":"enclave.audit_batch","kind":"state"}}\n`,
    );
    const document = JSON.parse(lines.split('\n')[1]!) as { enclave: { manifest: unknown } };
    expect(BatchManifestSchema.parse(document.enclave.manifest)).toEqual(MANIFEST);
  });

  it('makes an NDJSON body of action/source pairs ending with a newline', () => {
    const body = bulkBody(renderBulkBatch(batch));
    expect(body.endsWith('\n')).toBe(true);
    const lines = body.split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[4]).toBe('');
    expect(lines.slice(0, 4).every((line) => JSON.parse(line) !== null)).toBe(true);
    expect(lines[1]).toBe(event.text);
  });

  it('refuses a record that is not single-line JSON rather than corrupt the stream', () => {
    expect(() => renderBulkEvent({ ...event, text: '{\n}' })).toThrow(/single-line/);
  });
});

describe('HEC endpoints', () => {
  it.each([
    ['https://splunk.example.org:8088', 'https://splunk.example.org:8088/services/collector/event'],
    ['https://splunk.example.org:8088/', 'https://splunk.example.org:8088/services/collector/event'],
    ['https://splunk.example.org:8088/services/collector', 'https://splunk.example.org:8088/services/collector/event'],
    ['https://splunk.example.org:8088/services/collector/event', 'https://splunk.example.org:8088/services/collector/event'],
    ['https://splunk.example.org:8088/services/collector/event/1.0', 'https://splunk.example.org:8088/services/collector/event'],
    ['https://proxy.example.org/splunk/services/collector/', 'https://proxy.example.org/splunk/services/collector/event'],
  ])('%s posts to %s', (url, expected) => {
    const { event: eventUrl, ack } = hecEndpoints(url);
    expect(eventUrl.href).toBe(expected);
    expect(ack.href).toBe(expected.replace(/event$/, 'ack'));
  });
});

describe('error words', () => {
  const response = (status: number, body: string) => ({ status, headers: {}, body });
  const connection: ConnectionContext = { address: 'siem.example.org:8088', caFile: '/etc/enclave/siem-ca.pem', clientCertFile: '/etc/enclave/client.pem' };

  it.each([
    [403, '{"text":"Invalid token","code":4}', 'token_refused'],
    [403, '{"text":"Token disabled","code":1}', 'token_refused'],
    [401, '{"text":"Token is required","code":2}', 'token_refused'],
    [400, '{"text":"Invalid data format","code":6,"invalid-event-number":2}', 'rejected'],
    [400, '{"text":"No data","code":5}', 'rejected'],
    [400, '{"text":"Data channel is missing","code":10}', 'rejected'],
    [400, '{"text":"ACK is disabled","code":14}', 'rejected'],
    [503, '{"text":"Server is busy","code":9}', 'server_busy'],
    [429, '', 'server_busy'],
    [500, '{"text":"Internal server error","code":8}', 'server_error'],
    [502, '<html>bad gateway</html>', 'server_error'],
    [200, '<html>proxy login</html>', 'server_error'],
  ])('HEC %i %s → %s', (status, body, code) => {
    const answer = body.startsWith('{') ? (JSON.parse(body) as Record<string, never>) : undefined;
    expect(hecError(response(status, body), answer, 'Splunk at splunk:8088').code).toBe(code);
  });

  it('says plainly when acknowledgement is off on the Splunk side', () => {
    expect(hecError(response(400, ''), { text: 'ACK is disabled', code: 14 }, 'Splunk at splunk:8088').message).toMatch(/acknowledgement is off for this HEC token/);
  });

  it('confirms a bulk answer whose failures are all 409 version conflicts, and names the first real refusal', () => {
    const sent = [
      { id: 'a', lines: '' },
      { id: 'b', lines: '' },
    ];
    const conflict = { _id: 'a', status: 409, error: { type: 'version_conflict_engine_exception', reason: '[a]: version conflict, document already exists (current version [1])' } };
    expect(() => confirmBulk(response(200, JSON.stringify({ errors: true, items: [{ create: conflict }, { create: { _id: 'b', status: 201 } }] })), sent, 'Elastic')).not.toThrow();
    const refused = { _id: 'b', status: 400, error: { type: 'document_parsing_exception', reason: 'failed to parse' } };
    const error = (() => {
      try {
        confirmBulk(response(200, JSON.stringify({ errors: true, items: [{ create: conflict }, { create: refused }] })), sent, 'Elastic');
      } catch (e) {
        return e as DeliveryError;
      }
      throw new Error('confirmed');
    })();
    expect(error.code).toBe('rejected');
    expect(error.message).toContain('document b (document_parsing_exception: failed to parse)');
    expect(() => confirmBulk(response(200, '{"acknowledged":true}'), sent, 'Elastic')).toThrow(/not with an Elastic _bulk answer/);
    expect(() => confirmBulk(response(200, JSON.stringify({ errors: false, items: [{ create: { _id: 'a', status: 201 } }] })), sent, 'Elastic')).toThrow(/1 of the 2/);
  });

  it.each([
    [{ code: 'SELF_SIGNED_CERT_IN_CHAIN' }, 'certificate_rejected', /not trusted \(signed by an unknown CA\).*caFile/],
    [{ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, 'certificate_rejected', /unknown CA/],
    [{ code: 'CERT_HAS_EXPIRED' }, 'certificate_rejected', /expired/],
    [{ code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, 'certificate_rejected', /is not for siem\.example\.org/],
    [{ code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', message: 'tlsv13 alert certificate required' }, 'client_certificate_rejected', /requires a client certificate/],
    [{ code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', message: 'tlsv1 alert unknown ca' }, 'client_certificate_rejected', /refused our client certificate/],
    [{ code: 'EPROTO', message: 'write EPROTO error:0A000412:SSL routines::sslv3 alert bad certificate' }, 'client_certificate_rejected', /refused our client certificate/],
    [{ code: 'ECONNREFUSED' }, 'host_unreachable', /Nothing accepts connections at siem\.example\.org:8088 \(connection refused\)/],
    [{ code: 'ENOTFOUND' }, 'host_unreachable', /DNS/],
    [{ code: 'EHOSTUNREACH' }, 'host_unreachable', /no route/],
    [{ code: 'ETIMEDOUT' }, 'timeout', /in time/],
    [{ code: 'ECONNRESET', message: 'socket hang up' }, 'connection_reset', /broke before the batch was confirmed/],
    [{ code: 'EPIPE' }, 'connection_reset', /broke/],
  ] as Array<[{ code: string; message?: string }, string, RegExp]>)('%o → %s', (raw, code, words) => {
    const error = Object.assign(new Error(raw.message ?? raw.code), raw);
    const classified = deliveryErrorFromNetwork(error, connection);
    expect(classified).toBeInstanceOf(DeliveryError);
    expect(classified.code).toBe(code);
    expect(classified.message).toMatch(words);
  });
});
