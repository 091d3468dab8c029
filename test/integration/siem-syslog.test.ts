// Syslog over TLS (RFC 5425) against a real rsyslog with GnuTLS and mutual TLS
// (test/support/rsyslog.ts): sealed batches from the real encrypted store,
// signed and Merkle-rooted, are sent in each format; the receiver's stream must
// hold every event exactly once, in order, with bodies a SIEM can check (the
// JSON recomputes event.hash; CEF and LEEF carry event id and hash), and the
// manifests must verify from the stream alone. Then the ways delivery fails:
// no or an untrusted client certificate, an untrusted receiver, nothing
// listening, the receiver restarting, a reset in mid-batch, a receiver that
// never confirms, and cancellation. A failed delivery must reject, never resolve.
import { randomBytes } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuditLog,
  AuditRecordSchema,
  BatchManifestSchema,
  canonicalJson,
  currentEnrolmentKey,
  ensureEnrolmentKey,
  hashRecord,
  MerkleFrontier,
  rootOf,
  sealNextBatch,
  sealPending,
  verifyManifestSignature,
  type AuditEventInput,
  type SealOptions,
  sealedBatchSource,
} from '../support/audit-internals.js';
import { createSyslogTlsTransport, type SyslogTlsDestination, type SyslogTlsOptions } from '../../src/main/siem/transports/syslog-tls.js';
import { DeliveryError, type OutgoingBatch, type RenderContext } from '../../src/main/siem/types.js';
import { openStore } from '../../src/main/store/index.js';
import { parseRfc5424, rsyslogDestination, startRsyslog, type ParsedSyslogMessage, type Rsyslog } from '../support/rsyslog.js';
import { withTlsVerificationOffInEnvironment } from '../support/insecure-tls-env.js';
import { tempDir } from '../support/temp.js';
import { call, nextEvent } from '../support/core.js';
import { createHeadlessCore } from '../../src/main/core/headless.js';
import { evaluationPolicy, policyFromDocument } from '../../src/main/policy/index.js';
import { rejectionOf } from '../support/rejection.js';

const CTX: RenderContext = { enterpriseNumber: 32473, productVersion: '0.1.0-test', vendor: 'Enclave Test' };
const SD_ID = 'enclave@32473';
const BOM = '\uFEFF';

let rsyslog: Rsyslog;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  rsyslog = await startRsyslog();
  cleanups.push(() => rsyslog.destroy());
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function destination(overrides: Partial<SyslogTlsDestination> = {}): SyslogTlsDestination {
  return rsyslogDestination(rsyslog, overrides);
}

function transportFor(overrides: Partial<SyslogTlsDestination> = {}, options?: SyslogTlsOptions) {
  const transport = createSyslogTlsTransport(destination(overrides), CTX, options);
  cleanups.push(() => transport.close());
  return transport;
}

/** Messages that arrive from here on. */
async function receivedAfter(send: () => Promise<void>, expected: number): Promise<ParsedSyslogMessage[]> {
  const before = (await rsyslog.messages()).length;
  await send();
  await rsyslog.waitForMessages(before + expected);
  // Anything beyond the expected count would be a duplicate: give it a moment to show.
  await new Promise((r) => setTimeout(r, 200));
  const received = (await rsyslog.messages()).slice(before);
  expect(received.length, 'messages received').toBe(expected);
  return received.map(parseRfc5424);
}

const rejection = (promise: Promise<unknown>): Promise<DeliveryError> => rejectionOf(promise, DeliveryError);

// --- Sealed batches on the real store ------------------------------------------------------------

const TRICKY_USER = { id: 'S-1-5-21-77', name: `o'brien|x=y\\z^w "q"] Zoë Ångström`, roles: ['clinician' as const], authMethod: 'password' };

const EVENTS: AuditEventInput[] = [
  { action: 'auth.login', outcome: 'failure', reason: 'bad_credentials', user: { name: TRICKY_USER.name } },
  { action: 'auth.login', outcome: 'success', user: TRICKY_USER },
  { action: 'session.create', outcome: 'success', user: TRICKY_USER, sessionId: 'S-1', workload: 'note-summary' },
  {
    action: 'ai.prompt',
    outcome: 'success',
    user: TRICKY_USER,
    sessionId: 'S-1',
    messageId: 'M-1',
    workload: 'note-summary',
    model: { id: 'test-model', sha256: 'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77' },
    prompt: { text: 'Summarise the discharge note for bed 4 in brief.', tokens: 12 },
  },
  { action: 'auth.breakglass', outcome: 'success', user: TRICKY_USER, detail: { reason: 'cardiac arrest, bed 4\nattending unavailable', ticket: 'INC=42|^' } },
  { action: 'auth.logout', outcome: 'success', user: TRICKY_USER },
];

interface Sealed {
  batches: OutgoingBatch[];
  publicKeyPem: string;
  /** Every event's stored canonical JSON by event id. */
  texts: Map<string, string>;
}

/** A fresh store: enrolment, the events above (twice, a heartbeat between), sealed in batches of 4. */
function sealedBatches(options: { extraEvents?: number; detailBytes?: number } = {}): Sealed {
  const dir = tempDir();
  cleanups.push(dir.remove);
  const store = openStore({ path: join(dir.path, 'enclave.db'), key: randomBytes(32) });
  cleanups.push(() => store.close());
  let clock = Date.parse('2026-11-23T08:00:00.000Z');
  const now = () => (clock += 1000);
  const audit = new AuditLog({ store, hostId: 'ws-0001', hostName: 'ward7-pc12', serviceVersion: '0.1.0-test', now });
  ensureEnrolmentKey(store, audit, now);
  const seal: SealOptions = { maxEvents: 4, institution: 'St Example', hostId: 'ws-0001', hostName: 'ward7-pc12', now };
  for (const event of EVENTS) audit.record(event);
  sealPending(store, seal);
  store.transaction((db) => sealNextBatch(db, { ...seal, heartbeat: true }));
  for (const event of EVENTS) audit.record(event);
  for (let i = 0; i < (options.extraEvents ?? 0); i++) {
    audit.record({ action: 'audit.search', outcome: 'success', user: { name: 'compliance@example.org' }, detail: { query: 'x'.repeat(options.detailBytes ?? 10), n: i } });
  }
  sealPending(store, { ...seal, maxEvents: options.extraEvents ? 10_000 : 4 });
  const batches: OutgoingBatch[] = [];
  for (let seq = 1; ; seq++) {
    const batch = sealedBatchSource(store, audit).read(seq);
    if (!batch) break;
    batches.push(batch);
  }
  const texts = new Map(batches.flatMap((b) => b.events.map((e) => [e.record.event.id, e.text] as const)));
  // What IT registers with the SIEM side (`enclave enroll show`): the only thing the checks below trust.
  const publicKeyPem = currentEnrolmentKey(store)!.publicKeyPem;
  return { batches, publicKeyPem, texts };
}

// --- Reading CEF and LEEF as a SIEM does ---------------------------------------------------------

/** CEF header fields (split on unescaped |) and extension (keys up to unescaped =, values unescaped). */
function parseCef(line: string): { header: string[]; ext: Record<string, string> } {
  const header: string[] = [];
  let field = '';
  let i = 0;
  while (header.length < 7) {
    const c = line[i];
    if (c === undefined) throw new Error(`CEF header too short: ${line}`);
    if (c === '\\' && (line[i + 1] === '|' || line[i + 1] === '\\')) {
      field += line[i + 1];
      i += 2;
    } else if (c === '|') {
      header.push(field);
      field = '';
      i += 1;
    } else {
      field += c;
      i += 1;
    }
  }
  const ext: Record<string, string> = {};
  for (const match of line.slice(i).matchAll(/(?:^| )([A-Za-z0-9_]+)=((?:\\.|[^\\=])*?)(?= [A-Za-z0-9_]+=|$)/g)) {
    ext[match[1]!] = match[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c));
  }
  return { header, ext };
}

function parseLeef(line: string): { header: string[]; attrs: Record<string, string> } {
  const parts = line.split('|');
  const header = parts.slice(0, 6);
  expect(header[5], 'LEEF 2.0 delimiter field').toBe('^');
  const attrs: Record<string, string> = {};
  for (const pair of parts.slice(6).join('|').split('^')) {
    const eq = pair.indexOf('=');
    attrs[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return { header, attrs };
}

/**
 * Checks a received stream as a SIEM would: events exactly once, in order, with
 * bodies that carry id and hash; manifests signed, and their Merkle roots
 * recomputed from the event hashes in the structured data.
 */
function checkStream(messages: ParsedSyslogMessage[], sealed: Sealed, format: SyslogTlsDestination['format']): void {
  const frontier = new MerkleFrontier();
  const leaves: Buffer[] = [];
  const seen = new Set<string>();
  let manifests = 0;
  for (const message of messages) {
    expect(message.version).toBe(1);
    expect(message.appName).toBe('enclave');
    expect(message.hostname).toBe('ward7-pc12');
    const sd = message.structuredData.find((element) => element.id === SD_ID);
    expect(sd, 'Enclave structured data').toBeDefined();
    const params = sd!.params;
    if (message.msgId === 'AUDIT_EVENT') {
      const eid = params.eid!;
      expect(seen.has(eid), `event ${eid} arrived twice`).toBe(false);
      seen.add(eid);
      expect(Number(params.seq), 'sequence order').toBe(leaves.length + 1);
      const stored = sealed.texts.get(eid);
      expect(stored, `event ${eid} was sealed`).toBeDefined();
      const record = AuditRecordSchema.parse(JSON.parse(stored!));
      expect(params.hash).toBe(record.event.hash);
      expect(message.pri).toBe(record.event.action === 'auth.breakglass' ? 84 : record.event.outcome === 'success' ? 86 : 85);
      if (format === 'rfc5424-json') {
        expect(message.msg).toBe(BOM + stored);
        // The SIEM recomputes the hash from the bytes it received.
        expect(hashRecord(AuditRecordSchema.parse(JSON.parse(message.msg.slice(1))))).toBe(params.hash);
      } else if (format === 'cef') {
        const { header, ext } = parseCef(message.msg);
        expect(header).toEqual(['CEF:0', 'Enclave Test', 'Enclave', '0.1.0-test', record.event.action, expect.any(String), expect.stringMatching(/^(3|5|8)$/)]);
        expect(ext.externalId).toBe(eid);
        expect(ext.cs1).toBe(params.hash);
        expect(ext.cs1Label).toBe('eventHash');
        expect(ext.cn1).toBe(params.seq);
        expect(ext.rt).toBe(String(Date.parse(record['@timestamp'])));
        if (record.user) expect(ext.suser, 'escaping survives the trip').toBe(record.user.name);
      } else {
        const { header, attrs } = parseLeef(message.msg);
        expect(header).toEqual(['LEEF:2.0', 'Enclave Test', 'Enclave', '0.1.0-test', record.event.action, '^']);
        expect(attrs.eventId).toBe(eid);
        expect(attrs.hash).toBe(params.hash);
        expect(attrs.seq).toBe(params.seq);
        if (record.user) expect(attrs.usrName).toBe(record.user.name.replace(/\^/g, ' '));
      }
      const leaf = Buffer.from(params.hash!, 'hex');
      leaves.push(leaf);
      frontier.append(leaf);
    } else {
      expect(message.msgId).toBe('AUDIT_BATCH');
      manifests += 1;
      // Always canonical JSON behind a BOM, whatever the event format.
      expect(message.msg.startsWith(BOM)).toBe(true);
      const manifest = BatchManifestSchema.parse(JSON.parse(message.msg.slice(1)));
      expect(message.msg.slice(1)).toBe(canonicalJson(manifest));
      expect(verifyManifestSignature(manifest, sealed.publicKeyPem), `manifest ${manifest.batch_seq} signature`).toBe(true);
      expect(params.batch).toBe(String(manifest.batch_seq));
      expect(params.size).toBe(String(manifest.tree_size));
      expect(params.root).toBe(manifest.root);
      expect(params.first).toBe(manifest.first_seq === null ? undefined : String(manifest.first_seq));
      expect(params.last).toBe(manifest.last_seq === null ? undefined : String(manifest.last_seq));
      // The root over every event since enrolment, from the hashes this stream carried.
      expect(frontier.size).toBe(manifest.tree_size);
      expect(frontier.root().toString('hex')).toBe(manifest.root);
      expect(rootOf(leaves).toString('hex')).toBe(manifest.root);
    }
  }
  expect(seen.size).toBe(sealed.texts.size);
  expect(manifests).toBe(sealed.batches.length);
}

// --- The tests -----------------------------------------------------------------------------------

describe('syslog over TLS to rsyslog', () => {
  it.each(['rfc5424-json', 'cef', 'leef'] as const)('delivers sealed batches in %s: every event once, in order, manifests verifiable from the stream', async (format) => {
    const sealed = sealedBatches();
    expect(sealed.batches.map((b) => b.manifest.kind)).toContain('heartbeat');
    const transport = transportFor({ format });
    const expected = sealed.batches.reduce((n, b) => n + b.events.length + 1, 0);
    const messages = await receivedAfter(async () => {
      for (const batch of sealed.batches) await transport.send(batch, new AbortController().signal);
    }, expected);
    checkStream(messages, sealed, format);
  });

  it('carries several batches down one connection (a backlog): every event once, in order, each batch followed by its manifest', async () => {
    const sealed = sealedBatches();
    const transport = transportFor();
    const expected = sealed.batches.reduce((n, b) => n + b.events.length + 1, 0);
    const messages = await receivedAfter(() => transport.sendBatches!(sealed.batches, new AbortController().signal), expected);
    checkStream(messages, sealed, 'rfc5424-json');
  });

  it('a client without a client certificate is refused: client_certificate_rejected, nothing delivered', async () => {
    const sealed = sealedBatches();
    const before = (await rsyslog.messages()).length;
    const transport = transportFor({ clientCertFile: undefined, clientKeyFile: undefined });
    const error = await rejection(transport.send(sealed.batches[0]!, new AbortController().signal));
    // rsyslog (GnuTLS) completes the handshake, then checks the certificate and closes without a TLS alert.
    expect(error.code).toBe('client_certificate_rejected');
    expect(error.message).toMatch(/requires a client certificate.*clientCertFile and clientKeyFile/);
    expect(await rsyslog.logTail()).toMatch(/peer did not provide a certificate/);
    expect((await rsyslog.messages()).length).toBe(before);
  });

  it('a client certificate from a CA the receiver does not trust is refused: client_certificate_rejected', async () => {
    const sealed = sealedBatches();
    const before = (await rsyslog.messages()).length;
    const transport = transportFor({ clientCertFile: rsyslog.wrongClientCertFile, clientKeyFile: rsyslog.wrongClientKeyFile });
    const error = await rejection(transport.send(sealed.batches[0]!, new AbortController().signal));
    expect(error.code).toBe('client_certificate_rejected');
    expect(error.message).toContain(rsyslog.wrongClientCertFile);
    expect((await rsyslog.messages()).length).toBe(before);
  });

  it('a receiver whose certificate is from another CA is not trusted: certificate_rejected, naming caFile', async () => {
    const impostor = await startRsyslog({ serverCertificate: 'wrong-ca' });
    cleanups.push(() => impostor.destroy());
    const sealed = sealedBatches();
    // The impostor's own PKI has its own "trusted" CA; we trust only ours.
    const transport = transportFor({ address: impostor.address });
    const error = await rejection(transport.send(sealed.batches[0]!, new AbortController().signal));
    expect(error.code).toBe('certificate_rejected');
    expect(error.message).toBe(
      `The SIEM's certificate is not trusted (signed by an unknown CA). Check the destination's caFile (${rsyslog.caFile}): it must hold the CA that issued the SIEM's certificate.`,
    );
    expect(await impostor.messages()).toEqual([]);
  });

  it('a receiver whose certificate is from another CA is refused with NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment too', async () => {
    const impostor = await startRsyslog({ serverCertificate: 'wrong-ca' });
    cleanups.push(() => impostor.destroy());
    const sealed = sealedBatches();
    const transport = transportFor({ address: impostor.address });
    const error = await withTlsVerificationOffInEnvironment(() => rejection(transport.send(sealed.batches[0]!, new AbortController().signal)));
    expect(error.code).toBe('certificate_rejected');
    expect(await impostor.messages()).toEqual([]);
  });

  it('nothing listening: host_unreachable', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const transport = transportFor({ address: `127.0.0.1:${port}` });
    const error = await rejection(transport.send(sealedBatches().batches[0]!, new AbortController().signal));
    expect(error.code).toBe('host_unreachable');
    expect(error.message).toBe(`Nothing accepts connections at 127.0.0.1:${port} (connection refused): the SIEM's collector may be stopped, or the address or port is wrong.`);
  });

  it('rsyslog stopped, then started: the first send fails, the next one delivers', async () => {
    const sealed = sealedBatches();
    const batch = sealed.batches[0]!;
    const transport = transportFor();
    await rsyslog.stop();
    try {
      const error = await rejection(transport.send(batch, new AbortController().signal));
      expect(error.code).toBe('host_unreachable');
    } finally {
      await rsyslog.start();
    }
    const messages = await receivedAfter(() => transport.send(batch, new AbortController().signal), batch.events.length + 1);
    expect(messages.map((m) => m.structuredData[0]!.params.seq ?? 'manifest')).toEqual([...batch.events.map((e) => String(e.seq)), 'manifest']);
  });

  it('reads the certificate files at every send: a bad client certificate fails (never resolves), putting the right one back fixes it', async () => {
    const sealed = sealedBatches();
    const dir = tempDir();
    cleanups.push(dir.remove);
    const certFile = join(dir.path, 'client.pem');
    const keyFile = join(dir.path, 'client.key');
    copyFileSync(rsyslog.clientCertFile, certFile);
    copyFileSync(rsyslog.clientKeyFile, keyFile);
    const transport = transportFor({ clientCertFile: certFile, clientKeyFile: keyFile });
    const signal = new AbortController().signal;
    const [first, second, third] = sealed.batches;
    await receivedAfter(() => transport.send(first!, signal), first!.events.length + 1);

    copyFileSync(rsyslog.wrongClientCertFile, certFile);
    copyFileSync(rsyslog.wrongClientKeyFile, keyFile);
    const before = (await rsyslog.messages()).length;
    // Right after a success, and again: rsyslog hangs up on the untrusted certificate within the refusal
    // window, before anything is written. (Written at once, this batch could meet a close that looks clean.)
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await rejection(transport.send(second!, signal));
      expect(error.code).toBe('client_certificate_rejected');
      expect(error.message).toContain(certFile);
    }
    expect((await rsyslog.messages()).length).toBe(before);

    copyFileSync(rsyslog.clientCertFile, certFile);
    copyFileSync(rsyslog.clientKeyFile, keyFile);
    const messages = await receivedAfter(
      async () => {
        await transport.send(second!, signal);
        await transport.send(third!, signal);
      },
      second!.events.length + third!.events.length + 2,
    );
    expect(messages.filter((m) => m.msgId === 'AUDIT_BATCH').map((m) => m.structuredData[0]!.params.batch)).toEqual([String(second!.batchSeq), String(third!.batchSeq)]);
  });

  it('a policy file that cannot be read, or does not hold what it should, is a configuration error naming it', async () => {
    const missing = join(rsyslog.dir, 'no-such-ca.pem');
    const error = await rejection(transportFor({ caFile: missing }).send(sealedBatches().batches[0]!, new AbortController().signal));
    expect(error.code).toBe('configuration');
    expect(error.message).toBe(`The caFile of SIEM destination "test-syslog" cannot be read: ${missing} (the file does not exist).`);

    const notPem = join(rsyslog.dir, 'rsyslog.conf');
    const garbage = await rejection(transportFor({ caFile: notPem }).send(sealedBatches().batches[0]!, new AbortController().signal));
    expect(garbage.code).toBe('configuration');
    expect(garbage.message).toBe(`The caFile of SIEM destination "test-syslog" (${notPem}) holds no PEM certificate ("-----BEGIN CERTIFICATE-----").`);

    const mismatch = await rejection(transportFor({ clientKeyFile: rsyslog.wrongClientKeyFile }).send(sealedBatches().batches[0]!, new AbortController().signal));
    expect(mismatch.code).toBe('configuration');
    expect(mismatch.message).toBe(
      `The client certificate of SIEM destination "test-syslog" cannot be used: the key in ${rsyslog.wrongClientKeyFile} is not the key of the certificate in ${rsyslog.clientCertFile}.`,
    );
  });
});

describe('syslog over TLS to receivers that misbehave', () => {
  /** A TLS receiver on loopback with rsyslog's certificate, requiring our client certificate. */
  async function misbehavingReceiver(onConnection: (socket: tls.TLSSocket) => void, host = '127.0.0.1'): Promise<string> {
    const server = tls.createServer(
      {
        key: readFileSync(rsyslog.serverKeyFile),
        cert: readFileSync(rsyslog.serverCertFile),
        ca: readFileSync(rsyslog.caFile),
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
        // Our side closing does not close theirs: each receiver below decides when (or whether) it closes.
        allowHalfOpen: true,
      },
      onConnection,
    );
    // Every TCP connection, handshake finished or not, so the server can be closed at the end.
    const connections = new Set<Socket>();
    server.on('connection', (socket: Socket) => {
      connections.add(socket);
      socket.on('close', () => connections.delete(socket));
    });
    server.on('secureConnection', (socket) => socket.on('error', () => undefined));
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of connections) socket.destroy();
          server.close(() => resolve());
        }),
    );
    const address = server.address();
    return `${host}:${typeof address === 'object' && address ? address.port : 0}`;
  }

  it('an OpenSSL receiver that wants a client certificate says so with an alert after the TLS 1.3 handshake: client_certificate_rejected', async () => {
    const address = await misbehavingReceiver(() => undefined);
    const error = await rejection(transportFor({ address, clientCertFile: undefined, clientKeyFile: undefined }).send(sealedBatches().batches[0]!, new AbortController().signal));
    expect(error.code).toBe('client_certificate_rejected');
    expect(error.message).toBe(
      `The SIEM at ${address} requires a client certificate and none was sent: set the destination's clientCertFile and clientKeyFile to this workstation's certificate and key.`,
    );
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
  });

  it('a Node receiver refuses a client certificate from an unknown CA by hanging up after the handshake: client_certificate_rejected', async () => {
    // Node checks the client's chain itself once the handshake is done and destroys the socket, without an alert.
    const address = await misbehavingReceiver(() => undefined);
    const error = await rejection(
      transportFor({ address, clientCertFile: rsyslog.wrongClientCertFile, clientKeyFile: rsyslog.wrongClientKeyFile }).send(sealedBatches().batches[0]!, new AbortController().signal),
    );
    expect(error.code).toBe('client_certificate_rejected');
    expect(error.message).toBe(
      `The SIEM at ${address} closed the connection right after the TLS handshake, before accepting any data: it most likely refused this workstation's client certificate (${rsyslog.wrongClientCertFile}) as not issued by a CA it trusts, expired, or not among its permitted peers.`,
    );
  });

  it('a receiver whose certificate does not name the address is not trusted: certificate_rejected', async () => {
    // 127.0.0.2 is loopback too, but the certificate lists only 127.0.0.1, localhost and siem.enclave.test.
    const address = await misbehavingReceiver(() => undefined, '127.0.0.2');
    const error = await rejection(transportFor({ address }).send(sealedBatches().batches[0]!, new AbortController().signal));
    expect(error.code).toBe('certificate_rejected');
    expect(error.message).toMatch(/^The SIEM's certificate is not for 127\.0\.0\.2 \(.*\)\. Check the destination's address: it must be a name or IP address the certificate lists\.$/);
  });

  it('a reset in mid-batch rejects with connection_reset', async () => {
    const sealed = sealedBatches({ extraEvents: 300, detailBytes: 8_000 });
    const big = sealed.batches.at(-1)!;
    expect(big.events.length).toBeGreaterThan(300);
    let received = 0;
    const address = await misbehavingReceiver((socket) => {
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
        // Hang up with data unread: the kernel answers the rest with a reset.
        if (received > 100_000) socket.destroy();
      });
    });
    const error = await rejection(transportFor({ address }).send(big, new AbortController().signal));
    expect(error.code).toBe('connection_reset');
    // A reset (ECONNRESET, EPIPE) or, where the receiver had read all that had arrived, its close in mid-batch.
    expect(error.message).toMatch(
      new RegExp(
        `^The SIEM at ${address} (broke off the connection before the batch was confirmed \\((ECONNRESET|EPIPE)\\)|closed the connection after \\d+ of \\d+ messages of batch \\d+, before it was complete); it will be sent again\\.$`,
      ),
    );
    expect(received).toBeGreaterThan(100_000);
  });

  it('a receiver that takes everything but never closes does not confirm the batch: timeout', async () => {
    // Reads everything, sees our close, and never closes its own side.
    const address = await misbehavingReceiver((socket) => socket.resume());
    const error = await rejection(transportFor({ address }, { idleTimeoutMs: 1_000 }).send(sealedBatches().batches[0]!, new AbortController().signal));
    expect(error.code).toBe('timeout');
    expect(error.message).toMatch(/did not close the connection within 1 s after batch 1 was written, so its delivery is not confirmed/);
  });

  it('a receiver that closes cleanly before the batch is written does not count as delivered', async () => {
    // Reads nothing, so our writes stall on back-pressure; closes its side after the refusal window.
    const address = await misbehavingReceiver((socket) => {
      setTimeout(() => socket.end(), 700);
    });
    const sealed = sealedBatches({ extraEvents: 400, detailBytes: 40_000 });
    const batch = sealed.batches.at(-1)!;
    const error = await rejection(transportFor({ address }).send(batch, new AbortController().signal));
    expect(error.code).toBe('connection_reset');
    expect(error.message).toMatch(new RegExp(`^The SIEM at ${address} closed the connection after \\d+ of ${batch.events.length + 1} messages of batch ${batch.batchSeq}, before it was complete`));
  });

  it('cancellation destroys the connection and rejects with the abort reason', async () => {
    const address = await misbehavingReceiver((socket) => socket.resume());
    const controller = new AbortController();
    const sending = transportFor({ address }).send(sealedBatches().batches[0]!, controller.signal);
    setTimeout(() => controller.abort(new Error('outbox stopping')), 1_000);
    await expect(sending).rejects.toThrow('outbox stopping');
  });
});

describe('in the app: an untrusted receiver is refused, shown and audited, never silently retried', () => {
  it('certificate rejected shows in siem.status and as sync.destination; once IT puts the right CA in place the backlog is delivered', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    // The policy names a CA file that, for now, holds the wrong CA.
    const caFile = join(dir.path, 'siem-ca.pem');
    copyFileSync(rsyslog.wrongCaFile, caFile);
    const policy = structuredClone(evaluationPolicy);
    policy.audit.batchMaxEvents = 3;
    policy.siem.destinations = [{ id: 'soc', type: 'syslog-tls', address: rsyslog.address, format: 'cef', caFile, clientCertFile: rsyslog.clientCertFile, clientKeyFile: rsyslog.clientKeyFile }];
    const before = (await rsyslog.messages()).length;
    const core = await createHeadlessCore({ dataDir: dir.path, policy: policyFromDocument(policy, 'test policy'), log: () => undefined, siemBackoff: { initialMs: 50, maxMs: 200 } });
    cleanups.push(() => core.close());
    await call(core, 'auth.createFirstAccount', { username: 'dr.grey', displayName: 'Dr Grey', password: 'correct horse battery' });
    // Retries go on in the background, so wait for a moment between attempts (offline), not one in flight.
    const failing = await nextEvent(core, 'siem.changed', (s) => s.destinations[0]?.state === 'offline' && s.destinations[0].lastFailure?.code === 'certificate_rejected', 30_000);
    expect(failing.destinations[0]).toMatchObject({ id: 'soc', state: 'offline', lastFailure: { code: 'certificate_rejected', message: expect.stringMatching(/not trusted/i) } });
    expect(failing.destinations[0]!.queuedBatches).toBeGreaterThan(0);
    const audited = JSON.parse((core.store.writer.prepare("SELECT record FROM audit_events WHERE action = 'sync.destination'").get() as { record: string }).record);
    expect(audited).toMatchObject({ event: { outcome: 'failure', reason: 'certificate_rejected' }, enclave: { detail: { destination: 'soc', target: rsyslog.address } } });

    copyFileSync(rsyslog.caFile, caFile);
    await nextEvent(core, 'siem.changed', (s) => s.destinations[0]?.state === 'online' && s.destinations[0].queuedBatches === 0 && s.destinations[0].lastFailure === null, 30_000);
    const received = (await rsyslog.messages()).slice(before).map(parseRfc5424);
    const seqs = received.filter((m) => m.msgId === 'AUDIT_EVENT').map((m) => Number(m.structuredData[0]!.params.seq));
    expect(seqs.slice(0, 3)).toEqual([1, 2, 3]);
    expect(received.some((m) => m.msg.startsWith('CEF:0|'))).toBe(true);
  });
});
