// The app killed (SIGKILL) at random moments while it writes, seals and sends
// audit batches to a real rsyslog over mutual TLS, 50 times in a row, then
// restarted to drain. After every run: no event is missing (the receiver plus
// the local database hold every sequence number), every duplicate at the
// receiver is part of a whole-batch resend recognisable by event.id, every
// manifest in the stream verifies, and the local chain verifies.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditRecordSchema, BatchManifestSchema, canonicalJson, hashRecord, rootOf, verifyAuditChain, verifyManifestSignature, type BatchManifest } from '../support/audit-internals.js';
import { KEY_FILE, readKeyFile } from '../../src/main/keys/index.js';
import { openStore } from '../../src/main/store/index.js';
import { parseRfc5424, startRsyslog, type Rsyslog } from '../support/rsyslog.js';
import { tempDir } from '../support/temp.js';

const RUNS = Number(process.env.ENCLAVE_CRASH_RUNS ?? 50);
const CHILD = join(import.meta.dirname, '../support/audit-churn-process.ts');

let rsyslog: Rsyslog;
const dir = tempDir();

beforeAll(async () => {
  rsyslog = await startRsyslog();
});
afterAll(async () => {
  await rsyslog?.destroy();
  dir.remove();
});

function runChild(mode: 'churn' | 'drain', policyFile: string): { child: ChildProcess; ready: Promise<void>; exited: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  // tsx as a loader inside this one process: SIGKILL must hit the app itself, not a wrapper that would leave it running.
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir.path, policyFile, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let signalReady: () => void;
  const ready = new Promise<void>((resolve) => (signalReady = resolve));
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stdout.includes('ready\n')) signalReady();
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
  return { child, ready: Promise.race([ready, exited.then(({ stderr: err }) => Promise.reject(new Error(`the app exited before it was ready:\n${err}`)))]), exited };
}

describe('killed while sealing and sending', () => {
  it(`${RUNS} SIGKILLs at random points lose nothing; duplicates are whole-batch resends; everything verifies`, async () => {
    const policy = JSON.parse(readFileSync(join(import.meta.dirname, '../../resources/policy/evaluation.json'), 'utf8')) as Record<string, unknown>;
    // Small batches and no local retention: many seals, sends and prunes per run.
    policy.audit = { batchMaxEvents: 60, batchMaxSeconds: 5, heartbeatSeconds: 60, localRetentionDays: 0 };
    policy.siem = {
      destinations: [
        { id: 'rsyslog', type: 'syslog-tls', address: rsyslog.address, format: 'rfc5424-json', caFile: rsyslog.caFile, clientCertFile: rsyslog.clientCertFile, clientKeyFile: rsyslog.clientKeyFile },
      ],
    };
    const policyFile = join(dir.path, 'policy.json');
    writeFileSync(policyFile, JSON.stringify(policy));

    // Deterministic "random" kill points, so a failure can be replayed.
    let seed = 0x5eed;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let run = 0; run < RUNS; run++) {
      const { child, ready, exited } = runChild('churn', policyFile);
      const startTimer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      await ready;
      clearTimeout(startTimer);
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.floor(random() * 900)));
      child.kill('SIGKILL');
      await exited;
    }
    const drain = runChild('drain', policyFile);
    const drainTimer = setTimeout(() => drain.child.kill('SIGKILL'), 120_000);
    const drained = await drain.exited;
    clearTimeout(drainTimer);
    expect(drained.code, drained.stderr).toBe(0);
    expect(drained.stdout).toContain('drained');

    // What the receiver holds: every message, in arrival order.
    const received = (await rsyslog.messages()).map(parseRfc5424);
    const events = received
      .filter((m) => m.msgId === 'AUDIT_EVENT')
      .map((m) => {
        const record = AuditRecordSchema.parse(JSON.parse(m.msg.replace(/^\uFEFF/, '')));
        // The body is the canonical record exactly as stored and hashed.
        expect(hashRecord(record)).toBe(record.event.hash);
        expect(canonicalJson(record)).toBe(m.msg.replace(/^\uFEFF/, ''));
        const sd = m.structuredData[0]!.params;
        expect(sd.eid).toBe(record.event.id);
        return { seq: record.event.sequence, id: record.event.id, hash: record.event.hash, batch: Number(sd.batch) };
      });
    const manifests = received.filter((m) => m.msgId === 'AUDIT_BATCH').map((m) => BatchManifestSchema.parse(JSON.parse(m.msg.replace(/^\uFEFF/, ''))));

    // The local database, opened as the CLI would.
    const store = openStore({ path: join(dir.path, 'enclave.db'), key: readKeyFile(join(dir.path, KEY_FILE)), readonly: true });
    try {
      expect(verifyAuditChain(store.reader)).toMatchObject({ ok: true });
      const head = (store.writer.prepare("SELECT value FROM meta WHERE key = 'audit.head_seq'").get() as { value: string }).value;
      const local = new Set((store.writer.prepare('SELECT seq FROM audit_events').all() as { seq: number }[]).map((r) => r.seq));
      const atReceiver = new Set(events.map((e) => e.seq));
      // Nothing missing: every sequence number is at the receiver or still on the workstation.
      const missing = [];
      for (let seq = 1; seq <= Number(head); seq++) if (!atReceiver.has(seq) && !local.has(seq)) missing.push(seq);
      expect(missing).toEqual([]);
      // Pruning happened: the receiver holds events the workstation no longer has.
      expect([...atReceiver].some((seq) => !local.has(seq))).toBe(true);

      // Duplicates: the same event id always carries the same content and batch,
      // and a batch that arrived more than once arrived whole each later time.
      const byId = new Map<string, { hash: string; batch: number; count: number }>();
      for (const e of events) {
        const seen = byId.get(e.id);
        if (seen) {
          expect(seen.hash).toBe(e.hash);
          expect(seen.batch).toBe(e.batch);
          seen.count += 1;
        } else byId.set(e.id, { hash: e.hash, batch: e.batch, count: 1 });
      }
      const manifestByBatch = new Map<number, BatchManifest>();
      for (const m of manifests) manifestByBatch.set(m.batch_seq, m);
      const duplicatedBatches = new Set([...byId.values()].filter((v) => v.count > 1).map((v) => v.batch));
      for (const batch of duplicatedBatches) {
        const manifest = manifestByBatch.get(batch);
        expect(manifest, `batch ${batch} was resent but its manifest never arrived`).toBeDefined();
        // Its last complete delivery: the batch's events in order, then its manifest.
        const lastManifestAt = received
          .map((m, i) => [m, i] as const)
          .filter(([m]) => m.msgId === 'AUDIT_BATCH' && Number(m.structuredData[0]!.params.batch) === batch)
          .at(-1)![1];
        const before = received.slice(lastManifestAt - manifest!.event_count, lastManifestAt).map((m) => Number(m.structuredData[0]!.params.seq));
        expect(before).toEqual(Array.from({ length: manifest!.event_count }, (_, i) => manifest!.first_seq! + i));
      }

      // Every manifest in the stream verifies with the workstation's key, and its root is the tree of the hashes the receiver holds.
      const keys = new Map((store.writer.prepare('SELECT key_id, public_key FROM audit_signing_keys').all() as { key_id: string; public_key: Buffer }[]).map((r) => [r.key_id, r.public_key]));
      const { createPublicKey } = await import('node:crypto');
      const hashBySeq = new Map(events.map((e) => [e.seq, Buffer.from(e.hash, 'hex')]));
      const confirmed = (store.writer.prepare("SELECT confirmed_through FROM siem_cursors WHERE destination_id = 'rsyslog'").get() as { confirmed_through: number }).confirmed_through;
      expect(confirmed).toBeGreaterThan(RUNS / 2);
      for (const m of manifestByBatch.values()) {
        const pem = createPublicKey({ key: keys.get(m.key_id)!, format: 'der', type: 'spki' })
          .export({ type: 'spki', format: 'pem' })
          .toString();
        expect(verifyManifestSignature(m, pem)).toBe(true);
        const leaves = Array.from({ length: m.tree_size }, (_, i) => hashBySeq.get(i + 1));
        if (leaves.every(Boolean)) expect(rootOf(leaves as Buffer[]).toString('hex')).toBe(m.root);
      }
      // Every confirmed batch's events are at the receiver.
      for (let batch = 1; batch <= confirmed; batch++) {
        const row = store.writer.prepare('SELECT first_seq, last_seq FROM audit_batches WHERE batch_seq = ?').get(batch) as { first_seq: number | null; last_seq: number | null };
        if (row.first_seq === null) continue;
        for (let seq = row.first_seq; seq <= row.last_seq!; seq++) expect(atReceiver.has(seq), `event ${seq} of confirmed batch ${batch}`).toBe(true);
      }
    } finally {
      store.close();
    }
  }, 600_000);
});
