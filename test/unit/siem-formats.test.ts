// The syslog renderings of audit events and manifests: RFC 5424 with Enclave's
// structured data, CEF and LEEF 2.0 bodies, the manifest always as canonical
// JSON, and RFC 5425 octet-counted framing. Expected strings are written out in
// full and were checked by hand against RFC 5424 sections 6 and 6.3.3, the
// ArcSight CEF implementation standard (header and extension escaping,
// dictionary keys) and IBM's LEEF 2.0 guide (header with delimiter field).
import { describe, expect, it } from 'vitest';
import { AuditRecordSchema, BatchManifestSchema, canonicalJson, type AuditRecord, type BatchManifest } from '../support/audit-internals.js';
import { escapeCefHeader, escapeCefValue, renderCef } from '../../src/main/siem/formats/cef.js';
import { leefDevTime, leefValue, renderLeef } from '../../src/main/siem/formats/leef.js';
import { escapeParamValue, headerField, severityOf, structuredDataElement } from '../../src/main/siem/formats/rfc5424.js';
import { renderEventMessage, renderManifestMessage, renderSyslogBatch, type SyslogFormat } from '../../src/main/siem/formats/syslog.js';
import { octetCountedFrame } from '../../src/main/siem/transports/syslog-tls.js';
import type { OutgoingBatch, OutgoingEvent, RenderContext } from '../../src/main/siem/types.js';

const CTX: RenderContext = { enterpriseNumber: 32473, productVersion: '0.1.0', vendor: 'Enclave Health' };

const EID = '0195a3b4-c5d6-7e8f-9a0b-1c2d3e4f5a6b';
const HASH = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const PREV = '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d';
const MODEL_SHA = 'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77';
const PROMPT_SHA = 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7';
const BOM = '\uFEFF';

const RECORD: AuditRecord = AuditRecordSchema.parse({
  '@timestamp': '2025-03-04T05:06:07.089Z',
  event: { id: EID, sequence: 42, action: 'ai.prompt', outcome: 'success', hash: HASH },
  prev: PREV,
  host: { id: 'ws-0001', name: 'ward7-pc12.hospital.example' },
  service: { name: 'enclave', version: '0.1.0' },
  user: { id: 'S-1-5-21-1004', name: 'alice@hospital.example', roles: ['clinician', 'researcher'], auth_method: 'password' },
  enclave: { clock_state: 'synced', session_id: 'S-77', message_id: 'M-3', workload: 'note-summary', model: { id: 'llama-3-8b', sha256: MODEL_SHA } },
  ai: { prompt: { sha256: PROMPT_SHA, tokens: 12, chars: 48 } },
});

function outgoing(record: AuditRecord): OutgoingEvent {
  return { seq: record.event.sequence, record, text: canonicalJson(record) };
}

function withEvent(patch: Partial<AuditRecord['event']>, rest: Partial<AuditRecord> = {}): AuditRecord {
  return { ...RECORD, ...rest, event: { ...RECORD.event, ...patch } };
}

const MANIFEST: BatchManifest = BatchManifestSchema.parse({
  format: 'enclave-audit-batch/v1',
  origin: { institution: 'St Example Hospital', host_id: 'ws-0001', host_name: 'ward7-pc12.hospital.example' },
  batch_seq: 7,
  kind: 'events',
  first_seq: 41,
  last_seq: 42,
  event_count: 2,
  oldest: '2025-03-04T05:06:06.000Z',
  newest: '2025-03-04T05:06:07.089Z',
  created: '2025-03-04T05:11:07.000Z',
  tree_size: 42,
  root: PROMPT_SHA,
  prev_manifest_hash: PREV,
  prev_signature: 'c2lnbmF0dXJl',
  start: null,
  key_id: MODEL_SHA,
  alg: 'Ed25519',
  signature: 'c2lnbmF0dXJlIGJ5dGVz',
});

const HEARTBEAT: BatchManifest = BatchManifestSchema.parse({
  ...MANIFEST,
  batch_seq: 8,
  kind: 'heartbeat',
  first_seq: null,
  last_seq: null,
  event_count: 0,
  oldest: null,
  newest: null,
  created: '2025-03-04T06:11:07.000Z',
});

const SD_EVENT = `[enclave@32473 eid="${EID}" seq="42" batch="7" hash="${HASH}"]`;
const HEADER_EVENT = '<86>1 2025-03-04T05:06:07.089Z ward7-pc12.hospital.example enclave - AUDIT_EVENT';

describe('RFC 5424 messages', () => {
  it('an event in rfc5424-json: header, structured data, then BOM + the canonical JSON exactly as stored', () => {
    const event = outgoing(RECORD);
    const message = renderEventMessage(event, 7, 'rfc5424-json', CTX);
    // PRI 86 = authpriv (10) * 8 + informational (6); VERSION 1; PROCID NILVALUE.
    expect(message).toBe(`${HEADER_EVENT} ${SD_EVENT} ${BOM}${event.text}`);
    expect(Buffer.from(message, 'utf8').includes(Buffer.from([0xef, 0xbb, 0xbf]))).toBe(true);
  });

  it('sends the stored text as is, even where it differs from what a re-serialisation would give', () => {
    const event = { ...outgoing(RECORD), text: '{"stored":"text"}' };
    expect(renderEventMessage(event, 7, 'rfc5424-json', CTX).endsWith(` ${BOM}{"stored":"text"}`)).toBe(true);
  });

  it('a manifest: MSGID AUDIT_BATCH, batch/first/last/size/root, BOM + canonical JSON', () => {
    expect(renderManifestMessage(MANIFEST, CTX)).toBe(
      `<86>1 2025-03-04T05:11:07.000Z ward7-pc12.hospital.example enclave - AUDIT_BATCH [enclave@32473 batch="7" first="41" last="42" size="42" root="${PROMPT_SHA}"] ${BOM}${canonicalJson(MANIFEST)}`,
    );
  });

  it('a heartbeat manifest has no first or last', () => {
    expect(renderManifestMessage(HEARTBEAT, CTX)).toBe(
      `<86>1 2025-03-04T06:11:07.000Z ward7-pc12.hospital.example enclave - AUDIT_BATCH [enclave@32473 batch="8" size="42" root="${PROMPT_SHA}"] ${BOM}${canonicalJson(HEARTBEAT)}`,
    );
  });

  it('escapes ", \\ and ] in PARAM-VALUE (RFC 5424 section 6.3.3) and nothing else', () => {
    expect(escapeParamValue('a"b\\c]d[e=f')).toBe('a\\"b\\\\c\\]d[e=f');
    expect(
      structuredDataElement('enclave@32473', [
        ['x', 'say "hi"] \\o/'],
        ['absent', undefined],
        ['n', 3],
      ]),
    ).toBe('[enclave@32473 x="say \\"hi\\"\\] \\\\o/" n="3"]');
  });

  it('keeps HOSTNAME to PRINTUSASCII, at most 255 characters, NILVALUE when empty', () => {
    expect(headerField('WARD 7 PC', 255)).toBe('WARD_7_PC');
    expect(headerField('pc-ü', 255)).toBe('pc-_');
    expect(headerField('', 255)).toBe('-');
    expect(headerField('h'.repeat(300), 255)).toBe('h'.repeat(255));
    const message = renderEventMessage(outgoing({ ...RECORD, host: { id: 'ws-0001', name: 'Ward 7 PC' } }), 7, 'rfc5424-json', CTX);
    expect(message.startsWith('<86>1 2025-03-04T05:06:07.089Z Ward_7_PC enclave - AUDIT_EVENT ')).toBe(true);
  });

  it('maps outcome and action to severity: informational, notice on failure or unknown, warning for break-glass and corruption', () => {
    const pri = (record: AuditRecord) => renderEventMessage(outgoing(record), 1, 'rfc5424-json', CTX).slice(0, 5);
    expect(pri(RECORD)).toBe('<86>1');
    expect(pri(withEvent({ action: 'auth.login', outcome: 'failure', reason: 'bad_credentials' }))).toBe('<85>1');
    expect(pri(withEvent({ outcome: 'unknown' }))).toBe('<85>1');
    expect(pri(withEvent({ action: 'auth.breakglass' }))).toBe('<84>1');
    expect(pri(withEvent({ action: 'auth.breakglass', outcome: 'failure' }))).toBe('<84>1');
    expect(pri(withEvent({ action: 'audit.corruption_detected' }))).toBe('<84>1');
    expect(severityOf(withEvent({ action: 'auth.logout' }))).toBe(6);
  });
});

describe('CEF', () => {
  it('renders the header and the extension with dictionary keys and labelled custom fields', () => {
    expect(renderCef(RECORD, 7, CTX)).toBe(
      'CEF:0|Enclave Health|Enclave|0.1.0|ai.prompt|Prompt sent to the model|3|' +
        [
          'rt=1741064767089',
          `externalId=${EID}`,
          'act=ai.prompt',
          'cat=ai',
          'outcome=success',
          'suser=alice@hospital.example',
          'suid=S-1-5-21-1004',
          'dvchost=ward7-pc12.hospital.example',
          'deviceExternalId=ws-0001',
          'cn1=42 cn1Label=sequence',
          `cs1=${HASH} cs1Label=eventHash`,
          'cs2=S-77 cs2Label=sessionId',
          `cs3=${MODEL_SHA} cs3Label=modelSha256`,
          'cs4=7 cs4Label=batch',
          'cs5=clinician,researcher cs5Label=roles',
          'cs6=llama-3-8b cs6Label=modelId',
          'flexString1=note-summary flexString1Label=workload',
        ].join(' '),
    );
  });

  it('leaves absent fields out', () => {
    const system = { ...RECORD, event: { ...RECORD.event, action: 'store.open' as const }, enclave: { clock_state: 'unknown' as const } };
    delete (system as Partial<AuditRecord>).user;
    delete (system as Partial<AuditRecord>).ai;
    expect(renderCef(system, 1, CTX)).toBe(
      `CEF:0|Enclave Health|Enclave|0.1.0|store.open|Encrypted database opened|3|rt=1741064767089 externalId=${EID} act=store.open cat=store outcome=success ` +
        `dvchost=ward7-pc12.hospital.example deviceExternalId=ws-0001 cn1=42 cn1Label=sequence cs1=${HASH} cs1Label=eventHash cs4=1 cs4Label=batch`,
    );
  });

  it('escapes \\ and | in the header, \\ = CR LF in extension values (pipes stay)', () => {
    expect(escapeCefHeader('Acme|Health\\Corp')).toBe('Acme\\|Health\\\\Corp');
    expect(escapeCefHeader('two\r\nlines')).toBe('two lines');
    expect(escapeCefValue('a=b\\c\r\nd|e')).toBe('a\\=b\\\\c\\r\\nd|e');
    const failed = withEvent({ action: 'auth.login', outcome: 'failure', reason: 'bad=password\nline|2\\x' }, { user: { name: 'o=brien|x' } });
    const line = renderCef(failed, 7, { ...CTX, vendor: 'St|Example\\Health' });
    expect(line.startsWith('CEF:0|St\\|Example\\\\Health|Enclave|0.1.0|auth.login|Sign-in|5|')).toBe(true);
    expect(line).toContain(' outcome=failure reason=bad\\=password\\nline|2\\\\x suser=o\\=brien|x ');
    expect(line).not.toMatch(/[\r\n]/);
  });

  it('maps severity to 3 (low), 5 (medium) and 8 (high)', () => {
    const severity = (record: AuditRecord) => renderCef(record, 1, CTX).split('|')[6];
    expect(severity(RECORD)).toBe('3');
    expect(severity(withEvent({ outcome: 'failure' }))).toBe('5');
    expect(severity(withEvent({ outcome: 'unknown' }))).toBe('5');
    expect(severity(withEvent({ action: 'auth.breakglass' }))).toBe('8');
    expect(severity(withEvent({ action: 'audit.corruption_detected', outcome: 'failure' }))).toBe('8');
  });
});

describe('LEEF 2.0', () => {
  it('renders the header with the ^ delimiter field and the attributes', () => {
    expect(renderLeef(RECORD, 7, CTX)).toBe(
      'LEEF:2.0|Enclave Health|Enclave|0.1.0|ai.prompt|^|' +
        [
          'devTime=2025-03-04T05:06:07.089+0000',
          "devTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSZ",
          'cat=success',
          'sev=3',
          'outcome=success',
          'usrName=alice@hospital.example',
          'userId=S-1-5-21-1004',
          'role=clinician,researcher',
          'authMethod=password',
          'identHostName=ward7-pc12.hospital.example',
          'hostId=ws-0001',
          `eventId=${EID}`,
          'seq=42',
          `hash=${HASH}`,
          'batch=7',
          'sessionId=S-77',
          'messageId=M-3',
          'workload=note-summary',
          'modelId=llama-3-8b',
          `modelSha256=${MODEL_SHA}`,
          `promptSha256=${PROMPT_SHA}`,
        ].join('^'),
    );
  });

  it('replaces the delimiter, CR and LF inside values with a space (LEEF has no escape for them)', () => {
    expect(leefValue('a^b\r\nc\td=e|f\\g')).toBe('a b  c d=e|f\\g');
    const line = renderLeef(withEvent({ outcome: 'failure', reason: 'locked^out\nnow' }, { user: { name: 'x^y' } }), 7, { ...CTX, vendor: 'Acme|Health' });
    expect(line.startsWith('LEEF:2.0|Acme Health|Enclave|0.1.0|ai.prompt|^|')).toBe(true);
    expect(line).toContain('^cat=failure^sev=5^outcome=failure^reason=locked out now^usrName=x y^');
    expect(line).not.toMatch(/[\r\n]/);
  });

  it('writes devTime in UTC with an explicit offset', () => {
    expect(leefDevTime('2025-12-31T23:59:59.999Z')).toBe('2025-12-31T23:59:59.999+0000');
  });

  it('maps severity like CEF', () => {
    expect(renderLeef(withEvent({ action: 'auth.breakglass' }), 1, CTX)).toContain('^sev=8^');
    expect(renderLeef(withEvent({ outcome: 'unknown' }), 1, CTX)).toContain('^sev=5^');
  });
});

describe('a whole batch', () => {
  const second = withEvent({ id: '0195a3b4-c5d6-7e8f-9a0b-1c2d3e4f5a6c', sequence: 43, action: 'ai.response', hash: PREV }, { prev: HASH });
  const batch: OutgoingBatch = { batchSeq: 7, manifest: MANIFEST, events: [outgoing(RECORD), outgoing(second)] };

  it.each<SyslogFormat>(['rfc5424-json', 'cef', 'leef'])('%s: every event in order, then the manifest, always as canonical JSON', (format) => {
    const messages = renderSyslogBatch(batch, format, CTX);
    expect(messages).toHaveLength(3);
    expect(messages[0]).toContain(` AUDIT_EVENT [enclave@32473 eid="${EID}" seq="42" batch="7" `);
    expect(messages[1]).toContain(' AUDIT_EVENT [enclave@32473 eid="0195a3b4-c5d6-7e8f-9a0b-1c2d3e4f5a6c" seq="43" batch="7" ');
    expect(messages[2]).toBe(renderManifestMessage(MANIFEST, CTX));
    expect(messages[2]!.endsWith(`] ${BOM}${canonicalJson(MANIFEST)}`)).toBe(true);
    const body = messages[0]!.slice(messages[0]!.indexOf(SD_EVENT) + SD_EVENT.length + 1);
    if (format === 'rfc5424-json') expect(body).toBe(BOM + canonicalJson(RECORD));
    if (format === 'cef') expect(body).toBe(renderCef(RECORD, 7, CTX)); // no BOM: CEF parsers expect "CEF:" first
    if (format === 'leef') expect(body).toBe(renderLeef(RECORD, 7, CTX));
  });

  it('a heartbeat batch is its manifest alone', () => {
    expect(renderSyslogBatch({ batchSeq: 8, manifest: HEARTBEAT, events: [] }, 'cef', CTX)).toEqual([renderManifestMessage(HEARTBEAT, CTX)]);
  });
});

describe('RFC 5425 framing', () => {
  it('prefixes the length in bytes of UTF-8, not in characters', () => {
    expect(octetCountedFrame('<86>1 - - - - - -').toString('utf8')).toBe('17 <86>1 - - - - - -');
    const message = `<86>1 - - - - - - ${BOM}{"name":"Zoë"}`;
    // 18 ASCII characters, the BOM (1 character, 3 bytes), then 14 characters of which ë takes 2 bytes: 33 characters, 36 bytes
    expect(message).toHaveLength(33);
    expect(octetCountedFrame(message).toString('utf8')).toBe(`36 ${message}`);
  });
});
