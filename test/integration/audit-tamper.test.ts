// Someone with the database key edits the audit table behind Enclave's back:
// `enclave audit verify` must name the first bad event and what is wrong.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHeadlessCore } from '../../src/main/core/headless.js';
import { DATABASE_FILE, KEY_FILE } from '../../src/main/core/index.js';
import { runCli } from '../../src/main/cli/index.js';
import { readKeyFile } from '../../src/main/keys/index.js';
import { openStore, type Store } from '../../src/main/store/index.js';
import { call, callError, EVAL_USER } from '../support/core.js';
import { tempDir } from '../support/temp.js';

const run = promisify(execFile);

let dir: ReturnType<typeof tempDir>;
let db: string;
let keyFile: string;

async function verify(): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(['audit', 'verify', '--db', db, '--key-file', keyFile], { out: (l) => (out += l + '\n'), err: (l) => (err += l + '\n') });
  return { code, out, err };
}

function tamper(fn: (store: Store) => void): void {
  const store = openStore({ path: db, key: readKeyFile(keyFile) });
  try {
    fn(store);
  } finally {
    store.close();
  }
}

beforeEach(async () => {
  dir = tempDir();
  db = join(dir.path, DATABASE_FILE);
  keyFile = join(dir.path, KEY_FILE);
  const core = await createHeadlessCore({ dataDir: dir.path });
  await call(core, 'auth.createFirstAccount', EVAL_USER);
  await call(core, 'auth.lock', {});
  await callError(core, 'auth.unlock', { password: 'not the password' });
  await call(core, 'auth.unlock', { password: EVAL_USER.password });
  await call(core, 'auth.signOut', {});
  await core.close();
});
afterEach(() => dir.remove());

describe('enclave audit verify', () => {
  it('passes an untouched log and prints the head', async () => {
    const result = await verify();
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/audit intact: \d+ events checked, head \d+ [0-9a-f]{64}/);
  });

  it('runs as a real command (bin/enclave.mjs) with exit status 0', async () => {
    const { stdout } = await run(process.execPath, ['bin/enclave.mjs', 'audit', 'verify', '--db', db, '--key-file', keyFile]);
    expect(stdout).toContain('audit intact');
  });

  it('catches an edited event (a failed unlock turned into a success)', async () => {
    let seq = 0;
    tamper((s) => {
      const row = s.writer.prepare(`SELECT seq, record FROM audit_events WHERE action = 'auth.unlock' AND record LIKE '%"failure"%'`).get() as { seq: number; record: string };
      seq = row.seq;
      s.writer.prepare('UPDATE audit_events SET record = ? WHERE seq = ?').run(row.record.replace('"failure"', '"success"'), seq);
    });
    const result = await verify();
    expect(result.code).toBe(1);
    expect(result.out).toContain(`event ${seq} modified — the event does not match its hash`);
  });

  it('catches an edited row column (the indexed time) even when the record is untouched', async () => {
    tamper((s) => s.writer.prepare('UPDATE audit_events SET ts = ts + 1 WHERE seq = 3').run());
    const result = await verify();
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/event 3 modified/);
  });

  it('catches a deleted event', async () => {
    tamper((s) => s.writer.prepare('DELETE FROM audit_events WHERE seq = 3').run());
    const result = await verify();
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/event 3 missing/);
  });

  it('catches two events swapped', async () => {
    tamper((s) => {
      const a = s.writer.prepare('SELECT * FROM audit_events WHERE seq = 3').get() as Record<string, unknown>;
      const b = s.writer.prepare('SELECT * FROM audit_events WHERE seq = 4').get() as Record<string, unknown>;
      const put = s.writer.prepare('UPDATE audit_events SET id = ?, ts = ?, action = ?, record = ?, hash = ? WHERE seq = ?');
      s.transaction(() => {
        put.run(`tmp-${String(a.id)}`, a.ts, a.action, a.record, a.hash, 3);
        put.run(a.id, a.ts, a.action, a.record, a.hash, 4);
        put.run(b.id, b.ts, b.action, b.record, b.hash, 3);
      });
    });
    const result = await verify();
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/event 3 reordered — the event stored at 3 is event 4/);
  });

  it('catches the newest events cut off', async () => {
    const { n } = (() => {
      let n = 0;
      tamper((s) => {
        n = (s.writer.prepare('SELECT max(seq) AS n FROM audit_events').get() as { n: number }).n;
        s.writer.prepare('DELETE FROM audit_events WHERE seq >= ?').run(n - 1);
      });
      return { n };
    })();
    const result = await verify();
    expect(result.code).toBe(1);
    expect(result.out).toContain(`event ${n - 1} missing`);
  });

  it('catches a record cut short', async () => {
    tamper((s) => s.writer.prepare('UPDATE audit_events SET record = substr(record, 1, 40) WHERE seq = 2').run());
    const result = await verify();
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/event 2 malformed — the stored record is not valid JSON/);
  });

  it('refuses the wrong key with exit 2 and a clear message, changing nothing', async () => {
    const wrongKey = join(dir.path, 'wrong.key');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(wrongKey, '00'.repeat(32), { mode: 0o600 });
    let err = '';
    const code = await runCli(['audit', 'verify', '--db', db, '--key-file', wrongKey], { out: () => undefined, err: (l) => (err += l) });
    expect(code).toBe(2);
    expect(err).toContain('cannot be opened with this key');
    expect((await verify()).code).toBe(0);
  });

  it('names a database that is not there, exit 2, and creates nothing', async () => {
    const absent = join(dir.path, 'elsewhere', 'enclave.db');
    let err = '';
    const code = await runCli(['audit', 'verify', '--db', absent, '--key-file', keyFile], { out: () => undefined, err: (l) => (err += l) });
    expect(code).toBe(2);
    expect(err).toContain(`There is no database at ${absent}`);
    const { existsSync } = await import('node:fs');
    expect(existsSync(join(dir.path, 'elsewhere'))).toBe(false);
  });

  it('a core started on a tampered database records audit.corruption_detected', async () => {
    tamper((s) => s.writer.prepare('DELETE FROM audit_events WHERE seq = 2').run());
    const core = await createHeadlessCore({ dataDir: dir.path });
    const rows = core.store.writer.prepare("SELECT record FROM audit_events WHERE action = 'audit.corruption_detected'").all() as { record: string }[];
    await core.close();
    expect(rows).toHaveLength(1);
    expect(JSON.parse(rows[0]!.record).enclave.detail.first_bad_sequence).toBe(2);
  });
});
