// The database must be a genuine SQLCipher 4 file: stock SQLCipher opens it
// with the key, nothing opens it without, and no prompt text is in the bytes.
import sqlcipher from '@journeyapps/sqlcipher';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHeadlessCore } from '../../src/main/core/headless.js';
import { DATABASE_FILE } from '../../src/main/core/index.js';
import { call, EVAL_USER, nextEvent } from '../support/core.js';
import { tempDir } from '../support/temp.js';
import { testModelPath } from '../support/test-model.js';

const PROMPT = 'Patient Zebediah Quargleworth, MRN 4455-XYZ, reports chest pain radiating to the left arm';

let dir: ReturnType<typeof tempDir>;
let keyHex: string;

function query(path: string, key: string | null, sql: string): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const db = new sqlcipher.Database(path, sqlcipher.OPEN_READONLY, (openError) => {
      if (openError) return reject(openError);
      db.serialize(() => {
        db.run('PRAGMA cipher_compatibility = 4');
        if (key !== null) db.run(`PRAGMA key = "x'${key}'"`);
        db.all(sql, (error, rows) => {
          db.close();
          if (error) reject(error);
          else resolve(rows as Record<string, unknown>[]);
        });
      });
    });
  });
}

beforeAll(async () => {
  dir = tempDir();
  const core = await createHeadlessCore({ dataDir: dir.path });
  await call(core, 'auth.createFirstAccount', EVAL_USER);
  await call(core, 'model.addFile', { path: await testModelPath() });
  const session = await call(core, 'chat.create', {});
  const done = nextEvent(core, 'chat.done');
  await call(core, 'chat.send', { sessionId: session.id, text: PROMPT });
  expect((await done).status).toBe('complete');
  keyHex = readFileSync(core.keyFile, 'utf8').trim();
  await core.close();
});
afterAll(() => dir.remove());

describe('SQLCipher 4 interoperability', () => {
  it("stock SQLCipher opens the database with the key; the prompt in it is sealed with its owner's chat key", async () => {
    const rows = await query(join(dir.path, DATABASE_FILE), keyHex, "SELECT content FROM chat_messages WHERE role = 'user'");
    expect(rows).toHaveLength(1);
    expect(String(rows[0]!.content)).not.toContain('Quargleworth');
    const settings = await query(join(dir.path, DATABASE_FILE), keyHex, 'PRAGMA cipher_version');
    expect(String(Object.values(settings[0] ?? {})[0])).toMatch(/^4\./);
  });

  it('refuses to open without the key', async () => {
    await expect(query(join(dir.path, DATABASE_FILE), null, 'SELECT count(*) FROM chat_messages')).rejects.toThrow(/file is not a database/);
  });

  it('refuses to open with a wrong key', async () => {
    await expect(query(join(dir.path, DATABASE_FILE), 'ab'.repeat(32), 'SELECT count(*) FROM chat_messages')).rejects.toThrow(/file is not a database/);
  });

  it('no file Enclave wrote holds the prompt text or the patient identifiers', () => {
    const files = readdirSync(dir.path).filter((f) => f.startsWith(DATABASE_FILE));
    expect(files).toContain(DATABASE_FILE);
    for (const file of files) {
      const bytes = readFileSync(join(dir.path, file));
      for (const needle of ['Quargleworth', '4455-XYZ', 'chest pain']) {
        expect(bytes.includes(Buffer.from(needle, 'utf8')), `${needle} in ${file}`).toBe(false);
        expect(bytes.includes(Buffer.from(needle, 'utf16le')), `${needle} (UTF-16) in ${file}`).toBe(false);
      }
    }
  });

  it('the audit log holds a keyed hash of the prompt, never its text nor its plain SHA-256', async () => {
    const rows = await query(join(dir.path, DATABASE_FILE), keyHex, "SELECT record FROM audit_events WHERE action = 'ai.prompt'");
    expect(rows).toHaveLength(1);
    const record = String(rows[0]!.record);
    expect(record).not.toContain('Quargleworth');
    const { createHash, createHmac } = await import('node:crypto');
    expect(record).not.toContain(createHash('sha256').update(PROMPT).digest('hex'));
    // Keyed with the workstation's secret, which is in the same encrypted database (and nowhere else).
    const [secret] = await query(join(dir.path, DATABASE_FILE), keyHex, "SELECT value FROM meta WHERE key = 'audit.text_hmac_key'");
    expect(JSON.parse(record).ai.prompt.hmac_sha256).toBe(
      createHmac('sha256', Buffer.from(String(secret!.value), 'hex'))
        .update(PROMPT)
        .digest('hex'),
    );
  });
});
