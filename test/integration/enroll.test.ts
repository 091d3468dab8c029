// Enrolment: the workstation's Ed25519 audit signing key, made once and shown
// to IT by `enclave enroll show` for registration with the SIEM side.
import { createHash, createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { lastBatch, verifyManifestSignature } from '../support/audit-internals.js';
import { runCli } from '../../src/main/cli/index.js';
import { createHeadlessCore } from '../../src/main/core/headless.js';
import { cleanupsAfterEach, tempDir } from '../support/temp.js';

const cleanups = cleanupsAfterEach();

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (l) => (out += `${l}\n`), err: (l) => (err += `${l}\n`) });
  return { code, out, err };
}

describe('enrolment', () => {
  it('makes one Ed25519 key on the first start, audits it, and keeps it across restarts', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const first = await createHeadlessCore({ dataDir: dir.path, log: () => undefined });
    const events = () =>
      (first.store.writer.prepare("SELECT record FROM audit_events WHERE action = 'audit.enroll'").all() as { record: string }[]).map(
        (r) => JSON.parse(r.record) as { enclave: { detail: { key_id: string } } },
      );
    expect(events()).toHaveLength(1);
    const keyId = events()[0]!.enclave.detail.key_id;
    await first.close();

    const again = await createHeadlessCore({ dataDir: dir.path, log: () => undefined });
    cleanups.push(() => again.close());
    expect((again.store.writer.prepare("SELECT count(*) AS n FROM audit_events WHERE action = 'audit.enroll'").get() as { n: number }).n).toBe(1);
    expect((again.store.writer.prepare('SELECT key_id FROM audit_signing_keys').all() as { key_id: string }[]).map((r) => r.key_id)).toEqual([keyId]);
    // Only one key may be current.
    expect(() => again.store.writer.prepare("INSERT INTO audit_signing_keys (key_id, algorithm, public_key, private_key, created_at) VALUES ('x', 'Ed25519', x'00', x'00', 1)").run()).toThrow(
      /UNIQUE constraint failed/,
    );
  });

  it('enroll show prints the key id (SHA-256 of the public key) and the public key, never the private key; the first signed batch verifies with it', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const core = await createHeadlessCore({ dataDir: dir.path, log: () => undefined });
    const hostId = core.store.getMeta('host.id');
    // Closing seals what is waiting: the first signed batch.
    await core.close();
    const { openStore } = await import('../../src/main/store/index.js');
    const { readKeyFile } = await import('../../src/main/keys/index.js');
    const store = openStore({ path: `${dir.path}/enclave.db`, key: readKeyFile(core.keyFile), readonly: true });
    const manifest = lastBatch(store.reader)!.manifest;
    store.close();
    const keyId = manifest.key_id;

    const shown = await cli(['enroll', 'show', '--data-dir', dir.path, '--json']);
    expect(shown.code).toBe(0);
    const enrolment = JSON.parse(shown.out) as { hostId: string; keyId: string; algorithm: string; publicKeyPem: string };
    expect(enrolment).toMatchObject({ hostId, keyId, algorithm: 'Ed25519' });
    expect(
      createHash('sha256')
        .update(createPublicKey(enrolment.publicKeyPem).export({ type: 'spki', format: 'der' }))
        .digest('hex'),
    ).toBe(keyId);
    expect(shown.out).not.toMatch(/PRIVATE/);
    // IT can check a batch with nothing but what enroll show printed.
    expect(verifyManifestSignature(manifest, enrolment.publicKeyPem)).toBe(true);
    expect(verifyManifestSignature({ ...manifest, batch_seq: manifest.batch_seq + 1 }, enrolment.publicKeyPem)).toBe(false);

    const text = await cli(['enroll', 'show', '--data-dir', dir.path]);
    expect(text.out).toContain(`Key id:     ${keyId}`);
    expect(text.out).toContain('-----BEGIN PUBLIC KEY-----');
  });

  it('says what is missing: no data folder argument (exit 2), a folder without a database (exit 2)', async () => {
    expect((await cli(['enroll', 'show'])).code).toBe(2);
    const dir = tempDir();
    cleanups.push(dir.remove);
    const missing = await cli(['enroll', 'show', '--data-dir', dir.path]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/enclave: /);
  });
});
