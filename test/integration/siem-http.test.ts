// Signed audit batches, sealed by the real store, audit log and sealing code,
// delivered by the Splunk HEC and HTTPS JSON (Elastic _bulk) transports to
// receivers that follow Splunk's and Elastic's documented protocols over mutual
// TLS (test/support/hec-receiver.ts, test/support/elastic-bulk-receiver.ts:
// hand-written fakes, as no real Splunk or Elastic can run here). The SIEM side
// must end up with every event exactly once per id, in order, and manifests
// that verify; every failure must surface as the right DeliveryError.
//
//   ENCLAVE_TEST_NO_SAMBA=1 npx vitest run --project integration test/integration/siem-http.test.ts
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AuditLog,
  AuditRecordSchema,
  BatchManifestSchema,
  batchEventTexts,
  canonicalJson,
  ensureEnrolmentKey,
  hashRecord,
  rootOf,
  sealNextBatch,
  sealPending,
  verifyManifestSignature,
  type AuditRecord,
  type BatchManifest,
  type SealOptions,
} from '../support/audit-internals.js';
import { openStore, type Store } from '../../src/main/store/index.js';
import { createHttpsJsonTransport, type HttpsJsonDestination, type HttpsJsonOptions } from '../../src/main/siem/transports/https-json.js';
import { createSplunkHecTransport, newHecChannel, type SplunkHecDestination, type SplunkHecOptions } from '../../src/main/siem/transports/splunk-hec.js';
import { DeliveryError, type DeliveryErrorCode, type OutgoingBatch, type RenderContext, type Transport } from '../../src/main/siem/types.js';
import { ElasticBulkReceiver } from '../support/elastic-bulk-receiver.js';
import { HecReceiver } from '../support/hec-receiver.js';
import { withTlsVerificationOffInEnvironment } from '../support/insecure-tls-env.js';
import { tempDir } from '../support/temp.js';
import { makeTestPki, type TestPki } from '../support/test-pki.js';

const CTX: RenderContext = { enterpriseNumber: 32473, productVersion: '0.1.0', vendor: 'Enclave' };
const HOST_ID = 'ws-0001';

let dir: ReturnType<typeof tempDir>;
let pki: TestPki;
let store: Store;
let publicKeyPem: string;
/** Every sealed batch, in order: three of 10 events, one of 2, and a heartbeat. */
let batches: OutgoingBatch[];
/** The stored canonical text of every event, by sequence number. */
let storedText: Map<number, string>;

beforeAll(async () => {
  dir = tempDir('enclave-siem-http-');
  pki = await makeTestPki(join(dir.path, 'pki'));
  store = openStore({ path: join(dir.path, 'enclave.db'), key: randomBytes(32) });
  let clock = Date.parse('2025-03-01T08:00:00.000Z');
  const now = () => (clock += 1_250);
  const audit = new AuditLog({ store, hostId: HOST_ID, hostName: 'WARD7-PC', serviceVersion: '0.1.0', now });
  publicKeyPem = ensureEnrolmentKey(store, audit, now).publicKeyPem; // event 1: audit.enroll
  const user = { id: 'S-1-5-21-1', name: 'jdoe@hospital.example', roles: ['clinician' as const], authMethod: 'password' };
  for (let i = 0; i < 31; i++) {
    if (i % 3 === 0) audit.record({ action: 'auth.login', outcome: 'success', user });
    else if (i % 3 === 1) audit.record({ action: 'ai.prompt', outcome: 'success', user, sessionId: `s-${i}`, workload: 'general', prompt: { text: 'e'.repeat(120 + i) } });
    else audit.record({ action: 'auth.denied', outcome: 'failure', reason: 'bad_credentials', user: { name: 'intruder@hospital.example' }, detail: { note: `try "${i}" | a=b \\ c\nnext line` } });
  }
  const seal: SealOptions = { maxEvents: 10, institution: 'St Example Hospital', hostId: HOST_ID, hostName: 'WARD7-PC', now };
  const sealed = sealPending(store, seal);
  const heartbeat = store.transaction((db) => sealNextBatch(db, { ...seal, heartbeat: true }));
  sealed.push(heartbeat!);
  storedText = new Map();
  batches = sealed.map((b) => {
    const events = [...batchEventTexts(store.reader, b.manifest)].map(({ seq, record }) => {
      storedText.set(seq, record);
      return { seq, record: AuditRecordSchema.parse(JSON.parse(record)), text: record };
    });
    return { batchSeq: b.batchSeq, manifest: b.manifest, events };
  });
  expect(batches.map((b) => b.events.length)).toEqual([10, 10, 10, 2, 0]);
});

afterAll(() => {
  store?.close();
  dir?.remove();
});

// --- What the SIEM side checks --------------------------------------------------------------------

type Received = { kind: 'event'; id: string; record: AuditRecord } | { kind: 'manifest'; id: string; manifest: BatchManifest };

/**
 * What a SIEM-side verifier does with what arrived: every event exactly once
 * per id and in sequence order, each record's canonical JSON re-derived and
 * matching event.hash, every manifest after its events, signed by the enrolled
 * key, and its Merkle root recomputed from the events' hashes.
 */
function verifyReceived(received: Received[], expected: readonly OutgoingBatch[]): void {
  const events = received.filter((r): r is Extract<Received, { kind: 'event' }> => r.kind === 'event');
  const manifests = received.filter((r): r is Extract<Received, { kind: 'manifest' }> => r.kind === 'manifest');
  const ids = events.map((e) => e.id);
  expect(new Set(ids).size, 'each event id once').toBe(ids.length);
  expect(ids).toEqual(expected.flatMap((b) => b.events.map((e) => e.record.event.id)));
  const seqs = events.map((e) => e.record.event.sequence);
  expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  for (const { id, record } of events) {
    expect(record.event.id).toBe(id);
    expect(canonicalJson(record), `event ${record.event.sequence} re-derived`).toBe(storedText.get(record.event.sequence));
    expect(hashRecord(record)).toBe(record.event.hash);
  }
  expect(manifests.map((m) => m.manifest.batch_seq)).toEqual(expected.map((b) => b.batchSeq));
  const leaves = new Map(events.map((e) => [e.record.event.sequence, Buffer.from(e.record.event.hash, 'hex')]));
  const firstSeq = expected[0]?.events[0]?.seq ?? 1;
  for (const { id, manifest } of manifests) {
    expect(id).toBe(`batch-${HOST_ID}-${manifest.batch_seq}`);
    expect(verifyManifestSignature(manifest, publicKeyPem), `manifest ${manifest.batch_seq} signature`).toBe(true);
    if (firstSeq === 1) {
      const tree = Array.from({ length: manifest.tree_size }, (_, i) => leaves.get(i + 1)!);
      expect(rootOf(tree).toString('hex'), `manifest ${manifest.batch_seq} root`).toBe(manifest.root);
    }
    // The manifest travels after its events.
    const at = received.findIndex((r) => r.kind === 'manifest' && r.manifest.batch_seq === manifest.batch_seq);
    if (manifest.last_seq !== null) expect(received.findIndex((r) => r.kind === 'event' && r.record.event.sequence === manifest.last_seq)).toBeLessThan(at);
  }
}

function hecReceived(receiver: HecReceiver): Received[] {
  return receiver.events.map(({ object }) => {
    const fields = object['fields'] as Record<string, string>;
    if (object['sourcetype'] === 'enclave:audit:batch') return { kind: 'manifest', id: fields['event_id']!, manifest: BatchManifestSchema.parse(object['event']) };
    expect(object['sourcetype']).toBe('enclave:audit');
    return { kind: 'event', id: fields['event_id']!, record: AuditRecordSchema.parse(object['event']) };
  });
}

function elasticReceived(receiver: ElasticBulkReceiver): Received[] {
  return receiver.documentsOf().map(({ id, source }) => {
    const enclave = source['enclave'] as { manifest?: unknown } | undefined;
    if (enclave?.manifest !== undefined) return { kind: 'manifest', id, manifest: BatchManifestSchema.parse(enclave.manifest) };
    return { kind: 'event', id, record: AuditRecordSchema.parse(source) };
  });
}

// --- Helpers ----------------------------------------------------------------------------------------

const signal = () => new AbortController().signal;

async function sendAll(transport: Transport, list: readonly OutgoingBatch[] = batches): Promise<void> {
  for (const batch of list) await transport.send(batch, signal());
}

async function deliveryError(promise: Promise<unknown>, code: DeliveryErrorCode): Promise<DeliveryError> {
  const error = await promise.then(
    () => {
      throw new Error(`expected a DeliveryError ${code}, but the send was confirmed`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DeliveryError);
  expect((error as DeliveryError).code, (error as Error).message).toBe(code);
  return error as DeliveryError;
}

const open: Array<{ stop(): Promise<void> }> = [];
const transports: Transport[] = [];
afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  await Promise.all(open.splice(0).map((r) => r.stop()));
});

async function hecReceiver(options: Partial<ConstructorParameters<typeof HecReceiver>[0]> = {}): Promise<HecReceiver> {
  const receiver = await HecReceiver.start({ pki, ...options });
  open.push(receiver);
  return receiver;
}

function hecDestination(receiver: { url: string; token: string }, overrides: Partial<SplunkHecDestination> = {}): SplunkHecDestination {
  return {
    id: 'splunk',
    type: 'splunk-hec',
    url: receiver.url,
    token: receiver.token,
    indexerAcknowledgement: false,
    caFile: pki.caFile,
    clientCertFile: pki.clientCertFile,
    clientKeyFile: pki.clientKeyFile,
    ...overrides,
  };
}

function hecTransport(destination: SplunkHecDestination, options: SplunkHecOptions = {}): Transport {
  const transport = createSplunkHecTransport(destination, CTX, options);
  transports.push(transport);
  return transport;
}

async function elasticReceiver(options: Partial<ConstructorParameters<typeof ElasticBulkReceiver>[0]> = {}): Promise<ElasticBulkReceiver> {
  const receiver = await ElasticBulkReceiver.start({ pki, ...options });
  open.push(receiver);
  return receiver;
}

function elasticTransport(receiver: ElasticBulkReceiver, overrides: Partial<HttpsJsonDestination> = {}, options: HttpsJsonOptions = {}): Transport {
  const destination: HttpsJsonDestination = {
    id: 'elastic',
    type: 'https-json',
    url: receiver.bulkUrl(),
    caFile: pki.caFile,
    clientCertFile: pki.clientCertFile,
    clientKeyFile: pki.clientKeyFile,
    ...overrides,
  };
  const transport = createHttpsJsonTransport(destination, CTX, options);
  transports.push(transport);
  return transport;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A receiver built on OpenSSL itself (`openssl s_server`) that requires a
 * client certificate from the wrong CA: unlike Node's TLS server, OpenSSL
 * refuses an untrusted client certificate with a TLS alert, as Splunk's and
 * Elastic's TLS stacks do.
 */
async function opensslServerDistrustingUs(): Promise<{ url: string; process: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    'openssl',
    ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', pki.serverCertFile, '-key', pki.serverKeyFile, '-CAfile', pki.wrongCaFile, '-Verify', '1', '-verify_return_error', '-www', '-quiet'],
    { stdio: ['pipe', 'ignore', 'ignore'] },
  );
  open.push({ stop: async () => void child.kill() });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (up) return { url: `https://127.0.0.1:${port}`, process: child };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('openssl s_server did not start');
}

// --- Splunk HEC -------------------------------------------------------------------------------------

describe('Splunk HEC transport', () => {
  it('delivers sealed batches: every event once per id, in order, manifests that verify', async () => {
    const receiver = await hecReceiver();
    await sendAll(hecTransport(hecDestination(receiver)));

    verifyReceived(hecReceived(receiver), batches);
    expect(receiver.requests).toHaveLength(batches.length);
    for (const request of receiver.requests) {
      expect(request).toMatchObject({ method: 'POST', path: '/services/collector/event', authorization: `Splunk ${receiver.token}`, channel: null, status: 200 });
      expect(JSON.parse(request.answer)).toEqual({ text: 'Success', code: 0 });
    }
    const first = receiver.events[0]!.object;
    expect(first).toMatchObject({
      host: 'WARD7-PC',
      source: 'enclave',
      sourcetype: 'enclave:audit',
      fields: { event_id: batches[0]!.events[0]!.record.event.id, seq: '1', batch_seq: '1', host_id: HOST_ID },
    });
    expect(first['time']).toBe(Date.parse(batches[0]!.events[0]!.record['@timestamp']) / 1000);
  });

  it('accepts a url that already ends in /services/collector or /services/collector/event', async () => {
    const receiver = await hecReceiver();
    await hecTransport(hecDestination(receiver, { url: `${receiver.url}/services/collector` })).send(batches[0]!, signal());
    await hecTransport(hecDestination(receiver, { url: `${receiver.url}/services/collector/event` })).send(batches[1]!, signal());
    expect(receiver.requests.map((r) => r.path)).toEqual(['/services/collector/event', '/services/collector/event']);
    verifyReceived(hecReceived(receiver), batches.slice(0, 2));
  });

  it('splits a large batch into several POSTs under the size limit, in order', async () => {
    const receiver = await hecReceiver();
    await sendAll(hecTransport(hecDestination(receiver), { maxRequestBytes: 4_000 }));
    expect(receiver.requests.length).toBeGreaterThan(batches.length * 2);
    for (const request of receiver.requests) expect(request.bytes).toBeLessThanOrEqual(4_000);
    verifyReceived(hecReceived(receiver), batches);
  });

  it('splits further when HEC answers 413 (a smaller max_content_length than ours)', async () => {
    const receiver = await hecReceiver({ maxContentLength: 3_000 });
    await sendAll(hecTransport(hecDestination(receiver)));
    expect(receiver.requests.some((r) => r.status === 413)).toBe(true);
    verifyReceived(hecReceived(receiver), batches);
  });

  describe('with indexer acknowledgement', () => {
    const fastPolls: SplunkHecOptions = { ackPollInitialMs: 20, ackPollMaxMs: 60 };

    it('sends the channel, and resolves only once every ackId was answered true', async () => {
      const receiver = await hecReceiver({ ackEnabled: true });
      receiver.ackNever = true;
      receiver.stickyCookie = 'AWSALB=indexer-2; Path=/; Secure';
      const channel = newHecChannel();
      const transport = hecTransport(hecDestination(receiver, { indexerAcknowledgement: true }), { ...fastPolls, channel, maxRequestBytes: 6_000 });

      let confirmed = false;
      const sending = transport.send(batches[0]!, signal()).then(() => (confirmed = true));
      await expect.poll(() => receiver.ackPolls.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
      expect(confirmed).toBe(false);
      receiver.ackNever = false;
      await sending;
      expect(confirmed).toBe(true);

      const eventRequests = receiver.requests.filter((r) => r.path === '/services/collector/event');
      expect(eventRequests.length).toBeGreaterThan(1);
      expect(eventRequests.every((r) => r.channel === channel && r.status === 200)).toBe(true);
      // ackIds count from 0 on this channel, one per request.
      expect(eventRequests.map((r) => JSON.parse(r.answer).ackId)).toEqual(eventRequests.map((_, i) => i));
      const lastPoll = receiver.ackPolls.at(-1)!;
      expect(Object.values(lastPoll.answer).every(Boolean)).toBe(true);
      // Every ack poll went to /services/collector/ack?channel=<guid> and carried the load balancer's cookie.
      const polls = receiver.requests.filter((r) => r.path === '/services/collector/ack');
      expect(polls.every((r) => r.channel === channel && r.cookie === 'AWSALB=indexer-2')).toBe(true);
      verifyReceived(hecReceived(receiver), batches.slice(0, 1));

      // The next batch continues the channel's ackIds.
      await transport.send(batches[1]!, signal());
      const next = receiver.requests.filter((r) => r.path === '/services/collector/event').slice(eventRequests.length);
      expect(JSON.parse(next[0]!.answer).ackId).toBe(eventRequests.length);
    });

    it('polls with back-off until a delayed ack turns true', async () => {
      const receiver = await hecReceiver({ ackEnabled: true });
      receiver.ackDelayPolls = 3;
      await sendAll(hecTransport(hecDestination(receiver, { indexerAcknowledgement: true }), { ...fastPolls, channel: newHecChannel() }), batches.slice(0, 2));
      expect(receiver.ackPolls.length).toBeGreaterThanOrEqual(8);
      verifyReceived(hecReceived(receiver), batches.slice(0, 2));
    });

    it('gives up with ack_pending when Splunk never confirms indexing', async () => {
      const receiver = await hecReceiver({ ackEnabled: true });
      receiver.ackNever = true;
      const transport = hecTransport(hecDestination(receiver, { indexerAcknowledgement: true }), { ...fastPolls, channel: newHecChannel(), ackTimeoutMs: 400 });
      const error = await deliveryError(transport.send(batches[0]!, signal()), 'ack_pending');
      expect(error.message).toMatch(/has not confirmed indexing/);
    });

    it('says so when acknowledgement is off on the Splunk side but on in policy', async () => {
      const receiver = await hecReceiver({ ackEnabled: false });
      const transport = hecTransport(hecDestination(receiver, { indexerAcknowledgement: true }), { ...fastPolls, channel: newHecChannel() });
      const error = await deliveryError(transport.send(batches[0]!, signal()), 'rejected');
      expect(error.message).toMatch(/Indexer acknowledgement is off for this HEC token on the Splunk side/);
    });

    it('says so when the token requires a channel but the destination has acknowledgement off', async () => {
      const receiver = await hecReceiver({ ackEnabled: true });
      const error = await deliveryError(hecTransport(hecDestination(receiver)).send(batches[0]!, signal()), 'rejected');
      expect(error.message).toMatch(/Data channel is missing.*Set indexerAcknowledgement to true/);
      expect(receiver.requests[0]!.answer).toBe('{"text":"Data channel is missing","code":10}');
    });
  });

  it('refuses to be built for acknowledgement without a channel GUID', () => {
    expect(() => createSplunkHecTransport(hecDestination({ url: 'https://splunk.example.org:8088', token: 't' }, { indexerAcknowledgement: true }), CTX)).toThrow(/channel GUID/);
  });

  it('maps an invalid or disabled token to token_refused', async () => {
    const receiver = await hecReceiver();
    const wrong = await deliveryError(hecTransport(hecDestination(receiver, { token: 'not-the-token' })).send(batches[0]!, signal()), 'token_refused');
    expect(wrong.message).toMatch(/does not know the destination's HEC token \("Invalid token", code 4\)/);
    receiver.tokenDisabled = true;
    const disabled = await deliveryError(hecTransport(hecDestination(receiver)).send(batches[0]!, signal()), 'token_refused');
    expect(disabled.message).toMatch(/disabled/);
    expect(receiver.requests.map((r) => r.status)).toEqual([403, 403]);
    expect(receiver.events).toHaveLength(0);
  });

  it('throws server_busy while HEC answers 503, leaving the retrying to the outbox', async () => {
    const receiver = await hecReceiver();
    receiver.busyResponses = 2;
    const transport = hecTransport(hecDestination(receiver));
    await deliveryError(transport.send(batches[0]!, signal()), 'server_busy');
    await deliveryError(transport.send(batches[0]!, signal()), 'server_busy');
    await transport.send(batches[0]!, signal());
    expect(receiver.requests.map((r) => r.status)).toEqual([503, 503, 200]);
    verifyReceived(hecReceived(receiver), batches.slice(0, 1));
  });

  it('makes a resent batch recognisable downstream by fields.event_id', async () => {
    const receiver = await hecReceiver();
    const transport = hecTransport(hecDestination(receiver));
    await transport.send(batches[0]!, signal());
    await transport.send(batches[0]!, signal());
    const ids = receiver.events.map((e) => (e.object['fields'] as Record<string, string>)['event_id']);
    const expected = [...batches[0]!.events.map((e) => e.record.event.id), `batch-${HOST_ID}-1`];
    expect(ids).toEqual([...expected, ...expected]);
    // Deduplicated by event_id, it is exactly the batch.
    const seen = new Set<string>();
    verifyReceived(
      hecReceived(receiver).filter((r) => !seen.has(r.id) && seen.add(r.id)),
      batches.slice(0, 1),
    );
  });

  it('maps a connection dropped mid-request to connection_reset', async () => {
    const receiver = await hecReceiver();
    receiver.dropConnections = 1;
    const transport = hecTransport(hecDestination(receiver));
    await deliveryError(transport.send(batches[0]!, signal()), 'connection_reset');
    await transport.send(batches[0]!, signal());
    verifyReceived(hecReceived(receiver), batches.slice(0, 1));
  });

  it('maps a receiver that is down to host_unreachable, and delivers once it is back on the same port', async () => {
    const receiver = await hecReceiver();
    const transport = hecTransport(hecDestination(receiver));
    await transport.send(batches[0]!, signal());
    const port = receiver.port;
    await receiver.stop();
    const error = await deliveryError(transport.send(batches[1]!, signal()), 'host_unreachable');
    expect(error.message).toMatch(/^Nothing accepts connections at 127\.0\.0\.1:\d+ \(connection refused\)/);
    await receiver.start();
    expect(receiver.port).toBe(port);
    await transport.send(batches[1]!, signal());
    verifyReceived(hecReceived(receiver), batches.slice(0, 2));
  });

  it('maps a receiver that never answers to timeout', async () => {
    const receiver = await hecReceiver();
    receiver.stallRequests = 1;
    const error = await deliveryError(hecTransport(hecDestination(receiver), { requestTimeoutMs: 300 }).send(batches[0]!, signal()), 'timeout');
    expect(error.message).toMatch(/did not answer within/);
  });

  it('stops at once when the outbox aborts, with the abort reason', async () => {
    const receiver = await hecReceiver();
    receiver.stallRequests = 1;
    const controller = new AbortController();
    const sending = hecTransport(hecDestination(receiver)).send(batches[0]!, controller.signal);
    await expect.poll(() => receiver.requests.length).toBe(1);
    const reason = new Error('outbox stopping');
    controller.abort(reason);
    await expect(sending).rejects.toBe(reason);
  });

  it('aborts a send in flight when the transport is closed', async () => {
    const receiver = await hecReceiver();
    receiver.stallRequests = 1;
    const transport = createSplunkHecTransport(hecDestination(receiver), CTX);
    const sending = transport.send(batches[0]!, signal());
    await expect.poll(() => receiver.requests.length).toBe(1);
    await transport.close();
    await expect(sending).rejects.toThrow(/was closed/);
    await expect(transport.send(batches[0]!, signal())).rejects.toThrow(/is closed/);
  });

  it('names an unreadable TLS file as a configuration error', async () => {
    const receiver = await hecReceiver();
    const missing = join(dir.path, 'no-such-key.pem');
    const error = await deliveryError(hecTransport(hecDestination(receiver, { clientKeyFile: missing })).send(batches[0]!, signal()), 'configuration');
    expect(error.message).toBe(`The clientKeyFile of SIEM destination "splunk" cannot be read: ${missing} (the file does not exist).`);
    const mismatched = await deliveryError(hecTransport(hecDestination(receiver, { clientKeyFile: pki.wrongClientKeyFile })).send(batches[0]!, signal()), 'configuration');
    expect(mismatched.message).toMatch(/cannot be used/);
    expect(receiver.requests).toHaveLength(0);
  });
});

describe('Splunk HEC token from a tokenFile', () => {
  /** A token file as IT would leave it: the token and a newline, mode 0600 unless told. */
  function tokenFile(content: string | Buffer, mode = 0o600): string {
    const path = join(dir.path, `hec-${randomBytes(4).toString('hex')}.token`);
    writeFileSync(path, content, { mode });
    chmodSync(path, mode);
    return path;
  }

  it('sends the token read from the file (mode 0600, trailing newline), and the receiver takes the batches', async () => {
    const receiver = await hecReceiver();
    const path = tokenFile(`${receiver.token}\n`);
    await sendAll(hecTransport(hecDestination(receiver, { token: undefined, tokenFile: path })));
    verifyReceived(hecReceived(receiver), batches);
    for (const request of receiver.requests) expect(request.authorization).toBe(`Splunk ${receiver.token}`);
  });

  it.skipIf(process.platform === 'win32')('refuses a token file group or others can read, naming the chmod; nothing is sent, and the fixed file is used by the next send', async () => {
    const receiver = await hecReceiver();
    const path = tokenFile(`${receiver.token}\n`, 0o644);
    const transport = hecTransport(hecDestination(receiver, { token: undefined, tokenFile: path }));
    const error = await deliveryError(transport.send(batches[0]!, signal()), 'configuration');
    expect(error.message).toBe(
      `The tokenFile of SIEM destination "splunk" cannot be used: ${path} can be read by every local account (mode 644); it holds a secret and must be readable by its owner only: chmod 600 '${path}'. Nothing is sent until it is fixed.`,
    );
    expect(error.message).not.toContain(receiver.token);
    expect(receiver.requests).toHaveLength(0);
    chmodSync(path, 0o640);
    expect((await deliveryError(transport.send(batches[0]!, signal()), 'configuration')).message).toContain('can be read by its group (mode 640)');
    expect(receiver.requests).toHaveLength(0);
    chmodSync(path, 0o600);
    await transport.send(batches[0]!, signal());
    expect(receiver.requests.map((r) => r.status)).toEqual([200]);
  });

  it('refuses a missing, empty, blank, oversized or multi-part token file by what is wrong, never quoting it; nothing is sent', async () => {
    const receiver = await hecReceiver();
    const secret = receiver.token;
    const cases: [string, RegExp][] = [
      [join(dir.path, 'no-such.token'), /no-such\.token does not exist\. Nothing is sent until it is fixed\.$/],
      [tokenFile(''), /\.token is empty\. Nothing is sent/],
      [tokenFile(' \n\t\n'), /\.token holds only white space\. Nothing is sent/],
      [tokenFile(`${secret}\n${secret}\n`), /\.token holds a character that cannot be part of a HEC token \(.*at byte \d+\); it must hold the token alone\. Nothing is sent/],
      [tokenFile(`token = ${secret}\n`), /\.token holds a character that cannot be part of a HEC token \(.*at byte 6\)/],
      [tokenFile(`${secret}${'x'.repeat(5000)}`), /\.token is larger than 4 KiB \(\d[\d,]* bytes\)\. Nothing is sent/],
    ];
    for (const [path, expected] of cases) {
      const error = await deliveryError(hecTransport(hecDestination(receiver, { token: undefined, tokenFile: path })).send(batches[0]!, signal()), 'configuration');
      expect(error.message).toMatch(/^The tokenFile of SIEM destination "splunk" cannot be used: /);
      expect(error.message).toMatch(expected);
      expect(error.message).not.toContain(secret.slice(0, 12));
    }
    expect(receiver.requests).toHaveLength(0);
  });
});

// --- TLS failures (both transports share the client) ---------------------------------------------

describe('TLS failures', () => {
  it('maps a receiver certificate from an unknown CA to certificate_rejected', async () => {
    const receiver = await hecReceiver();
    const error = await deliveryError(hecTransport(hecDestination(receiver, { caFile: pki.wrongCaFile })).send(batches[0]!, signal()), 'certificate_rejected');
    expect(error.message).toBe(
      `The SIEM's certificate is not trusted (signed by an unknown CA). Check the destination's caFile (${pki.wrongCaFile}): it must hold the CA that issued the SIEM's certificate.`,
    );
    // Without a caFile, Node's default CA list does not know the test CA either.
    const withoutCa = await deliveryError(hecTransport(hecDestination(receiver, { caFile: undefined })).send(batches[0]!, signal()), 'certificate_rejected');
    expect(withoutCa.message).toMatch(/Set the destination's caFile/);
    expect(receiver.requests).toHaveLength(0);
  });

  it('refuses a receiver certificate from an unknown CA with NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment too (HEC and HTTPS JSON)', async () => {
    const hec = await hecReceiver();
    const elastic = await elasticReceiver();
    await withTlsVerificationOffInEnvironment(async () => {
      await deliveryError(hecTransport(hecDestination(hec, { caFile: pki.wrongCaFile })).send(batches[0]!, signal()), 'certificate_rejected');
      await deliveryError(elasticTransport(elastic, { caFile: pki.wrongCaFile }).send(batches[0]!, signal()), 'certificate_rejected');
    });
    expect(hec.requests).toHaveLength(0);
    expect(elasticReceived(elastic)).toEqual([]);
  });

  it('maps a receiver that requires a client certificate we do not have to client_certificate_rejected', async () => {
    const receiver = await hecReceiver();
    const error = await deliveryError(hecTransport(hecDestination(receiver, { clientCertFile: undefined, clientKeyFile: undefined })).send(batches[0]!, signal()), 'client_certificate_rejected');
    expect(error.message).toMatch(/requires a client certificate and none was sent: set the destination's clientCertFile and clientKeyFile/);
  });

  it('maps an OpenSSL receiver that does not trust our client certificate to client_certificate_rejected', async () => {
    const server = await opensslServerDistrustingUs();
    const error = await deliveryError(hecTransport(hecDestination({ url: server.url, token: 't' })).send(batches[0]!, signal()), 'client_certificate_rejected');
    expect(error.message).toMatch(/refused our client certificate \(mutual TLS\)/);
    const elastic = await deliveryError(
      createHttpsJsonTransport(
        { id: 'elastic', type: 'https-json', url: `${server.url}/enclave-audit/_bulk`, caFile: pki.caFile, clientCertFile: pki.clientCertFile, clientKeyFile: pki.clientKeyFile },
        CTX,
      ).send(batches[0]!, signal()),
      'client_certificate_rejected',
    );
    expect(elastic.message).toMatch(/refused our client certificate/);
  });

  it('maps a port that does not speak TLS (HEC with SSL off) to server_error', async () => {
    const plain = createServer((socket) => socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    open.push({ stop: () => new Promise<void>((resolve) => plain.close(() => resolve())) });
    const url = `https://127.0.0.1:${(plain.address() as AddressInfo).port}`;
    const error = await deliveryError(hecTransport(hecDestination({ url, token: 't' })).send(batches[0]!, signal()), 'server_error');
    expect(error.message).toMatch(/does not speak TLS 1\.2 or later on that port/);
  });

  it('says what it can when a Node receiver silently drops an untrusted client certificate', async () => {
    // Node's TLS server checks the client certificate after the handshake and
    // closes without a TLS alert, so all the client sees is a closed connection.
    const receiver = await hecReceiver({ clientCaFile: pki.wrongCaFile });
    const error = await deliveryError(hecTransport(hecDestination(receiver)).send(batches[0]!, signal()), 'connection_reset');
    expect(error.message).toMatch(/may not trust our client certificate/);
    expect(receiver.events).toHaveLength(0);
  });
});

// --- HTTPS JSON (Elastic _bulk) ---------------------------------------------------------------------

describe('HTTPS JSON transport (Elastic _bulk)', () => {
  it('delivers sealed batches: one document per event id, in order, manifests that verify', async () => {
    const receiver = await elasticReceiver();
    await sendAll(elasticTransport(receiver));
    verifyReceived(elasticReceived(receiver), batches);
    expect(receiver.requests).toHaveLength(batches.length);
    for (const request of receiver.requests) {
      expect(request).toMatchObject({ path: '/enclave-audit/_bulk', contentType: 'application/x-ndjson', status: 200 });
      expect(JSON.parse(request.answer)).toMatchObject({ errors: false });
    }
    // The record is stored exactly as Enclave stored it.
    const first = batches[0]!.events[0]!;
    expect(canonicalJson(receiver.documents.get(`enclave-audit/${first.record.event.id}`)!.source)).toBe(first.text);
    const manifestDoc = receiver.documents.get(`enclave-audit/batch-${HOST_ID}-5`)!.source;
    expect(manifestDoc).toMatchObject({ '@timestamp': batches[4]!.manifest.created, event: { kind: 'state', dataset: 'enclave.audit_batch' } });
  });

  it('confirms a resent batch although Elastic answers 409 for every document it already holds', async () => {
    const receiver = await elasticReceiver();
    const transport = elasticTransport(receiver);
    await transport.send(batches[0]!, signal());
    const count = receiver.documents.size;
    await transport.send(batches[0]!, signal());
    expect(receiver.documents.size).toBe(count);
    const answer = JSON.parse(receiver.requests[1]!.answer) as { errors: boolean; items: Array<{ create: { status: number; error: { type: string } } }> };
    expect(answer.errors).toBe(true);
    expect(answer.items.every((i) => i.create.status === 409 && i.create.error.type === 'version_conflict_engine_exception')).toBe(true);
    verifyReceived(elasticReceived(receiver), batches.slice(0, 1));
  });

  it('splits the request and retries within the same send when Elastic answers 413', async () => {
    const receiver = await elasticReceiver({ maxContentLength: 4_000 });
    await sendAll(elasticTransport(receiver));
    expect(receiver.requests.some((r) => r.status === 413)).toBe(true);
    verifyReceived(elasticReceived(receiver), batches);
  });

  it('names the first refused document, and confirms nothing', async () => {
    const receiver = await elasticReceiver();
    const refused = batches[0]!.events[3]!.record.event.id;
    receiver.refuseIds.add(refused);
    const error = await deliveryError(elasticTransport(receiver).send(batches[0]!, signal()), 'rejected');
    expect(error.message).toMatch(new RegExp(`refused document ${refused} \\(document_parsing_exception: .*failed to parse`));
    receiver.refuseIds.clear();
    receiver.overloadIds.add(refused);
    await deliveryError(elasticTransport(receiver).send(batches[0]!, signal()), 'server_busy');
  });

  it.each([
    [503, 'server_busy', /busy \(HTTP 503: cluster_block_exception/],
    [429, 'server_busy', /busy \(HTTP 429: es_rejected_execution_exception/],
    [500, 'server_error', /failed \(HTTP 500/],
    [401, 'rejected', /refused our credentials \(HTTP 401: security_exception/],
  ] as const)('maps HTTP %i to %s', async (status, code, words) => {
    const receiver = await elasticReceiver();
    receiver.failNext = { status, count: 1 };
    const transport = elasticTransport(receiver);
    const error = await deliveryError(transport.send(batches[0]!, signal()), code);
    expect(error.message).toMatch(words);
    await transport.send(batches[0]!, signal());
    verifyReceived(elasticReceived(receiver), batches.slice(0, 1));
  });

  it('maps a wrong CA to certificate_rejected and a dropped connection to connection_reset', async () => {
    const receiver = await elasticReceiver();
    await deliveryError(elasticTransport(receiver, { caFile: pki.wrongCaFile }).send(batches[0]!, signal()), 'certificate_rejected');
    receiver.dropConnections = 1;
    await deliveryError(elasticTransport(receiver).send(batches[0]!, signal()), 'connection_reset');
    await elasticTransport(receiver).send(batches[0]!, signal());
    verifyReceived(elasticReceived(receiver), batches.slice(0, 1));
  });
});
