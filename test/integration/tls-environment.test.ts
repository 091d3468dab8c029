// NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment of the `enclave` command
// or the headless core: certificates are still checked. The headless core
// deletes the variable (and proxies, NODE_OPTIONS, ...) from its own
// environment at start (core/child-environment.ts), so even a connection
// whose options forgot rejectUnauthorized is verified; every connection the
// app builds states it anyway (src/main/tls).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHeadlessCore } from '../../src/main/core/headless.js';
import { spawnCli } from '../support/cli-process.js';
import { withTlsVerificationOffInEnvironment } from '../support/insecure-tls-env.js';
import { tempDir } from '../support/temp.js';
import { makeTestPki, MutualTlsHttpsServer, type TestPki } from '../support/test-pki.js';

const dir = tempDir();
let pki: TestPki;
let server: MutualTlsHttpsServer;

beforeAll(async () => {
  pki = await makeTestPki(join(dir.path, 'pki'));
  server = new MutualTlsHttpsServer({ pki, requireClientCertificate: false }, (_req, res) => res.end('{}'));
  await server.start();
});
afterAll(async () => {
  await server.stop();
  dir.remove();
});

/** A plain tls.connect that states nothing about verification, as a forgotten call site would; resolves with its outcome. */
function connectWithoutSayingSo(ca: string): Promise<'accepted' | string> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port: server.port, ca: readFileSync(ca) });
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve('accepted');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe('NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment', () => {
  it('the headless core deletes it at start, so an untrusted certificate is refused even where options do not say so', async () => {
    const data = tempDir();
    try {
      await withTlsVerificationOffInEnvironment(async () => {
        // What the variable does to a connection that states nothing: any certificate is accepted.
        expect(await connectWithoutSayingSo(pki.wrongCaFile)).toBe('accepted');
        const core = await createHeadlessCore({ dataDir: data.path, log: () => undefined });
        try {
          expect(process.env['NODE_TLS_REJECT_UNAUTHORIZED']).toBeUndefined();
          expect(await connectWithoutSayingSo(pki.wrongCaFile)).not.toBe('accepted');
          expect(await connectWithoutSayingSo(pki.caFile)).toBe('accepted');
        } finally {
          await core.close();
        }
      });
    } finally {
      data.remove();
    }
  });

  it("`enclave doctor` run with it still fails an HTTPS destination whose certificate is not from the policy's CA", async () => {
    const policyFile = join(dir.path, 'policy.json');
    writeFileSync(
      policyFile,
      JSON.stringify({
        mode: 'evaluation',
        inference: { allowUserModels: true },
        siem: { destinations: [{ id: 'lake', type: 'https-json', url: `${server.origin}/ingest`, caFile: pki.wrongCaFile }] },
      }),
    );
    const result = await spawnCli(['doctor', '--policy', policyFile, '--json'], { env: { NODE_TLS_REJECT_UNAUTHORIZED: '0', HTTPS_PROXY: 'http://127.0.0.1:1' } });
    const report = JSON.parse(result.out) as { checks: { name: string; status: string; detail: string }[] };
    const lake = report.checks.find((c) => c.name.startsWith('siem lake'));
    expect(lake).toMatchObject({ status: 'fail', detail: expect.stringContaining('certificate not trusted') });
    expect(result.code).toBe(1);
    expect(server.running).toBe(true);
  });
});
