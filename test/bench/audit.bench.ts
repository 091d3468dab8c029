// What signed audit batches cost, each figure beside a baseline measured in the
// same run on the same machine:
//   1. seal and sign 100,000 events (batches of 500) vs only re-hashing them
//      (parse + JCS + SHA-256: the least any sealing that checks its input does);
//   2. drain a 100,000-event backlog to a real rsyslog over mutual TLS through
//      the outbox vs writing the same frames down one TLS connection; with the
//      core's peak memory, which must stay bounded (batches are streamed);
//   3. verify a 100,000-event export bundle vs only reading and SHA-256-ing its
//      events file;
//   with 1., the start-up check of the whole local chain against the same baseline.
// Run with `npm run bench` (needs rsyslog + rsyslog-gnutls, as `npm test` installs).
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { readFileSync } from 'node:fs';
import {
  AuditLog,
  AuditRecordSchema,
  describeBundleReport,
  ensureEnrolmentKey,
  exportAuditBundle,
  hashRecord,
  sealPending,
  verifyAuditBundle,
  verifyAuditChain,
  sealedBatchSource,
} from '../support/audit-internals.js';
import { createTransport, SiemOutbox, type SiemDestination } from '../../src/main/siem/index.js';
import { renderSyslogBatch } from '../../src/main/siem/formats/syslog.js';
import { octetCountedFrame } from '../../src/main/siem/transports/syslog-tls.js';
import { openStore, type Store } from '../../src/main/store/index.js';
import { rsyslogDestination, startRsyslog } from '../support/rsyslog.js';

const EVENTS = Number(process.env.ENCLAVE_BENCH_AUDIT_EVENTS ?? 100_000);
const BATCH = 500;
const RENDER = { enterpriseNumber: 32473, productVersion: 'bench', vendor: 'Enclave' };

const dir = mkdtempSync(join(tmpdir(), 'enclave-audit-bench-'));
const rate = (count: number, ms: number) => Math.round((count * 1000) / ms);
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const row = (label: string, eventsPerSecond: number, extra = '') => console.log(`${label.padEnd(52)} ${String(eventsPerSecond).padStart(9)} ev/s ${extra}`);

function writeEvents(store: Store, audit: AuditLog, count: number): void {
  // One transaction per 1,000 events: the bench measures sealing, not fsync.
  for (let done = 0; done < count;) {
    const n = Math.min(1000, count - done);
    store.transaction(() => {
      for (let i = 0; i < n; i++) {
        audit.record({
          action: i % 3 === 0 ? 'ai.prompt' : 'auth.denied',
          outcome: 'success',
          user: { name: `clinician${(done + i) % 40}@hospital.example.org`, roles: ['clinician'], authMethod: 'directory-password' },
          sessionId: '0190f1b2-7a7e-7cc1-9a55-0b1f0c2d3e4f',
          ...(i % 3 === 0 ? { prompt: { text: `prompt ${i} `.padEnd(420, '.'), tokens: 96 } } : {}),
        });
      }
    });
    done += n;
  }
}

async function main(): Promise<void> {
  console.log(`Audit batches: ${EVENTS.toLocaleString('en')} events, batches of ${BATCH}. Node ${process.version}, ${process.arch}.\n`);
  const store = openStore({ path: join(dir, 'enclave.db'), key: randomBytes(32) });
  store.setMeta('host.id', 'bench-host');
  let clock = Date.parse('2026-11-01T00:00:00.000Z');
  const now = () => (clock += 7);
  const audit = new AuditLog({ store, hostId: 'bench-host', hostName: 'ward7-ws12', serviceVersion: 'bench', now });
  ensureEnrolmentKey(store, audit, now);
  writeEvents(store, audit, EVENTS - 1);

  // 1. Seal and sign.
  const texts = (store.writer.prepare('SELECT record FROM audit_events ORDER BY seq').all() as { record: string }[]).map((r) => r.record);
  let t = performance.now();
  for (const text of texts) hashRecord(AuditRecordSchema.parse(JSON.parse(text)));
  const hashMs = performance.now() - t;
  t = performance.now();
  const sealed = sealPending(store, { maxEvents: BATCH, institution: 'St Elsewhere', hostId: 'bench-host', hostName: 'ward7-ws12', now });
  const sealMs = performance.now() - t;
  console.log('1. Seal and sign');
  row('   baseline: parse + JCS + SHA-256 of every event', rate(EVENTS, hashMs));
  row(`   Enclave: seal ${sealed.length} signed batches`, rate(EVENTS, sealMs), `ratio ${(hashMs / sealMs).toFixed(2)} of baseline`);
  // What every start of the app pays: the whole local chain is re-verified.
  t = performance.now();
  const chain = verifyAuditChain(store.reader);
  const chainMs = performance.now() - t;
  if (!chain.ok) throw new Error('the bench chain did not verify');
  row('   Enclave: start-up check of the whole local chain', rate(EVENTS, chainMs), `ratio ${(hashMs / chainMs).toFixed(2)} of baseline, ${Math.round(chainMs)} ms`);

  // 2. Drain to rsyslog over mutual TLS.
  const rsyslog = await startRsyslog({ parentDir: dir });
  try {
    const destination: SiemDestination = rsyslogDestination(rsyslog, { id: 'rsyslog' });
    // Baseline: the same frames down one connection, no per-batch close.
    const frames: Buffer[] = [];
    for (const batch of sealed) frames.push(...renderSyslogBatch(sealedBatchSource(store, audit).read(batch.batchSeq)!, 'rfc5424-json', RENDER).map(octetCountedFrame));
    const frameBytes = frames.reduce((sum, f) => sum + f.length, 0);
    t = performance.now();
    await new Promise<void>((resolve, reject) => {
      const socket = connect(
        {
          host: rsyslog.host,
          port: rsyslog.port,
          ca: readFileSync(rsyslog.caFile),
          cert: readFileSync(rsyslog.clientCertFile),
          key: readFileSync(rsyslog.clientKeyFile),
          servername: 'localhost',
          minVersion: 'TLSv1.2',
        },
        async () => {
          for (const frame of frames) if (!socket.write(frame)) await new Promise((r) => socket.once('drain', r));
          socket.end();
        },
      );
      socket.on('close', (hadError) => (hadError ? reject(new Error('baseline connection failed')) : resolve()));
      socket.on('error', reject);
    });
    await rsyslog.waitForMessages(frames.length, 300_000);
    const rawMs = performance.now() - t;

    const received = frames.length;
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    const outbox = new SiemOutbox({
      store,
      batches: sealedBatchSource(store, audit),
      audit,
      destinations: () => [destination],
      localRetentionDays: () => 30,
      createTransport: (d) => createTransport(d, { render: RENDER, hecChannel: () => '' }),
      now: Date.now,
      onChange: (status) => {
        if (status.destinations[0]?.queuedBatches === 0 && status.destinations[0].state !== 'sending') finished();
      },
      log: (message, error) => console.error(message, error),
    });
    t = performance.now();
    await outbox.reconcile();
    await done;
    const drainMs = performance.now() - t;
    clearInterval(sampler);
    await outbox.stop();
    const got = (await rsyslog.messages()).length - received;
    console.log('\n2. Drain the backlog to rsyslog (RFC 5425, mutual TLS, RFC 5424 + JSON)');
    row(`   baseline: the same ${mib(frameBytes)} MiB down one TLS connection`, rate(EVENTS, rawMs));
    row(`   Enclave outbox: ${sealed.length} batches, ≤5,000 events a connection`, rate(EVENTS, drainMs), `ratio ${(rawMs / drainMs).toFixed(2)} of baseline`);
    console.log(`   messages received: ${got} (events + manifests); core RSS ${mib(rssBefore)} MiB before, peak ${mib(peakRss)} MiB (+${mib(peakRss - rssBefore)} MiB)`);
    console.log(
      "   Each connection waits the transport's refusal window (250 ms) after its handshake (rsyslog refuses a bad client certificate only after it, by closing), and counts as delivered only at a clean close.",
    );
  } finally {
    await rsyslog.destroy();
  }

  // 3. Verify an export bundle.
  const keyId = (store.writer.prepare('SELECT key_id FROM audit_signing_keys WHERE retired_at IS NULL').get() as { key_id: string }).key_id;
  const bundle = join(dir, 'bundle');
  t = performance.now();
  const exported = exportAuditBundle(store.writer, {}, bundle, { exportedBy: 'bench', now: Date.now() });
  const exportMs = performance.now() - t;
  t = performance.now();
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(join(bundle, 'events.jsonl'))) hash.update(chunk as Buffer);
  hash.digest();
  const readMs = performance.now() - t;
  t = performance.now();
  const report = verifyAuditBundle(bundle, { expectedKeyIds: [keyId] });
  const verifyMs = performance.now() - t;
  if (!report.ok) throw new Error(`the bench bundle did not verify:\n${describeBundleReport(report).join('\n')}`);
  console.log('\n3. Export and verify a bundle of every event');
  row('   baseline: read events.jsonl and SHA-256 it', rate(EVENTS, readMs));
  row(`   Enclave: verify (signatures, chain, roots, ${exported.selectedEvents} proofs)`, rate(EVENTS, verifyMs), `ratio ${(readMs / verifyMs).toFixed(3)} of baseline`);
  row('   Enclave: export (events, manifests, proofs, CSV)', rate(EVENTS, exportMs));
  store.close();
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
