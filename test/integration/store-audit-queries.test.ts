// The store's query modules for the audit and SIEM tables, on a real SQLCipher
// store: the queries that carry logic of their own (a search's narrowing and
// order, paging, the batch that seals an event, what a tampered batch row still
// claims, the delivery cursor's upserts and queue) and the rule that a query
// whose rows are iterated never shares its statement. Rows are written
// directly, so each case states exactly what the tables hold.
import type Database from 'better-sqlite3-multiple-ciphers';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { auditBatches, auditEvents, auditPrivateText, auditSigningKeys, meta, openStore, siemCursors, type Store } from '../../src/main/store/index.js';
import { pruneSealedEvents, sealNextBatch, type SealOptions } from '../support/audit-internals.js';
import { confirmBatch, ensureCursor, followingBatches, nextBatchFor, queuedBatches } from '../../src/main/siem/cursors.js';
import { cleanupsAfterEach, tempDir } from '../support/temp.js';

const cleanups = cleanupsAfterEach();
const KEY_ID = 'a'.repeat(64);
const T0 = Date.parse('2026-11-23T08:00:00.000Z');

function freshStore(): Store {
  const dir = tempDir();
  cleanups.push(dir.remove);
  const store = openStore({ path: `${dir.path}/enclave.db`, key: randomBytes(32) });
  cleanups.push(() => store.close());
  auditSigningKeys.insert(store.writer, { key_id: KEY_ID, algorithm: 'Ed25519', public_key: Buffer.from('spki'), private_key: Buffer.from('pkcs8'), created_at: T0 });
  return store;
}

/** Event seq at T0 + seq minutes, with the given action, outcome and user name. */
function addEvent(store: Store, seq: number, action: string, outcome: string, user?: unknown): void {
  const record = JSON.stringify({ event: { sequence: seq, action, outcome }, ...(user !== undefined ? { user: { name: user } } : {}) });
  auditEvents.insert(store.writer, { seq, id: `event-${seq}`, ts: T0 + seq * 60_000, action, record, hash: seq.toString(16).padStart(64, '0') });
}

/** A batch row; manifest is free text here (these queries never parse it, but claimedTreeSize reads its JSON). */
function addBatch(
  store: Store,
  batchSeq: number,
  kind: 'events' | 'heartbeat',
  first: number | null,
  last: number | null,
  options: { treeSize?: number; priority?: boolean; manifest?: string } = {},
): void {
  const treeSize = options.treeSize ?? last ?? 0;
  auditBatches.insert(store.writer, {
    batch_seq: batchSeq,
    kind,
    first_seq: first,
    last_seq: last,
    event_count: first === null || last === null ? 0 : last - first + 1,
    tree_size: treeSize,
    root: 'root',
    frontier: '{}',
    manifest: options.manifest ?? JSON.stringify({ tree_size: treeSize }),
    manifest_hash: `hash-${batchSeq}`,
    key_id: KEY_ID,
    priority: options.priority ? 1 : 0,
    created_at: T0 + batchSeq,
  });
}

describe('audit events', () => {
  it('a search narrows by time, action and outcome, newest first, and hands back user names only when asked', () => {
    const store = freshStore();
    addEvent(store, 1, 'auth.login', 'success', 'alice');
    addEvent(store, 2, 'auth.login', 'failure', 'Bob');
    addEvent(store, 3, 'audit.search', 'success', 'alice');
    addEvent(store, 4, 'auth.login', 'success', 42);
    addEvent(store, 5, 'auth.login', 'success');

    const logins = [...auditEvents.searchCandidates(store.reader, { action: 'auth.login', withUserName: true })];
    expect(logins).toEqual([
      { seq: 5, user_name: null },
      { seq: 4, user_name: 42 },
      { seq: 2, user_name: 'Bob' },
      { seq: 1, user_name: 'alice' },
    ]);
    // Times are inclusive at both ends.
    const window = [...auditEvents.searchCandidates(store.reader, { from: T0 + 2 * 60_000, to: T0 + 4 * 60_000, outcome: 'success', withUserName: false })];
    expect(window).toEqual([{ seq: 4 }, { seq: 3 }]);
    expect([...auditEvents.searchCandidates(store.reader, { action: 'auth.login', outcome: 'failure', withUserName: false })]).toEqual([{ seq: 2 }]);
    expect([...auditEvents.searchCandidates(store.reader, { withUserName: false })].map((r) => r.seq)).toEqual([5, 4, 3, 2, 1]);
  });

  it('pages sequences newest first from before a cursor, and counts every event', () => {
    const store = freshStore();
    for (let seq = 1; seq <= 7; seq++) addEvent(store, seq, 'auth.login', 'success', 'alice');
    expect(auditEvents.seqsBefore(store.reader, Number.MAX_SAFE_INTEGER, 3)).toEqual([7, 6, 5]);
    expect(auditEvents.seqsBefore(store.reader, 5, 3)).toEqual([4, 3, 2]);
    expect(auditEvents.seqsBefore(store.reader, 2, 3)).toEqual([1]);
    expect(auditEvents.count(store.reader)).toBe(7);
    expect(auditEvents.countAfter(store.reader, 5)).toEqual({ count: 2, oldestAt: T0 + 6 * 60_000 });
    expect(auditEvents.countAfter(store.reader, 7)).toEqual({ count: 0, oldestAt: null });
    expect(auditEvents.after(store.reader, 2, 2).map((r) => r.seq)).toEqual([3, 4]);
  });

  it('two walks of the same events at once do not collide (an iterated query never shares its statement)', () => {
    const store = freshStore();
    for (let seq = 1; seq <= 4; seq++) addEvent(store, seq, 'auth.login', 'success', 'alice');
    // The outbox streams a batch while another reader (status, a second destination) walks the same range.
    const a = auditEvents.recordsBetween(store.reader, 1, 4);
    const b = auditEvents.recordsBetween(store.reader, 1, 4);
    expect(a.next().value?.seq).toBe(1);
    expect(b.next().value?.seq).toBe(1);
    expect(a.next().value?.seq).toBe(2);
    expect([...b].map((r) => r.seq)).toEqual([2, 3, 4]);
    a.return?.();
    const walks = [auditEvents.all(store.reader), auditEvents.all(store.reader)];
    expect(walks.map((walk) => walk.next().value?.seq)).toEqual([1, 1]);
    for (const walk of walks) walk.return?.();
    // A cached statement (used by get) still works while an iteration is open.
    const open = auditEvents.recordsBetween(store.reader, 1, 4);
    open.next();
    expect(auditEvents.hashAt(store.reader, 3)).toBe((3).toString(16).padStart(64, '0'));
    open.return?.();
  });

  it('quarantine copies the tail with the problem found, and deleting it takes its private text along', () => {
    const store = freshStore();
    for (let seq = 1; seq <= 4; seq++) addEvent(store, seq, 'auth.login', 'success', 'alice');
    auditPrivateText.insert(store.writer, { event_seq: 4, field: 'reason', text: 'typed' });
    auditPrivateText.insert(store.writer, { event_seq: 3, field: 'b_field', text: 'second' });
    auditPrivateText.insert(store.writer, { event_seq: 3, field: 'a_field', text: 'first' });
    expect(auditPrivateText.ofEvent(store.reader, 3)).toEqual([
      { field: 'a_field', text: 'first' },
      { field: 'b_field', text: 'second' },
    ]);
    store.transaction((db) => {
      auditEvents.quarantineFrom(db, 3, 'the event does not match its hash', T0);
      expect(auditEvents.deleteFrom(db, 3)).toBe(2);
    });
    const quarantined = store.reader.prepare('SELECT seq, id, problem, quarantined_at FROM audit_quarantine ORDER BY seq').all();
    expect(quarantined).toEqual([
      { seq: 3, id: 'event-3', problem: 'the event does not match its hash', quarantined_at: T0 },
      { seq: 4, id: 'event-4', problem: 'the event does not match its hash', quarantined_at: T0 },
    ]);
    expect(auditEvents.newest(store.reader)?.seq).toBe(2);
    expect(auditPrivateText.ofEvent(store.reader, 4)).toEqual([]);
  });
});

describe('audit batches', () => {
  it('names the events batch that seals an event, skipping heartbeats, and none while it waits', () => {
    const store = freshStore();
    addBatch(store, 1, 'events', 1, 3);
    addBatch(store, 2, 'heartbeat', null, null, { treeSize: 3 });
    addBatch(store, 3, 'events', 4, 6);
    expect([1, 3, 4, 6, 7].map((seq) => auditBatches.sealing(store.reader, seq))).toEqual([1, 1, 3, 3, null]);
    expect(auditBatches.newest(store.reader)?.batch_seq).toBe(3);
    expect(auditBatches.newestTreeSize(store.reader)).toBe(6);
    expect(auditBatches.newestWithEvents(store.reader)).toBe(3);
    expect(auditBatches.lastSeqThrough(store.reader, 2)).toBe(3);
    expect(auditBatches.eventCount(store.reader, 3)).toBe(3);
    expect(auditBatches.eventCount(store.reader, 9)).toBeUndefined();
    expect([...auditBatches.allSigned(store.reader)].map((r) => [r.batch_seq, r.kind])).toEqual([
      [1, 'events'],
      [2, 'heartbeat'],
      [3, 'events'],
    ]);
  });

  it('what the batches claim is sealed holds when a row is edited to claim less in its column or its JSON, and ignores JSON that does not parse', () => {
    const store = freshStore();
    expect(auditBatches.claimedTreeSize(store.reader)).toEqual({ columns: null, signed: null });
    addBatch(store, 1, 'events', 1, 5, { treeSize: 2, manifest: JSON.stringify({ tree_size: 5 }) });
    addBatch(store, 2, 'events', 6, 8, { treeSize: 8, manifest: 'not json' });
    expect(auditBatches.claimedTreeSize(store.reader)).toEqual({ columns: 8, signed: 5 });
  });
});

describe('SIEM cursors', () => {
  it('a cursor made twice keeps its first state, and a confirmation recorded twice is one', () => {
    const store = freshStore();
    siemCursors.insertIfMissing(store.writer, 'splunk', 0, T0);
    siemCursors.setFailure(store.writer, 'splunk', '{"code":"refused"}', T0 + 1);
    siemCursors.insertIfMissing(store.writer, 'splunk', 5, T0 + 2);
    expect(siemCursors.byDestination(store.reader, 'splunk')).toEqual({
      destination_id: 'splunk',
      confirmed_through: 0,
      last_success_at: null,
      last_failure_at: T0 + 1,
      last_failure: '{"code":"refused"}',
      updated_at: T0 + 1,
    });
    expect(siemCursors.confirmedThrough(store.reader, 'elastic')).toBeUndefined();
    siemCursors.insertConfirmation(store.writer, 'splunk', 3, T0);
    siemCursors.insertConfirmation(store.writer, 'splunk', 3, T0 + 9);
    expect(store.reader.prepare("SELECT batch_seq, confirmed_at FROM siem_confirmations WHERE destination_id = 'splunk'").all()).toEqual([{ batch_seq: 3, confirmed_at: T0 }]);
  });

  it('sends break-glass batches first, counts the queue without what was confirmed ahead, and moves the cursor over contiguous confirmations', () => {
    const store = freshStore();
    for (let b = 1; b <= 5; b++) addBatch(store, b, 'events', b * 2 - 1, b * 2, { priority: b === 4 });
    // A destination first seen after pruning starts where pruning stopped.
    meta.set(store.writer, 'audit.pruned_through_batch', '1');
    store.transaction((db) => ensureCursor(db, 'syslog', T0));
    expect(siemCursors.confirmedThrough(store.reader, 'syslog')).toBe(1);
    expect(nextBatchFor(store.reader, 'syslog')).toBe(4);
    expect(queuedBatches(store.reader, 'syslog')).toBe(4);

    store.transaction((db) => confirmBatch(db, 'syslog', 4, T0 + 1));
    expect(siemCursors.confirmedThrough(store.reader, 'syslog')).toBe(1);
    expect(nextBatchFor(store.reader, 'syslog')).toBe(2);
    expect(queuedBatches(store.reader, 'syslog')).toBe(3);
    // In order from the cursor, stopping at what is already confirmed.
    expect(siemCursors.unconfirmedAfter(store.reader, 'syslog', 2, 10)).toEqual([
      { batch_seq: 3, event_count: 2 },
      { batch_seq: 5, event_count: 2 },
    ]);
    expect(followingBatches(store.reader, 'syslog', 2, { batches: 10, events: 100 })).toEqual([3]);
    expect(followingBatches(store.reader, 'syslog', 2, { batches: 10, events: 3 })).toEqual([]);

    store.transaction((db) => confirmBatch(db, 'syslog', 2, T0 + 2));
    store.transaction((db) => confirmBatch(db, 'syslog', 3, T0 + 3));
    // 2 and 3 join 4, already confirmed: the cursor passes all three and forgets their confirmations.
    expect(siemCursors.byDestination(store.reader, 'syslog')).toMatchObject({ confirmed_through: 4, last_success_at: T0 + 3 });
    expect(siemCursors.isConfirmed(store.reader, 'syslog', 4)).toBe(false);
    expect(nextBatchFor(store.reader, 'syslog')).toBe(5);
    expect(queuedBatches(store.reader, 'syslog')).toBe(1);
    expect(siemCursors.firstUnconfirmed(store.reader, 'syslog', 4, { priorityOnly: true })).toBeNull();
  });
});

describe('meta', () => {
  it('set replaces a value; insert refuses to replace one', () => {
    const store = freshStore();
    meta.set(store.writer, 'test.key', 'one');
    meta.set(store.writer, 'test.key', 'two');
    expect(meta.get(store.reader, 'test.key')).toBe('two');
    expect(store.getMeta('test.key')).toBe('two');
    expect(() => meta.insert(store.writer, 'test.key', 'three')).toThrow(/UNIQUE|constraint/i);
    expect(meta.get(store.reader, 'test.key')).toBe('two');
    meta.remove(store.writer, 'test.key');
    expect(meta.get(store.reader, 'test.key')).toBeUndefined();
  });
});

/**
 * Never called: `npx tsc` checks it. A query that writes needs the write
 * handle, and the raw connection is neither; each line below must stay a type
 * error (an unused @ts-expect-error fails the typecheck).
 */
export function writesNeedTheWriteHandle(store: Store): void {
  // @ts-expect-error the read handle cannot delete events
  auditEvents.deleteThrough(store.reader, 1);
  // @ts-expect-error the read handle cannot seal
  auditBatches.insert(store.reader, {} as auditBatches.AuditBatchRow);
  // @ts-expect-error the read handle cannot move a cursor
  siemCursors.setConfirmedThrough(store.reader, 'x', 1, 0);
  // @ts-expect-error the read handle cannot write meta
  meta.set(store.reader, 'k', 'v');
  // @ts-expect-error a raw connection is no handle
  auditEvents.count(null as unknown as Database.Database);
  // @ts-expect-error the audit service's writes need it too
  sealNextBatch(store.reader, {} as SealOptions);
  // @ts-expect-error the audit service's writes need it too
  pruneSealedEvents(store.reader, 1);
}
