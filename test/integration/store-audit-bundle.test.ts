// The audit export's queries (store/audit-bundle.ts) against a real database:
// which events and batches a time range holds, and what lies after it.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, ensureEnrolmentKey, sealNextBatch, sealPending, type SealOptions } from '../support/audit-internals.js';
import { auditBatches, auditBundle, meta, DATABASE_FILE, openStore, type Store } from '../../src/main/store/index.js';
import { tempDir } from '../support/temp.js';

const START = Date.UTC(2025, 2, 1, 8);
const MINUTE = 60_000;

describe('store/audit-bundle queries', () => {
  const dir = tempDir('enclave-store-bundle-');
  let store: Store;
  let keyId: string;

  beforeAll(() => {
    store = openStore({ path: join(dir.path, DATABASE_FILE), key: randomBytes(32) });
    store.setMeta('host.id', 'host-under-test');
    let time = START;
    const now = () => time;
    const audit = new AuditLog({ store, hostId: 'host-under-test', hostName: 'ws', serviceVersion: 'test', now });
    // Event 1 (store.open) and the enrolment's events, all at START.
    audit.record({ action: 'store.open', outcome: 'success' });
    keyId = ensureEnrolmentKey(store, audit, now).keyId;
    const seal: SealOptions = { maxEvents: 3, institution: 'St Example', hostId: 'host-under-test', hostName: 'ws', now };
    sealPending(store, seal);
    // Then three events ten minutes apart, sealed in batches of three, and a heartbeat an hour later.
    for (let i = 1; i <= 3; i++) {
      time = START + i * 10 * MINUTE;
      audit.record({ action: 'auth.login', outcome: 'success' });
    }
    sealPending(store, seal);
    time = START + 90 * MINUTE;
    store.transaction((db) => sealNextBatch(db, { ...seal, heartbeat: true }));
  });

  afterAll(() => {
    store.close();
    dir.remove();
  });

  it('finds the events written in a time range, and the events batch that seals each', () => {
    const db = store.reader;
    const newest = auditBundle.newestBatch(db)!;
    const span = auditBundle.eventsWrittenIn(db, newest.treeSize, START + 10 * MINUTE, START + 20 * MINUTE);
    expect(span.hi! - span.lo!).toBe(1);
    expect(auditBundle.eventTime(db, span.lo!)).toBe(START + 10 * MINUTE);
    expect(auditBundle.eventTime(db, span.hi!)).toBe(START + 20 * MINUTE);
    const batch = auditBatches.sealing(db, span.lo!)!;
    const row = auditBundle.batchRow(db, batch)!;
    expect(row.kind).toBe('events');
    expect(row.first_seq! <= span.lo! && span.lo! <= row.last_seq!).toBe(true);
    expect(auditBundle.eventsWrittenIn(db, newest.treeSize, START + 100 * MINUTE, START + 200 * MINUTE)).toEqual({ lo: null, hi: null });
  });

  it('finds the heartbeat sealed in a range, and the first batch wholly after a time', () => {
    const db = store.reader;
    const newest = auditBundle.newestBatch(db)!;
    expect(auditBundle.batchKind(db, newest.batchSeq)).toBe('heartbeat');
    expect(auditBundle.heartbeatsSealedIn(db, START + 80 * MINUTE, START + 100 * MINUTE)).toEqual({ lo: newest.batchSeq, hi: newest.batchSeq });
    expect(auditBundle.heartbeatsSealedIn(db, START, START + 30 * MINUTE)).toEqual({ lo: null, hi: null });
    // After the last event only the heartbeat follows; after all of it, nothing.
    expect(auditBundle.firstBatchAfter(db, START + 30 * MINUTE)).toBe(newest.batchSeq);
    expect(auditBundle.firstBatchAfter(db, START + 90 * MINUTE)).toBeUndefined();
  });

  it('reads batch rows in order, their manifests, and the newest event time they sign', () => {
    const db = store.reader;
    const newest = auditBundle.newestBatch(db)!;
    const rows = [...auditBundle.batchRows(db, 1, newest.batchSeq)];
    expect(rows.map((r) => r.batch_seq)).toEqual(Array.from({ length: newest.batchSeq }, (_, i) => i + 1));
    expect(rows.at(-1)!.tree_size).toBe(newest.treeSize);
    expect(JSON.parse(auditBundle.batchManifestText(db, 1)!)).toMatchObject({ batch_seq: 1, kind: 'events' });
    expect(auditBundle.newestEventTimeOfBatches(db, 1, newest.batchSeq)).toBe(new Date(START + 30 * MINUTE).toISOString());
    expect(auditBundle.batchRow(db, newest.batchSeq + 1)).toBeUndefined();
    expect(auditBundle.firstBatchReaching(db, newest.treeSize)).toBe(rows.find((r) => r.tree_size === newest.treeSize)!.batch_seq);
  });

  it('reads events in order, the oldest kept, the host id and the signing key', () => {
    const db = store.reader;
    const events = [...auditBundle.eventRows(db, 1, 3)];
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(JSON.parse(events[0]!.record)).toMatchObject({ event: { sequence: 1, hash: events[0]!.hash } });
    expect(auditBundle.oldestKeptEventSeq(db)).toBe(1);
    expect(meta.get(db, 'host.id')).toBe('host-under-test');
    expect(auditBundle.signingKey(db, keyId)).toMatchObject({ key_id: keyId, algorithm: 'Ed25519', retired_at: null });
    expect(auditBundle.signingKey(db, 'no-such-key')).toBeUndefined();
  });
});
