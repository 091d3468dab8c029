// Local verify must not trust the chain head kept in the same database: an
// attacker with the database key (but not working the signing key) cuts the
// newest events and rewinds the head, or rewrites an event and re-hashes the
// chain from there. The signed batch manifests stored beside the events still
// cover what was there, so verify, the start-up check and the export must
// all see it — and damage under a signed manifest is reported, never moved.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AuditLog,
  AuditRecordSchema,
  canonicalJson,
  hashRecord,
  manifestHash,
  pruneSealedEvents,
  sealPending,
  verifyAuditChain,
  type AuditRecord,
  type BatchManifest,
  type SealOptions,
} from '../support/audit-internals.js';
import { HEAD_HASH_KEY, HEAD_SEQ_KEY } from '../../src/main/audit/log.js';
import { runCli } from '../../src/main/cli/index.js';
import { createHeadlessCore } from '../../src/main/core/headless.js';
import { DATABASE_FILE, KEY_FILE } from '../../src/main/core/index.js';
import { readKeyFile } from '../../src/main/keys/index.js';
import { openStore, type Store } from '../../src/main/store/index.js';
import { call, EVAL_USER } from '../support/core.js';
import { tempDir } from '../support/temp.js';

let dir: ReturnType<typeof tempDir>;
let dbPath: string;
let keyFile: string;

function withStore<T>(fn: (store: Store) => T): T {
  const store = openStore({ path: dbPath, key: readKeyFile(keyFile) });
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

function sealOptions(store: Store): SealOptions {
  return { maxEvents: 4, institution: 'St Example Hospital', hostId: store.getMeta('host.id')!, hostName: hostname(), now: Date.now };
}

/** Writes `count` events and seals everything in batches of 4. */
function writeAndSeal(count: number): void {
  withStore((store) => {
    const audit = new AuditLog({ store, hostId: store.getMeta('host.id')!, hostName: hostname(), serviceVersion: 'test', now: Date.now });
    for (let i = 0; i < count; i++) {
      audit.record({ action: 'auth.unlock', ...(i % 3 === 0 ? { outcome: 'failure', reason: 'bad_credentials' } : { outcome: 'success' }), user: { name: `user${i % 2}@hospital.example` } });
    }
    sealPending(store, sealOptions(store));
  });
}

function newestSeq(store: Store): number {
  return (store.writer.prepare('SELECT max(seq) AS n FROM audit_events').get() as { n: number }).n;
}

function batchHolding(store: Store, seq: number): number {
  return (store.writer.prepare("SELECT batch_seq FROM audit_batches WHERE kind = 'events' AND first_seq <= ? AND last_seq >= ?").get(seq, seq) as { batch_seq: number }).batch_seq;
}

/** (a) Cuts the newest `k` (sealed) events and rewinds the head in meta to the new last event. Returns the first cut sequence. */
function cutSignedTail(store: Store, k: number): number {
  const n = newestSeq(store);
  const keep = n - k;
  store.transaction((db) => {
    db.prepare('DELETE FROM audit_events WHERE seq > ?').run(keep);
    const head = db.prepare('SELECT hash FROM audit_events WHERE seq = ?').get(keep) as { hash: string };
    db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(String(keep), HEAD_SEQ_KEY);
    db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(head.hash, HEAD_HASH_KEY);
  });
  return keep + 1;
}

/** (b) Turns event `seq`'s outcome around and re-hashes the chain from there to the head, as one without the signing key can. */
function rewriteAndRehash(store: Store, seq: number): void {
  store.transaction((db) => {
    const rows = db.prepare('SELECT seq, record FROM audit_events WHERE seq >= ? ORDER BY seq').all(seq) as { seq: number; record: string }[];
    let prev = (db.prepare('SELECT hash FROM audit_events WHERE seq = ?').get(seq - 1) as { hash: string }).hash;
    for (const row of rows) {
      const record = AuditRecordSchema.parse(JSON.parse(row.record));
      const { hash: _old, ...event } = record.event;
      const { reason: _reason, ...succeeded } = event;
      const changed = { ...record, prev, event: row.seq !== seq ? event : event.outcome === 'failure' ? { ...succeeded, outcome: 'success' as const } : { ...event, outcome: 'failure' as const } };
      const hash = hashRecord(changed);
      const rewritten: AuditRecord = { ...changed, event: { ...changed.event, hash } };
      db.prepare('UPDATE audit_events SET record = ?, hash = ? WHERE seq = ?').run(canonicalJson(rewritten), hash, row.seq);
      prev = hash;
    }
    db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(prev, HEAD_HASH_KEY);
  });
}

/** Rewrites a stored manifest (keeping its row's columns and manifest_hash consistent, so only the signature can tell). */
function editManifest(store: Store, batchSeq: number, edit: (m: BatchManifest) => BatchManifest): void {
  const row = store.writer.prepare('SELECT manifest FROM audit_batches WHERE batch_seq = ?').get(batchSeq) as { manifest: string };
  const edited = edit(JSON.parse(row.manifest) as BatchManifest);
  store.writer.prepare('UPDATE audit_batches SET manifest = ?, manifest_hash = ? WHERE batch_seq = ?').run(JSON.stringify(edited), manifestHash(edited), batchSeq);
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (l) => (out += l + '\n'), err: (l) => (err += l + '\n') });
  return { code, out, err };
}

const verifyDb = () => withStore((store) => verifyAuditChain(store.reader));

beforeEach(async () => {
  dir = tempDir('enclave-manifest-verify-');
  dbPath = join(dir.path, DATABASE_FILE);
  keyFile = join(dir.path, KEY_FILE);
  const core = await createHeadlessCore({ dataDir: dir.path });
  await call(core, 'auth.createFirstAccount', EVAL_USER);
  await call(core, 'auth.signOut', {});
  await core.close();
  writeAndSeal(21);
});
afterEach(() => dir.remove());

describe('local audit verify against the signed manifests', () => {
  it('(e) passes the untouched log and says how far it is signed', async () => {
    const report = verifyDb();
    const n = withStore(newestSeq);
    expect(report).toMatchObject({ ok: true, eventsChecked: n, headSequence: n, signedThroughSequence: n });
    expect(report.manifestsChecked).toBeGreaterThan(5);
    const run = await cli(['audit', 'verify', '--db', dbPath, '--key-file', keyFile]);
    expect(run.code).toBe(0);
    expect(run.out).toMatch(new RegExp(`signed batches checked, signed through ${n}`));
  });

  it('(a) reports events cut from under a signed manifest, though the head in meta was rewound to match', async () => {
    const { firstCut, batch } = withStore((store) => {
      const firstCut = cutSignedTail(store, 3);
      return { firstCut, batch: batchHolding(store, firstCut) };
    });
    const report = verifyDb();
    expect(report.ok).toBe(false);
    expect(report.firstBad).toMatchObject({ sequence: firstCut, problem: 'missing', batchSeq: batch });
    const run = await cli(['audit', 'verify', '--db', dbPath, '--key-file', keyFile]);
    expect(run.code).toBe(1);
    expect(run.out).toContain(`event ${firstCut} missing (signed batch ${batch})`);
  });

  it('(b) names the batch and the event of a chain rewritten and re-hashed without the signing key', () => {
    // A failed unlock turned into a success, a few events before the head.
    const { seq, batch, first, last } = withStore((store) => {
      const seq = (
        store.writer.prepare(`SELECT seq FROM audit_events WHERE action = 'auth.unlock' AND record LIKE '%"failure"%' AND seq < ? ORDER BY seq DESC LIMIT 1`).get(newestSeq(store) - 4) as {
          seq: number;
        }
      ).seq;
      const batch = batchHolding(store, seq);
      const range = store.writer.prepare('SELECT first_seq, last_seq FROM audit_batches WHERE batch_seq = ?').get(batch) as { first_seq: number; last_seq: number };
      rewriteAndRehash(store, seq);
      return { seq, batch, first: range.first_seq, last: range.last_seq };
    });
    const report = verifyDb();
    expect(report.ok).toBe(false);
    expect(report.firstBad).toMatchObject({ problem: 'modified', batchSeq: batch });
    // Named exactly where the stored frontier can tell, else narrowed within the batch.
    expect(report.firstBad!.sequence).toBeGreaterThanOrEqual(first);
    expect(report.firstBad!.sequence).toBeLessThanOrEqual(seq);
    expect(report.firstBad!.detail).toContain(`signed batch ${batch} (events ${first}–${last}) do not reproduce its signed Merkle root`);
    // Only what lies before the named event counts as verified.
    expect(report.eventsChecked).toBe(report.firstBad!.sequence - 1);
  });

  it('(c) reports a manifest whose signed content was changed', () => {
    withStore((store) => editManifest(store, 3, (m) => ({ ...m, created: new Date(Date.parse(m.created) + 1000).toISOString() })));
    expect(verifyDb().firstBad).toMatchObject({ problem: 'bad_signature', batchSeq: 3 });
  });

  it('(c) reports a manifest whose signature was replaced', () => {
    withStore((store) =>
      editManifest(store, 4, (m) => {
        const signature = Buffer.from(m.signature, 'base64');
        signature[0] = signature[0]! ^ 0xff;
        return { ...m, signature: signature.toString('base64') };
      }),
    );
    expect(verifyDb().firstBad).toMatchObject({ problem: 'bad_signature', batchSeq: 4 });
  });

  it('(c) reports a manifest row whose columns no longer match what was signed', () => {
    withStore((store) => store.writer.prepare('UPDATE audit_batches SET tree_size = tree_size - 2, last_seq = last_seq - 2, event_count = event_count - 2 WHERE batch_seq = 5').run());
    const report = verifyDb();
    expect(report.firstBad).toMatchObject({ problem: 'modified', batchSeq: 5 });
    expect(report.firstBad!.detail).toContain('do not match its signed manifest');
  });

  it('(c) reports a signed manifest deleted from the middle of the chain', () => {
    withStore((store) => store.writer.prepare('DELETE FROM audit_batches WHERE batch_seq = 4').run());
    expect(verifyDb().firstBad).toMatchObject({ problem: 'broken_chain', batchSeq: 5 });
  });

  it('(e) still verifies after a key rotation, each manifest with the key that signed it', async () => {
    expect((await cli(['enroll', 'rotate', '--data-dir', dir.path])).code).toBe(0);
    writeAndSeal(9);
    const report = verifyDb();
    expect(report.firstBad).toBeNull();
    const keys = withStore((store) => (store.writer.prepare('SELECT count(DISTINCT key_id) AS n FROM audit_batches').get() as { n: number }).n);
    expect(keys).toBe(2);
    expect(report.signedThroughSequence).toBe(withStore(newestSeq));
  });

  it('(c) reports a rotation to a key that the old key did not name as its successor', async () => {
    expect((await cli(['enroll', 'rotate', '--data-dir', dir.path])).code).toBe(0);
    writeAndSeal(5);
    withStore((store) => store.writer.prepare('UPDATE audit_signing_keys SET replaced_by = NULL WHERE replaced_by IS NOT NULL').run());
    expect(verifyDb().firstBad).toMatchObject({ problem: 'broken_chain' });
  });

  it('(e) still verifies after pruning, resuming the Merkle tree from the signed frontier, and still catches a cut', () => {
    const prunedThrough = withStore((store) => store.transaction((db) => pruneSealedEvents(db, 4))!.throughSeq);
    const n = withStore(newestSeq);
    const report = verifyDb();
    expect(report).toMatchObject({ ok: true, eventsChecked: n - prunedThrough, signedThroughSequence: n });
    // A rewrite after the pruned events is still caught against the signed roots.
    const seq = prunedThrough + 3;
    withStore((store) => rewriteAndRehash(store, seq));
    expect(verifyDb().firstBad).toMatchObject({ problem: 'modified', batchSeq: withStore((store) => batchHolding(store, seq)) });
  });

  /** Deletes the events up to `through` and records them as pruned, as an attacker passing a deletion off as pruning would. */
  function passOffAsPruned(store: Store, through: number): void {
    const hash = (store.writer.prepare('SELECT hash FROM audit_events WHERE seq = ?').get(through) as { hash: string }).hash;
    store.writer.prepare('DELETE FROM audit_events WHERE seq <= ?').run(through);
    store.setMeta('audit.pruned_through_seq', String(through));
    store.setMeta('audit.pruned_hash', hash);
  }

  it('reports signed events deleted and passed off as pruned where no signed batch ends', () => {
    const through = withStore((store) => {
      const batch = store.writer.prepare('SELECT first_seq FROM audit_batches WHERE batch_seq = 3').get() as { first_seq: number };
      passOffAsPruned(store, batch.first_seq + 1);
      return batch.first_seq + 1;
    });
    const report = verifyDb();
    expect(report.firstBad).toMatchObject({ problem: 'missing', sequence: through });
    expect(report.firstBad!.detail).toContain('no signed batch ends there');
  });

  it('reports the newest signed batch deleted and passed off as pruned', () => {
    const newest = withStore((store) => {
      const newest = store.writer.prepare("SELECT batch_seq, first_seq, last_seq FROM audit_batches WHERE kind = 'events' ORDER BY batch_seq DESC LIMIT 1").get() as {
        batch_seq: number;
        first_seq: number;
        last_seq: number;
      };
      passOffAsPruned(store, newest.last_seq);
      return newest;
    });
    const report = verifyDb();
    expect(report.firstBad).toMatchObject({ problem: 'missing', sequence: newest.first_seq, batchSeq: newest.batch_seq });
    expect(report.firstBad!.detail).toContain('pruning always keeps the newest signed batch');
  });
});

describe('the export refuses what the signed manifests do not vouch for', () => {
  async function exportRefused(): Promise<{ err: string; out: string }> {
    const out = join(dir.path, 'bundle');
    const run = await cli(['audit', 'export', '--data-dir', dir.path, '--out', out]);
    expect(run.code).toBe(1);
    expect(existsSync(out)).toBe(false);
    const failure = withStore((store) => store.writer.prepare("SELECT record FROM audit_events WHERE action = 'audit.export' ORDER BY seq DESC LIMIT 1").get() as { record: string } | undefined);
    expect(failure && JSON.parse(failure.record).event).toMatchObject({ outcome: 'failure', reason: 'audit_corrupt' });
    return run;
  }

  it('(d) after a cut under a signed manifest', async () => {
    const { firstCut, batch } = withStore((store) => {
      const firstCut = cutSignedTail(store, 3);
      return { firstCut, batch: batchHolding(store, firstCut) };
    });
    const run = await exportRefused();
    expect(run.err).toContain(`signed batch ${batch}, event ${firstCut} missing`);
  });

  it('(d) after a rewrite re-hashed without the signing key', async () => {
    const batch = withStore((store) => {
      const seq = newestSeq(store) - 6;
      rewriteAndRehash(store, seq);
      return batchHolding(store, seq);
    });
    const run = await exportRefused();
    expect(run.err).toContain(`signed batch ${batch}, event`);
    expect(run.err).toContain('do not reproduce its signed Merkle root');
  });

  it('(e) writes the bundle of an untouched log, and it verifies', async () => {
    const out = join(dir.path, 'bundle');
    expect((await cli(['audit', 'export', '--data-dir', dir.path, '--out', out])).code).toBe(0);
    const keyId = withStore((store) => (store.writer.prepare('SELECT key_id FROM audit_signing_keys WHERE retired_at IS NULL').get() as { key_id: string }).key_id);
    expect((await cli(['audit', 'verify', '--bundle', out, '--key-id', keyId])).code).toBe(0);
  });
});

describe('start-up on a database tampered under a signed manifest', () => {
  async function startAndRead(): Promise<{ detail: Record<string, unknown>; reason: string; sequence: number; events: number }> {
    const core = await createHeadlessCore({ dataDir: dir.path });
    try {
      const row = core.store.writer.prepare("SELECT record FROM audit_events WHERE action = 'audit.corruption_detected' ORDER BY seq DESC LIMIT 1").get() as { record: string } | undefined;
      expect(row).toBeDefined();
      const record = JSON.parse(row!.record) as AuditRecord;
      const events = (core.store.writer.prepare('SELECT count(*) AS n FROM audit_events').get() as { n: number }).n;
      return { detail: record.enclave.detail as Record<string, unknown>, reason: record.event.reason!, sequence: record.event.sequence, events };
    } finally {
      await core.close();
    }
  }

  it('(f) reports a cut tail and moves nothing; new events never reuse a signed sequence', async () => {
    const { firstCut, signedThrough } = withStore((store) => {
      const signedThrough = newestSeq(store);
      return { firstCut: cutSignedTail(store, 3), signedThrough };
    });
    const started = await startAndRead();
    expect(started.reason).toBe('missing');
    expect(started.detail).toMatchObject({ first_bad_sequence: firstCut, quarantined_events: 0 });
    // The report itself can be sealed and sent: it does not take a sequence the signed batch already covers.
    expect(started.sequence).toBeGreaterThan(signedThrough);
    expect(withStore((store) => (store.writer.prepare('SELECT count(*) AS n FROM audit_quarantine').get() as { n: number }).n)).toBe(0);
    // Still reported at the next look: nothing was repaired.
    expect(verifyDb().firstBad).toMatchObject({ sequence: firstCut, problem: 'missing' });
  });

  it('(f) reports a re-hashed rewrite and keeps the rewritten events where they are', async () => {
    const { before, batch } = withStore((store) => {
      const seq = newestSeq(store) - 6;
      rewriteAndRehash(store, seq);
      return { before: (store.writer.prepare('SELECT count(*) AS n FROM audit_events').get() as { n: number }).n, batch: batchHolding(store, seq) };
    });
    const started = await startAndRead();
    expect(started.reason).toBe('modified');
    expect(started.detail).toMatchObject({ quarantined_events: 0 });
    expect(started.detail.detail).toContain(`signed batch ${batch}`);
    expect(started.events).toBeGreaterThan(before);
    expect(withStore((store) => (store.writer.prepare('SELECT count(*) AS n FROM audit_quarantine').get() as { n: number }).n)).toBe(0);
  });

  it('still quarantines a damaged tail that was never sealed', async () => {
    const damaged = withStore((store) => {
      const audit = new AuditLog({ store, hostId: store.getMeta('host.id')!, hostName: hostname(), serviceVersion: 'test', now: Date.now });
      for (let i = 0; i < 3; i++) audit.record({ action: 'auth.lock', outcome: 'success' });
      const seq = newestSeq(store) - 1;
      store.writer.prepare('UPDATE audit_events SET record = substr(record, 1, 40) WHERE seq = ?').run(seq);
      return seq;
    });
    const started = await startAndRead();
    expect(started.detail).toMatchObject({ first_bad_sequence: damaged, quarantined_events: 2 });
  });
});
