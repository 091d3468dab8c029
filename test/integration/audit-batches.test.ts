// Signed batches on the real encrypted store: sealing, heartbeats, key
// rotation, the quarantine of a damaged unsealed tail, and the outbox's
// delivery rules (own cursor per destination, whole-batch resend, break-glass
// first, pruning only after every destination confirmed). Transports here are
// scripted stand-ins for the Transport interface; the real ones against real
// receivers are in siem-syslog.test.ts and siem-http.test.ts.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AuditLog,
  BatchManifestSchema,
  currentEnrolmentKey,
  ensureEnrolmentKey,
  lastBatch,
  manifestHash,
  rootOf,
  rotateEnrolmentKey,
  sealNextBatch,
  sealPending,
  verifyAuditChain,
  verifyManifestSignature,
  type BatchManifest,
  type SealOptions,
  sealedBatchSource,
} from '../support/audit-internals.js';
import { createHeadlessCore } from '../../src/main/core/headless.js';
import { evaluationPolicy, policyFromDocument, type Policy } from '../../src/main/policy/index.js';
import { DeliveryError, SiemOutbox, type OutgoingBatch, type SiemDestination, type Transport } from '../../src/main/siem/index.js';
import { openStore, type Store } from '../../src/main/store/index.js';
import { readKeyFile } from '../../src/main/keys/index.js';
import { call, callError } from '../support/core.js';
import { runCli } from '../../src/main/cli/index.js';
import { cleanupsAfterEach, tempDir } from '../support/temp.js';

const cleanups = cleanupsAfterEach();

function freshStore(): { store: Store; audit: AuditLog; seal: SealOptions } {
  const dir = tempDir();
  cleanups.push(dir.remove);
  const store = openStore({ path: `${dir.path}/enclave.db`, key: randomBytes(32) });
  cleanups.push(() => store.close());
  let clock = Date.parse('2026-11-23T08:00:00.000Z');
  const now = () => (clock += 1000);
  const audit = new AuditLog({ store, hostId: 'host-1', hostName: 'ward7-ws12', serviceVersion: 'test', now });
  ensureEnrolmentKey(store, audit, now);
  return { store, audit, seal: { maxEvents: 10, institution: 'St Elsewhere', hostId: 'host-1', hostName: 'ward7-ws12', now } };
}

function writeEvents(audit: AuditLog, count: number, action: 'auth.login' | 'auth.breakglass' = 'auth.login'): void {
  for (let i = 0; i < count; i++) audit.record({ action, outcome: 'success', user: { name: `user${i}@example.org` } });
}

function manifests(store: Store): BatchManifest[] {
  return (store.writer.prepare('SELECT manifest FROM audit_batches ORDER BY batch_seq').all() as { manifest: string }[]).map((r) => BatchManifestSchema.parse(JSON.parse(r.manifest)));
}

function leaves(store: Store, size: number): Buffer[] {
  return (store.writer.prepare('SELECT hash FROM audit_events WHERE seq <= ? ORDER BY seq').all(size) as { hash: string }[]).map((r) => Buffer.from(r.hash, 'hex'));
}

describe('sealing', () => {
  it('seals every N events into signed, chained manifests whose root covers every event since enrolment', () => {
    const { store, audit, seal } = freshStore();
    writeEvents(audit, 22); // plus audit.enroll: 23 events
    const sealed = sealPending(store, seal);
    expect(sealed.map((b) => b.manifest.event_count)).toEqual([10, 10, 3]);
    const key = currentEnrolmentKey(store)!;
    const all = manifests(store);
    for (const [i, m] of all.entries()) {
      expect(verifyManifestSignature(m, key.publicKeyPem)).toBe(true);
      expect(m.key_id).toBe(key.keyId);
      expect(m.root).toBe(rootOf(leaves(store, m.tree_size)).toString('hex'));
      expect(m.origin).toEqual({ institution: 'St Elsewhere', host_id: 'host-1', host_name: 'ward7-ws12' });
      if (i === 0) {
        expect(m.start).toEqual({ reason: 'enrolment' });
        expect(m.prev_manifest_hash).toBeNull();
      } else {
        expect(m.start).toBeNull();
        expect(m.prev_manifest_hash).toBe(manifestHash(all[i - 1]!));
        expect(m.prev_signature).toBe(all[i - 1]!.signature);
        expect(m.first_seq).toBe(all[i - 1]!.last_seq! + 1);
      }
    }
    expect(all.at(-1)!).toMatchObject({ first_seq: 21, last_seq: 23, tree_size: 23 });
    // Nothing waiting: nothing sealed.
    expect(sealPending(store, seal)).toEqual([]);
  });

  it('a heartbeat holds no events, keeps the tree, and chains like any batch', () => {
    const { store, audit, seal } = freshStore();
    writeEvents(audit, 2);
    sealPending(store, seal);
    const before = lastBatch(store.reader)!.manifest;
    const heartbeat = store.transaction((db) => sealNextBatch(db, { ...seal, heartbeat: true }))!;
    expect(heartbeat.manifest).toMatchObject({
      kind: 'heartbeat',
      event_count: 0,
      first_seq: null,
      last_seq: null,
      tree_size: before.tree_size,
      root: before.root,
      prev_manifest_hash: manifestHash(before),
    });
    expect(verifyManifestSignature(heartbeat.manifest, currentEnrolmentKey(store)!.publicKeyPem)).toBe(true);
  });

  it('refuses to seal an event that does not match its hash, and seals nothing', () => {
    const { store, audit, seal } = freshStore();
    writeEvents(audit, 3);
    store.writer.prepare("UPDATE audit_events SET record = replace(record, 'user1@', 'mallory@') WHERE seq = 3").run();
    expect(() => sealPending(store, seal)).toThrow(/Audit event 3 does not match its hash/);
    expect(lastBatch(store.reader)).toBeNull();
  });

  it('a damaged unsealed tail is moved to quarantine at start and reported; sealing goes on from the last good event', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const first = await createHeadlessCore({ dataDir: dir.path, log: () => undefined });
    await call(first, 'auth.createFirstAccount', { username: 'dr.grey', displayName: 'Dr Grey', password: 'correct horse battery' });
    const sealedThrough = first.store.transaction((db) => sealNextBatch(db, { maxEvents: 1000, institution: 'x', hostId: 'h', hostName: 'n', now: Date.now }))!.manifest.tree_size;
    await call(first, 'auth.signOut', {});
    const head = (first.store.writer.prepare('SELECT max(seq) AS s FROM audit_events').get() as { s: number }).s;
    // close() seals what is left, so damage the tail by reopening the store ourselves after writing more.
    await first.close();
    const store = openStore({ path: `${dir.path}/enclave.db`, key: Buffer.from((await import('node:fs')).readFileSync(first.keyFile, 'utf8').trim(), 'hex') });
    const sealedNow = lastBatch(store.reader)!.manifest.tree_size;
    expect(sealedNow).toBeGreaterThanOrEqual(head);
    const audit = new AuditLog({ store, hostId: 'h', hostName: 'n', serviceVersion: 't', now: Date.now });
    writeEvents(audit, 4);
    const firstUnsealed = sealedNow + 1;
    store.writer.prepare('UPDATE audit_events SET record = replace(record, \'"success"\', \'"failure"\') WHERE seq = ?').run(firstUnsealed + 1);
    store.close();

    const again = await createHeadlessCore({ dataDir: dir.path, log: () => undefined });
    cleanups.push(() => again.close());
    const quarantined = again.store.writer.prepare('SELECT seq, problem FROM audit_quarantine ORDER BY seq').all() as { seq: number; problem: string }[];
    expect(quarantined.map((q) => q.seq)).toEqual([firstUnsealed + 1, firstUnsealed + 2, firstUnsealed + 3]);
    expect(quarantined[0]!.problem).toBe('modified');
    const report = again.store.writer.prepare("SELECT record FROM audit_events WHERE action = 'audit.corruption_detected'").get() as { record: string };
    expect(JSON.parse(report.record).enclave.detail).toMatchObject({ first_bad_sequence: firstUnsealed + 1, quarantined_events: 3 });
    expect(verifyAuditChain(again.store.reader).ok).toBe(true);
    expect(sealPending(again.store, { maxEvents: 1000, institution: 'x', hostId: 'h', hostName: 'n', now: Date.now }).length).toBeGreaterThan(0);
    expect(sealedThrough).toBeGreaterThan(0);
  });

  it('the disk filling up stops sealing, loses nothing, and sealing resumes where it stopped', () => {
    const { store, audit, seal } = freshStore();
    writeEvents(audit, 400);
    // SQLite answers SQLITE_FULL once the page cap is reached, exactly as on a full disk: fill the last free pages.
    const pages = store.writer.pragma('page_count', { simple: true }) as number;
    store.writer.pragma(`max_page_count = ${pages}`);
    const fill = store.writer.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
    for (let i = 0; ; i++) {
      try {
        fill.run(`filler.${i}`, 'x'.repeat(200));
      } catch {
        break;
      }
    }
    // One event per batch: hundreds of manifests need pages the disk no longer has.
    expect(() => sealPending(store, { ...seal, maxEvents: 1 })).toThrow(/disk is full.*kept and sealed once there is space/);
    const stoppedAt = lastBatch(store.reader)?.manifest.tree_size ?? 0;
    expect(stoppedAt).toBeLessThan(401);
    store.writer.prepare("DELETE FROM meta WHERE key LIKE 'filler.%'").run();
    store.writer.pragma('max_page_count = 1073741823');
    const rest = sealPending(store, { ...seal, maxEvents: 1000 });
    expect(rest[0]!.manifest.first_seq).toBe(stoppedAt + 1);
    expect(lastBatch(store.reader)!.manifest.tree_size).toBe(401);
    expect(lastBatch(store.reader)!.manifest.root).toBe(rootOf(leaves(store, 401)).toString('hex'));
  });
});

describe('key rotation', () => {
  it('seals everything waiting with the old key, names the new key in an event the old key signs, and starts a new signature chain', () => {
    const { store, audit, seal } = freshStore();
    writeEvents(audit, 3);
    const { previous, current } = rotateEnrolmentKey(store, audit, seal, { name: 'it.admin', authMethod: 'os-account' });
    expect(current.keyId).not.toBe(previous.keyId);
    const before = manifests(store);
    const rotationBatch = before.at(-1)!;
    expect(rotationBatch.key_id).toBe(previous.keyId);
    expect(verifyManifestSignature(rotationBatch, previous.publicKeyPem)).toBe(true);
    const rotateEvent = JSON.parse((store.writer.prepare('SELECT record FROM audit_events WHERE seq = ?').get(rotationBatch.last_seq) as { record: string }).record);
    expect(rotateEvent.event.action).toBe('audit.key_rotate');
    expect(rotateEvent.enclave.detail).toMatchObject({ old_key_id: previous.keyId, new_key_id: current.keyId });

    writeEvents(audit, 2);
    const [next] = sealPending(store, seal);
    expect(next!.manifest).toMatchObject({ key_id: current.keyId, prev_manifest_hash: null, prev_signature: null, start: { reason: 'key_rotation', previous_key_id: previous.keyId } });
    expect(verifyManifestSignature(next!.manifest, current.publicKeyPem)).toBe(true);
    expect(verifyManifestSignature(next!.manifest, previous.publicKeyPem)).toBe(false);
    // The Merkle tree carries on across the rotation.
    expect(next!.manifest.root).toBe(rootOf(leaves(store, next!.manifest.tree_size)).toString('hex'));
  });
});

/** A scripted Transport: records what it was handed; fails while `down` says so. */
class ScriptedTransport implements Transport {
  readonly received: OutgoingBatch[] = [];
  attempts = 0;
  down: (attempt: number) => DeliveryError | null = () => null;
  async send(batch: OutgoingBatch): Promise<void> {
    this.attempts += 1;
    const failure = this.down(this.attempts);
    if (failure) throw failure;
    this.received.push(batch);
  }
  async close(): Promise<void> {}
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (l) => (out += `${l}\n`), err: (l) => (err += `${l}\n`) });
  return { code, out, err };
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function outboxFor(store: Store, audit: AuditLog, destinations: SiemDestination[], transports: Map<string, ScriptedTransport>, retentionDays = 0) {
  const outbox = new SiemOutbox({
    store,
    batches: sealedBatchSource(store, audit),
    audit,
    destinations: () => destinations,
    localRetentionDays: () => retentionDays,
    createTransport: (d) => transports.get(d.id)!,
    now: Date.now,
    onChange: () => undefined,
    log: () => undefined,
    backoff: { initialMs: 5, maxMs: 20 },
  });
  cleanups.push(() => outbox.stop());
  return outbox;
}

const hec: SiemDestination = { id: 'splunk', type: 'splunk-hec', url: 'https://splunk.example.org:8088', token: 't', indexerAcknowledgement: true };
const syslog: SiemDestination = { id: 'qradar', type: 'syslog-tls', address: 'qradar.example.org:6514', format: 'leef' };

describe('the outbox', () => {
  it('a destination that is down does not hold up the other; both end with every batch, in order, the failing one by whole-batch resend', async () => {
    const { store, audit, seal } = freshStore();
    writeEvents(audit, 29);
    sealPending(store, seal);
    const up = new ScriptedTransport();
    const flaky = new ScriptedTransport();
    flaky.down = (attempt) => (attempt <= 4 ? new DeliveryError('host_unreachable', 'no route to qradar.example.org') : null);
    const outbox = outboxFor(
      store,
      audit,
      [hec, syslog],
      new Map([
        ['splunk', up],
        ['qradar', flaky],
      ]),
    );
    await outbox.reconcile();
    await until(() => up.received.length >= 3, 'the healthy destination');
    expect(up.received.map((b) => b.batchSeq)).toEqual([1, 2, 3]);
    await until(() => flaky.received.length >= 3, 'the flaky destination to catch up');
    // Later batches include the audit of the flaky destination going down and coming back.
    expect(flaky.received.map((b) => b.batchSeq).slice(0, 3)).toEqual([1, 2, 3]);
    expect(flaky.attempts).toBeGreaterThanOrEqual(7);
    const events = up.received.flatMap((b) => b.events.map((e) => e.seq));
    expect(events).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const transitions = (store.writer.prepare("SELECT record FROM audit_events WHERE action = 'sync.destination'").all() as { record: string }[]).map((r) => JSON.parse(r.record));
    expect(transitions.map((t) => [t.event.outcome, t.enclave.detail.destination, t.event.reason ?? null])).toEqual([
      ['failure', 'qradar', 'host_unreachable'],
      ['success', 'qradar', null],
    ]);
    const status = outbox.status().destinations.find((d) => d.id === 'qradar')!;
    expect(status).toMatchObject({ state: expect.stringMatching(/online|idle/), lastFailure: null, queuedBatches: 0 });
  });

  it('shows the plain reason while a destination is failing, and keeps the cursor across a restart', async () => {
    const { store, audit, seal } = freshStore();
    writeEvents(audit, 19);
    sealPending(store, seal);
    const refusing = new ScriptedTransport();
    refusing.down = (attempt) => (attempt === 1 ? null : new DeliveryError('token_refused', 'Splunk refused the HEC token (invalid token).'));
    const first = outboxFor(store, audit, [hec], new Map([['splunk', refusing]]));
    await first.reconcile();
    // Retries run in the background: check between two attempts (offline), not during one.
    await until(() => first.status().destinations[0]!.state === 'offline' && first.status().destinations[0]!.lastFailure !== null, 'the failure to show');
    expect(first.status().destinations[0]).toMatchObject({ state: 'offline', queuedBatches: 1, lastFailure: { code: 'token_refused', message: 'Splunk refused the HEC token (invalid token).' } });
    await first.stop();

    const fixed = new ScriptedTransport();
    const second = outboxFor(store, audit, [hec], new Map([['splunk', fixed]]));
    await second.reconcile();
    await until(() => fixed.received.length >= 1, 'the resend');
    // Batch 1 was confirmed before the restart; only batch 2 (and the audit of the outage) is sent again.
    expect(fixed.received[0]!.batchSeq).toBe(2);
  });

  it('a batch holding a break-glass sign-in is sent before the backlog', async () => {
    const { store, audit, seal } = freshStore();
    writeEvents(audit, 39);
    sealPending(store, seal);
    writeEvents(audit, 1, 'auth.breakglass');
    const [urgent] = sealPending(store, seal);
    expect(urgent!.priority).toBe(true);
    const transport = new ScriptedTransport();
    const outbox = outboxFor(store, audit, [hec], new Map([['splunk', transport]]));
    await outbox.reconcile();
    await until(() => transport.received.length >= 5, 'the backlog');
    expect(transport.received.map((b) => b.batchSeq).slice(0, 5)).toEqual([urgent!.batchSeq, 1, 2, 3, 4]);
    expect(outbox.status().destinations[0]!.queuedBatches).toBe(0);
  });

  it('a transport that confirms several batches at once (syslog) gets the backlog in bounded groups, in order; a break-glass batch still goes first, alone', async () => {
    const { store, audit, seal } = freshStore();
    writeEvents(audit, 69);
    sealPending(store, seal); // 7 batches of 10
    writeEvents(audit, 1, 'auth.breakglass');
    const [urgent] = sealPending(store, seal);
    const groups: number[][] = [];
    const transport = new ScriptedTransport();
    const grouping: Transport = {
      send: (batch) => transport.send(batch),
      sendBatches: async (batches) => {
        groups.push(batches.map((b) => b.batchSeq));
      },
      close: async () => undefined,
    };
    const outbox = new SiemOutbox({
      store,
      batches: sealedBatchSource(store, audit),
      audit,
      destinations: () => [syslog],
      localRetentionDays: () => 30,
      createTransport: () => grouping,
      now: Date.now,
      onChange: () => undefined,
      log: () => undefined,
    });
    cleanups.push(() => outbox.stop());
    await outbox.reconcile();
    await until(() => outbox.status().destinations[0]?.queuedBatches === 0, 'the backlog');
    expect(transport.received.map((b) => b.batchSeq)).toEqual([urgent!.batchSeq]);
    expect(groups).toEqual([[1, 2, 3, 4, 5, 6, 7]]);
  });

  it('prunes local events only after every destination confirmed them and retention passed; the chain still verifies', async () => {
    const { store, audit, seal } = freshStore();
    writeEvents(audit, 29);
    sealPending(store, seal);
    const up = new ScriptedTransport();
    const down = new ScriptedTransport();
    down.down = () => new DeliveryError('host_unreachable', 'unreachable');
    const outbox = outboxFor(
      store,
      audit,
      [hec, syslog],
      new Map([
        ['splunk', up],
        ['qradar', down],
      ]),
    );
    await outbox.reconcile();
    await until(() => up.received.length >= 3, 'delivery');
    expect(outbox.pruneDelivered()).toBeNull();
    expect((store.writer.prepare('SELECT count(*) AS n FROM audit_events').get() as { n: number }).n).toBeGreaterThanOrEqual(30);

    down.down = () => null;
    await until(() => down.received.length >= 3, 'the second destination');
    const pruned = outbox.pruneDelivered();
    // The newest sealed batch stays as the anchor; batches 1 and 2 went.
    expect(pruned).toEqual({ events: 20, throughSeq: 20 });
    expect((store.writer.prepare('SELECT min(seq) AS s FROM audit_events').get() as { s: number }).s).toBe(21);
    expect(verifyAuditChain(store.reader)).toMatchObject({ ok: true });
    const event = JSON.parse((store.writer.prepare("SELECT record FROM audit_events WHERE action = 'audit.prune'").get() as { record: string }).record);
    expect(event.enclave.detail).toMatchObject({ through_sequence: 20, events: 20 });
    // Sealing carries on after pruning.
    writeEvents(audit, 2);
    expect(sealPending(store, seal).length).toBeGreaterThan(0);
  });

  it('with no destination (an air-gapped unit) nothing is ever pruned', async () => {
    const { store, audit, seal } = freshStore();
    writeEvents(audit, 15);
    sealPending(store, seal);
    const outbox = outboxFor(store, audit, [], new Map());
    await outbox.reconcile();
    expect(outbox.pruneDelivered()).toBeNull();
    expect((store.writer.prepare('SELECT count(*) AS n FROM audit_events').get() as { n: number }).n).toBe(16);
  });
});

describe('in the core', () => {
  function policyWith(overrides: (p: Policy) => void) {
    const input = structuredClone(evaluationPolicy);
    overrides(input);
    return policyFromDocument(input, 'test policy');
  }

  it('seals at batchMaxEvents, delivers to the destination, and reports it in siem.status', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const transport = new ScriptedTransport();
    const policy = policyWith((p) => {
      p.audit.batchMaxEvents = 5;
      p.siem.destinations = [hec];
    });
    const core = await createHeadlessCore({ dataDir: dir.path, policy, log: () => undefined, createSiemTransport: () => transport });
    cleanups.push(() => core.close());
    await call(core, 'auth.createFirstAccount', { username: 'dr.grey', displayName: 'Dr Grey', password: 'correct horse battery' });
    await call(core, 'auth.lock', { reason: 'user' });
    await call(core, 'auth.unlock', { password: 'correct horse battery' });
    await until(() => transport.received.length >= 1, 'the first batch');
    const status = await call(core, 'siem.status', {});
    expect(status.destinations).toEqual([expect.objectContaining({ id: 'splunk', type: 'splunk-hec', target: 'https://splunk.example.org:8088/' })]);
    expect(status.lastBatchSeq).toBeGreaterThanOrEqual(1);
    expect(transport.received[0]!.events.map((e) => e.record.event.sequence)).toEqual([1, 2, 3, 4, 5]);
  });

  it('the compliance screen: search and export are audited, and the export verifies elsewhere with the workstation key', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const core = await createHeadlessCore({ dataDir: dir.path, log: () => undefined, exportDir: join(dir.path, 'out') });
    cleanups.push(() => core.close());
    await call(core, 'auth.createFirstAccount', { username: 'dr.grey', displayName: 'Dr Grey', password: 'correct horse battery' });
    await call(core, 'auth.lock', { reason: 'user' });
    await call(core, 'auth.unlock', { password: 'correct horse battery' });
    const found = await call(core, 'audit.search', { action: 'auth.unlock', user: 'DR.GREY', limit: 10 });
    expect(found.total).toBe(1);
    expect(found.events[0]).toMatchObject({ action: 'auth.unlock', user: 'dr.grey', batchSeq: null });
    const searched = JSON.parse((core.store.writer.prepare("SELECT record FROM audit_events WHERE action = 'audit.search'").get() as { record: string }).record);
    expect(searched.user.name).toBe('dr.grey');
    expect(searched.enclave.detail).toMatchObject({ filter_action: 'auth.unlock', filter_user: 'DR.GREY', matches: 1 });

    const exported = await call(core, 'audit.export', { user: 'dr.grey' });
    expect(exported.directory.startsWith(join(dir.path, 'out'))).toBe(true);
    expect(exported.selectedEvents).toBeGreaterThanOrEqual(4);
    const keyId = currentEnrolmentKey(core.store)!.keyId;
    expect(exported.keyIds).toEqual([keyId]);
    const verified = await cli(['audit', 'verify', '--bundle', exported.directory, '--key-id', keyId]);
    expect(verified.code, verified.out + verified.err).toBe(0);
    const exportEvent = JSON.parse((core.store.writer.prepare("SELECT record FROM audit_events WHERE action = 'audit.export'").get() as { record: string }).record);
    expect(exportEvent.enclave.detail).toMatchObject({ filter_user: 'dr.grey', selected_events: exported.selectedEvents });
    // The search is now itself a matching event.
    expect((await call(core, 'audit.search', { action: 'audit.search', limit: 10 })).total).toBe(1);

    // A range that ends before it starts is refused before anything is searched, exported or audited.
    const searchesBefore = (await call(core, 'audit.search', { action: 'audit.search', limit: 1 })).total;
    for (const method of ['audit.search', 'audit.export'] as const) {
      const refused = await callError(core, method, { from: Date.parse('2026-11-02T00:00:00Z'), to: Date.parse('2026-11-01T00:00:00Z') });
      expect(refused).toMatchObject({ code: 'invalid_input', message: expect.stringContaining('The start of the range is after its end.') });
    }
    expect((await call(core, 'audit.search', { action: 'audit.search', limit: 1 })).total).toBe(searchesBefore + 1);
  });
});

describe('enclave enroll rotate', () => {
  it('rotates the key: the old key signs the batch that names the new one, enroll show prints the new key, and a bundle spanning it verifies with the old key id', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const core = await createHeadlessCore({ dataDir: dir.path, log: () => undefined });
    await call(core, 'auth.createFirstAccount', { username: 'dr.grey', displayName: 'Dr Grey', password: 'correct horse battery' });
    const oldKey = currentEnrolmentKey(core.store)!.keyId;
    await core.close();

    const rotated = await cli(['enroll', 'rotate', '--data-dir', dir.path, '--json']);
    expect(rotated.code, rotated.err).toBe(0);
    const result = JSON.parse(rotated.out) as { previousKeyId: string; keyId: string; rotationBatch: number };
    expect(result.previousKeyId).toBe(oldKey);
    expect(result.keyId).not.toBe(oldKey);
    const shown = await cli(['enroll', 'show', '--data-dir', dir.path, '--json']);
    expect(JSON.parse(shown.out).keyId).toBe(result.keyId);

    const again = await createHeadlessCore({ dataDir: dir.path, log: () => undefined, exportDir: join(dir.path, 'out') });
    cleanups.push(() => again.close());
    await call(again, 'auth.signIn', { username: 'dr.grey', password: 'correct horse battery' });
    const exported = await call(again, 'audit.export', {});
    expect(exported.keyIds.sort()).toEqual([oldKey, result.keyId].sort());
    expect((await cli(['audit', 'verify', '--bundle', exported.directory, '--key-id', oldKey])).code).toBe(0);
    const stranger = await cli(['audit', 'verify', '--bundle', exported.directory, '--key-id', 'ab'.repeat(32)]);
    expect(stranger.code).toBe(1);
    expect(stranger.out + stranger.err).toMatch(/key/i);
  });

  it('wipes the retired private key at rotation (the public key stays, and every batch it signed still verifies); one an older release kept is wiped at the next start', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const core = await createHeadlessCore({ dataDir: dir.path, log: () => undefined });
    await call(core, 'auth.createFirstAccount', { username: 'dr.grey', displayName: 'Dr Grey', password: 'correct horse battery' });
    const oldKey = currentEnrolmentKey(core.store)!.keyId;
    const oldPrivate = (core.store.writer.prepare('SELECT private_key FROM audit_signing_keys WHERE key_id = ?').get(oldKey) as { private_key: Buffer }).private_key;
    expect(oldPrivate.length).toBeGreaterThan(0);
    await core.close();

    const rotated = await cli(['enroll', 'rotate', '--data-dir', dir.path, '--json']);
    expect(rotated.code, rotated.err).toBe(0);
    const { keyId: newKey } = JSON.parse(rotated.out) as { keyId: string };
    const keyRows = (): { key_id: string; private_key: Buffer; public_key: Buffer }[] => {
      const store = openStore({ path: join(dir.path, 'enclave.db'), key: readKeyFile(join(dir.path, 'database.key')), readonly: true });
      try {
        return store.writer.prepare('SELECT key_id, private_key, public_key FROM audit_signing_keys').all() as { key_id: string; private_key: Buffer; public_key: Buffer }[];
      } finally {
        store.close();
      }
    };
    const afterRotation = keyRows();
    expect(afterRotation.find((r) => r.key_id === oldKey)!.private_key.length).toBe(0);
    expect(afterRotation.find((r) => r.key_id === oldKey)!.public_key.length).toBeGreaterThan(0);
    expect(afterRotation.find((r) => r.key_id === newKey)!.private_key.length).toBeGreaterThan(0);
    // The database has no trace of the old private key's bytes in any column.
    expect(afterRotation.some((r) => r.private_key.includes(oldPrivate) || r.public_key.includes(oldPrivate))).toBe(false);
    // Every batch, those the retired key signed included, still verifies.
    const verified = await cli(['audit', 'verify', '--db', join(dir.path, 'enclave.db'), '--key-file', join(dir.path, 'database.key'), '--json']);
    expect(verified.code, verified.out).toBe(0);

    // A database from a release that kept retired private keys: wiped at the next start.
    const raw = openStore({ path: join(dir.path, 'enclave.db'), key: readKeyFile(join(dir.path, 'database.key')) });
    raw.writer.prepare('UPDATE audit_signing_keys SET private_key = ? WHERE key_id = ?').run(oldPrivate, oldKey);
    raw.close();
    const again = await createHeadlessCore({ dataDir: dir.path, log: () => undefined, exportDir: join(dir.path, 'out') });
    expect((again.store.writer.prepare('SELECT length(private_key) AS n FROM audit_signing_keys WHERE key_id = ?').get(oldKey) as { n: number }).n).toBe(0);
    await call(again, 'auth.signIn', { username: 'dr.grey', password: 'correct horse battery' });
    const exported = await call(again, 'audit.export', {});
    await again.close();
    expect((await cli(['audit', 'verify', '--bundle', exported.directory, '--key-id', oldKey])).code).toBe(0);
  });

  it('refuses a folder that holds no Enclave database, with exit 2', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const result = await cli(['enroll', 'rotate', '--data-dir', dir.path, '--key-file', join(dir.path, 'nope.key')]);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/enclave: /);
  });
});
