// The audit service's front door as its callers use it: the batch source the
// SIEM outbox reads through (a batch whole or not at all, pruning only what
// was confirmed and is past retention, audited), and an export whose first
// seal fails (a damaged waiting event): typed for the CLI, nothing written.
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EnclaveError } from '../../src/shared/errors.js';
import { AuditService, SealBeforeExportError } from '../../src/main/audit/index.js';
import { runCli } from '../../src/main/cli/index.js';
import { createHeadlessCore } from '../../src/main/core/headless.js';
import { readKeyFile } from '../../src/main/keys/index.js';
import { openStore, type Store } from '../../src/main/store/index.js';
import { AuditRecordSchema, canonicalJson } from '../support/audit-internals.js';
import { cleanupsAfterEach, tempDir } from '../support/temp.js';

const cleanups = cleanupsAfterEach();
const DAY_MS = 86_400_000;

function freshService(batchMaxEvents = 3): { store: Store; service: AuditService; clock: { now: number } } {
  const dir = tempDir();
  cleanups.push(dir.remove);
  const store = openStore({ path: join(dir.path, 'enclave.db'), key: randomBytes(32) });
  cleanups.push(() => store.close());
  const clock = { now: Date.parse('2026-11-23T08:00:00.000Z') };
  const service = new AuditService({
    store,
    hostId: 'host-1',
    hostName: 'ward7-ws12',
    serviceVersion: 'test',
    now: () => (clock.now += 1000),
    sealing: { schedule: () => ({ batchMaxEvents, batchMaxSeconds: 60, heartbeatSeconds: 3600 }), institution: () => 'St Elsewhere' },
    exportDir: join(dir.path, 'exports'),
  });
  service.enrol();
  return { store, service, clock };
}

function writeEvents(service: AuditService, count: number): void {
  for (let i = 0; i < count; i++) service.log.record({ action: 'auth.login', outcome: 'success', user: { name: `user${i}@example.org` } });
}

function auditedPrunes(store: Store): { through_sequence: number; events: number; retention_days: number }[] {
  return (store.writer.prepare("SELECT record FROM audit_events WHERE action = 'audit.prune' ORDER BY seq").all() as { record: string }[]).map(
    (r) => AuditRecordSchema.parse(JSON.parse(r.record)).enclave.detail as { through_sequence: number; events: number; retention_days: number },
  );
}

describe('the batch source the outbox reads through', () => {
  it('hands a sealed batch whole, its events in order exactly as hashed, and nothing for a batch not sealed or missing an event', () => {
    const { store, service } = freshService();
    writeEvents(service, 4); // plus audit.enroll: 5 events, batches of 3 and 2
    expect(service.seal().map((b) => b.manifest.event_count)).toEqual([3, 2]);
    const source = service.sealedBatches;

    const second = source.read(2)!;
    expect(second.batchSeq).toBe(2);
    expect(second.manifest.first_seq).toBe(4);
    expect(second.events.map((e) => e.seq)).toEqual([4, 5]);
    for (const event of second.events) {
      expect(event.record.event.sequence).toBe(event.seq);
      expect(event.text).toBe(canonicalJson(event.record));
    }
    expect(source.read(3)).toBeNull();
    expect(source.sealing()).toMatchObject({ pendingEvents: 0, lastBatchSeq: 2 });

    // A damaged store: an event under the first batch is gone. The batch is not handed out short.
    store.writer.prepare('DELETE FROM audit_events WHERE seq = 2').run();
    expect(source.read(1)).toBeNull();
    expect(source.read(2)).not.toBeNull();
  });

  it('prunes only batches every destination confirmed and whose retention passed, audits it, and the chain still verifies', () => {
    const { store, service, clock } = freshService();
    writeEvents(service, 11); // 12 events: four batches of 3
    expect(service.seal()).toHaveLength(4);
    const source = service.sealedBatches;
    const sealedAt = clock.now;

    // Nothing confirmed: nothing goes, nothing is audited.
    expect(source.pruneDelivered(0, sealedAt + 30 * DAY_MS, 30)).toBeNull();
    // Confirmed, but sealed after the retention cut-off: kept.
    expect(source.pruneDelivered(3, sealedAt - 60 * DAY_MS, 30)).toBeNull();
    expect(auditedPrunes(store)).toEqual([]);

    // Batches 1 and 2 confirmed and old enough: their 6 events go, audited in the same transaction.
    expect(source.pruneDelivered(2, sealedAt + 30 * DAY_MS, 30)).toEqual({ events: 6, throughSeq: 6 });
    expect(auditedPrunes(store)).toEqual([{ through_sequence: 6, events: 6, retention_days: 30 }]);
    expect((store.writer.prepare('SELECT min(seq) AS s FROM audit_events').get() as { s: number }).s).toBe(7);
    // The same again finds nothing more to do.
    expect(source.pruneDelivered(2, sealedAt + 30 * DAY_MS, 30)).toBeNull();
    // The newest batch with events always keeps its events (the anchor for sealing and the start-up check).
    expect(source.pruneDelivered(4, sealedAt + 30 * DAY_MS, 30)).toEqual({ events: 3, throughSeq: 9 });
    expect(source.read(4)!.events).toHaveLength(3);

    expect(source.sealing()).toMatchObject({ pendingEvents: 2, lastBatchSeq: 4 });
    expect(service.checkChain()).toMatchObject({ ok: true });
  });
});

describe('an export whose first seal fails', () => {
  it("throws SealBeforeExportError (the seal error's code and message) and writes nothing", () => {
    const { store, service } = freshService();
    writeEvents(service, 2);
    store.writer.prepare("UPDATE audit_events SET record = '{}' WHERE seq = 3").run();
    const error = (() => {
      try {
        service.export({ filter: {}, actor: { name: 'officer' }, exportedBy: 'officer' });
      } catch (caught) {
        return caught;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(SealBeforeExportError);
    expect(error).toBeInstanceOf(EnclaveError);
    expect((error as EnclaveError).code).toBe('audit_corrupt');
    expect((error as EnclaveError).message).toBe('Audit event 3 is damaged, so it cannot be sealed.');
    expect(store.writer.prepare("SELECT 1 FROM audit_events WHERE action = 'audit.export'").get()).toBeUndefined();
  });

  it('enclave audit export says so, names what to run next, exits 1 and leaves the folder empty', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const core = await createHeadlessCore({ dataDir: dir.path, log: () => undefined });
    await core.close();
    // A waiting event, then damaged on disk.
    const store = openStore({ path: join(dir.path, 'enclave.db'), key: readKeyFile(core.keyFile) });
    const service = new AuditService({ store, hostId: store.getMeta('host.id')!, hostName: 'ward7-ws12', serviceVersion: 'test', now: Date.now });
    const event = service.log.record({ action: 'auth.login', outcome: 'success', user: { name: 'someone@example.org' } });
    store.writer.prepare("UPDATE audit_events SET record = '{}' WHERE seq = ?").run(event.event.sequence);
    store.close();

    const out = join(dir.path, 'bundle');
    let stdout = '';
    let stderr = '';
    const code = await runCli(['audit', 'export', '--data-dir', dir.path, '--out', out], { out: (l) => (stdout += `${l}\n`), err: (l) => (stderr += `${l}\n`) });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(`enclave: Audit event ${event.event.sequence} is damaged, so it cannot be sealed. Nothing was exported; run enclave audit verify --db on this database.\n`);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });
});
