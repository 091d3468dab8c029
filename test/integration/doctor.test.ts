// `enclave doctor` against real things on loopback: TLS servers with
// certificates made here by the openssl CLI (a test CA, a wrong CA, server and
// client certificates), a minimal LDAP server that answers StartTLS, a real
// evaluation database with its key file, the generated test model, SoftHSM2 as
// the PKCS#11 module, and node-llama-cpp's real backend detection.
import { EC_P256_NEW_KEY, selfSignedCaArgs } from '../support/openssl-args.js';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/main/cli/index.js';
import { createHeadlessCore } from '../../src/main/core/headless.js';
import { createCore } from '../../src/main/core/index.js';
import { policyFromDocument } from '../../src/main/policy/index.js';
import { sha256File } from '../../src/main/inference/index.js';
import { KEY_FILE, readKeyFile } from '../../src/main/keys/index.js';
import { openStore } from '../../src/main/store/index.js';
import { signedCrl } from '../support/card-chain.js';
import { call, callError, EVAL_USER } from '../support/core.js';
import { tempDir } from '../support/temp.js';
import { testModelPath } from '../support/test-model.js';

const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const EVALUATION_POLICY = join(import.meta.dirname, '../../resources/policy/evaluation.json');

interface Check {
  name: string;
  status: 'ok' | 'warn' | 'fail' | 'skip';
  detail: string;
}

let dir: ReturnType<typeof tempDir>;
let pki: Record<string, string>;
let model: { path: string; sha256: string };
const servers: { close: () => void }[] = [];
let ports: { https: number; syslog: number; mismatch: number; ldap: number; closed: number; opensslSyslog: number; silent: number };
let policyCount = 0;

function sh(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/** A CA, a second CA nobody trusts, server certificates (right and wrong name) and client certificates (right and wrong CA). */
function makePki(root: string): Record<string, string> {
  const at = join(root, 'pki');
  mkdirSync(at);
  const ec = EC_P256_NEW_KEY;
  const ca = (name: string, cn: string): void => sh(selfSignedCaArgs(name, cn), at);
  const leaf = (name: string, cn: string, issuer: string, ext: string): void => {
    writeFileSync(join(at, `${name}.ext`), ext);
    sh(['req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], at);
    sh(['x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '365', '-extfile', `${name}.ext`], at);
  };
  ca('ca', 'Enclave Test CA');
  ca('wrong-ca', 'Somebody Else CA');
  leaf('server', 'siem.test', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf('other-server', 'other.example', 'ca', 'subjectAltName=DNS:other.example\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'workstation-17', 'ca', 'extendedKeyUsage=clientAuth\n');
  leaf('stranger', 'stranger', 'wrong-ca', 'extendedKeyUsage=clientAuth\n');
  // A CRL that went out of date in 2020, and a current one.
  writeFileSync(join(at, 'index.txt'), '');
  writeFileSync(join(at, 'crlnumber'), '01\n');
  writeFileSync(join(at, 'ca.cnf'), '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\ncrlnumber=crlnumber\ndefault_md=sha256\ndefault_crl_days=7\n');
  sh(['ca', '-config', 'ca.cnf', '-gencrl', '-keyfile', 'ca.key', '-cert', 'ca.pem', '-out', 'fresh.crl'], at);
  sh(['ca', '-config', 'ca.cnf', '-gencrl', '-keyfile', 'ca.key', '-cert', 'ca.pem', '-out', 'stale.crl', '-crl_lastupdate', '20200101000000Z', '-crl_nextupdate', '20200102000000Z'], at);
  const files: Record<string, string> = {};
  for (const name of ['ca', 'wrong-ca', 'server', 'other-server', 'client', 'stranger']) {
    files[`${name}.pem`] = join(at, `${name}.pem`);
    files[`${name}.key`] = join(at, `${name}.key`);
  }
  files['fresh.crl'] = join(at, 'fresh.crl');
  files['stale.crl'] = join(at, 'stale.crl');
  return files;
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    servers.push({ close: () => server.close() });
  });
}

/** A port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A receiver built on OpenSSL itself (as rsyslog and most SIEMs are): it judges
 * the client certificate inside the handshake and says why with a TLS alert,
 * where Node's server hangs up without one.
 */
async function opensslMutualTlsServer(): Promise<number> {
  const port = await closedPort();
  const child = spawn(
    'openssl',
    ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', pki['server.pem']!, '-key', pki['server.key']!, '-CAfile', pki['ca.pem']!, '-Verify', '1', '-verify_return_error'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  servers.push({ close: () => child.kill() });
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('ACCEPT')) resolve();
    });
    child.stderr.resume();
    child.once('exit', (code) => reject(new Error(`openssl s_server exited with ${code}: ${seen}`)));
  });
  return port;
}

/**
 * Just enough LDAP for StartTLS: answer the first request (the StartTLS
 * extended operation) with success, then speak TLS on the same connection.
 */
function ldapStartTlsServer(key: Buffer, cert: Buffer): net.Server {
  return net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', (request) => {
      // LDAPMessage ::= SEQUENCE { messageID INTEGER, ExtendedRequest [APPLICATION 23] } — a one-byte id.
      const messageId = request[4] ?? 1;
      const oid = Buffer.from('1.3.6.1.4.1.1466.20037', 'ascii');
      const result = Buffer.concat([Buffer.from([0x0a, 1, 0, 0x04, 0, 0x04, 0, 0x8a, oid.length]), oid]);
      const operation = Buffer.concat([Buffer.from([0x78, result.length]), result]);
      const message = Buffer.concat([Buffer.from([0x02, 1, messageId]), operation]);
      socket.write(Buffer.concat([Buffer.from([0x30, message.length]), message]));
      const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: tls.createSecureContext({ key, cert }) });
      secure.on('error', () => undefined);
      secure.resume();
    });
  });
}

beforeAll(async () => {
  dir = tempDir('enclave-doctor-');
  pki = makePki(dir.path);
  const read = (name: string): Buffer => readFileSync(pki[name]!);

  // HTTPS (Splunk HEC health, https-json, and any TLS for ldaps://): server certificate only.
  const web = https.createServer({ key: read('server.key'), cert: read('server.pem') }, (request, response) => {
    if (request.url === '/services/collector/health') {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"HEC is healthy","code":17}');
    } else response.writeHead(404).end();
  });
  // Syslog over TLS (RFC 5425): client certificates from the test CA required.
  const syslog = tls.createServer({ key: read('server.key'), cert: read('server.pem'), ca: read('ca.pem'), requestCert: true, rejectUnauthorized: true }, (socket) => {
    socket.on('error', () => undefined);
    socket.resume();
  });
  syslog.on('tlsClientError', () => undefined);
  const mismatch = tls.createServer({ key: read('other-server.key'), cert: read('other-server.pem') }, (socket) => socket.on('error', () => undefined).resume());
  mismatch.on('tlsClientError', () => undefined);
  ports = {
    https: await listen(web),
    syslog: await listen(syslog),
    mismatch: await listen(mismatch),
    ldap: await listen(ldapStartTlsServer(read('server.key'), read('server.pem'))),
    closed: await closedPort(),
    opensslSyslog: await opensslMutualTlsServer(),
    // Accepts connections and never says a word.
    silent: await listen(net.createServer((socket) => socket.on('error', () => undefined))),
  };
  const path = await testModelPath();
  model = { path, sha256: await sha256File(path) };
});

afterAll(() => {
  for (const server of servers) server.close();
  dir?.remove();
});

/** A managed policy deploying the test model, plus `extra` sections. */
/** A HEC token file in the test folder: the token and a newline, mode 0600 unless told. */
function hecTokenFile(content: string, mode = 0o600): string {
  const path = join(dir.path, `hec-${randomBytes(4).toString('hex')}.token`);
  writeFileSync(path, content, { mode });
  chmodSync(path, mode);
  return path;
}

function managedPolicy(extra: Record<string, unknown> = {}, modelEntry: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    mode: 'managed',
    institution: { name: 'Test Hospital' },
    inference: {
      models: [{ id: 'test-model', name: 'Test model', path: model.path, sha256: model.sha256, contextSize: 512, ...modelEntry }],
      workloads: [{ id: 'general', name: 'General', model: 'test-model' }],
    },
    ...extra,
  };
}

function writePolicy(document: unknown): string {
  const path = join(dir.path, `policy-${++policyCount}.json`);
  writeFileSync(path, typeof document === 'string' ? document : JSON.stringify(document, null, 2));
  return path;
}

async function doctor(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(['doctor', ...args], { out: (l) => (out += l + '\n'), err: (l) => (err += l + '\n') });
  return { code, out, err };
}

async function doctorJson(policy: unknown, args: string[] = []): Promise<{ code: number; checks: Check[]; byName: (name: string) => Check }> {
  const result = await doctor(['--policy', writePolicy(policy), '--json', ...args]);
  expect(result.err).toBe('');
  const report = JSON.parse(result.out) as { ok: boolean; checks: Check[] };
  expect(report.ok).toBe(result.code === 0);
  const byName = (name: string): Check => {
    const check = report.checks.find((c) => c.name === name);
    if (!check) throw new Error(`no check named "${name}" in ${report.checks.map((c) => c.name).join(', ')}`);
    return check;
  };
  return { code: result.code, checks: report.checks, byName };
}

describe('enclave doctor: directory servers and SIEM destinations', () => {
  it('passes TLS endpoints whose certificates chain to the configured CA (syslog with mutual TLS, HEC with health, https-json, ldaps, StartTLS)', async () => {
    const { code, byName } = await doctorJson(
      managedPolicy({
        directory: { servers: [`ldaps://127.0.0.1:${ports.https}`, `ldap://localhost:${ports.ldap}`], caFile: pki['ca.pem'], timeoutSeconds: 5 },
        siem: {
          destinations: [
            { id: 'syslog', type: 'syslog-tls', address: `127.0.0.1:${ports.syslog}`, caFile: pki['ca.pem'], clientCertFile: pki['client.pem'], clientKeyFile: pki['client.key'] },
            { id: 'splunk', type: 'splunk-hec', url: `https://localhost:${ports.https}/services/collector/event`, tokenFile: hecTokenFile('secret-token-never-printed\n'), caFile: pki['ca.pem'] },
            { id: 'lake', type: 'https-json', url: `https://127.0.0.1:${ports.https}/ingest`, caFile: pki['ca.pem'] },
          ],
        },
      }),
    );
    const syslog = byName(`siem syslog (syslog-tls 127.0.0.1:${ports.syslog})`);
    expect(syslog.status).toBe('ok');
    expect(syslog.detail).toMatch(/TLS handshake OK \(TLSv1\.3, mutual TLS, client certificate accepted\); certificate CN=siem\.test, issued by CN=Enclave Test CA/);
    const hec = byName(`siem splunk (splunk-hec https://localhost:${ports.https})`);
    expect(hec.status).toBe('ok');
    expect(hec.detail).toContain('HEC health: HEC is healthy');
    expect(hec.detail).not.toContain('secret-token');
    expect(byName(`siem lake (https-json https://127.0.0.1:${ports.https})`).status).toBe('ok');
    const ldaps = byName(`directory ldaps://127.0.0.1:${ports.https}`);
    expect(ldaps).toMatchObject({ status: 'ok' });
    expect(ldaps.detail).toContain('TLS OK');
    const startTls = byName(`directory ldap://localhost:${ports.ldap}`);
    expect(startTls.status).toBe('ok');
    expect(startTls.detail).toMatch(/^StartTLS OK \(TLSv1\.3\); certificate CN=siem\.test/);
    expect(code).toBe(0);
  });

  it('checks the HEC token: a tokenFile others can read or that is missing fails (nothing would be sent); an inline token is a warning', async () => {
    const hec = { type: 'splunk-hec', url: `https://localhost:${ports.https}/services/collector/event`, caFile: pki['ca.pem'] };
    const exposed = hecTokenFile('secret-token-never-printed\n', 0o644);
    const missing = join(dir.path, 'missing-hec.token');
    const { code, byName } = await doctorJson(
      managedPolicy({
        siem: {
          destinations: [
            { id: 'inline', ...hec, token: 'secret-token-never-printed' },
            { id: 'exposed', ...hec, tokenFile: exposed },
            { id: 'missing', ...hec, tokenFile: missing },
          ],
        },
      }),
    );
    expect(code).toBe(1);
    const at = `splunk-hec https://localhost:${ports.https}`;
    const inline = byName(`siem inline (${at})`);
    expect(inline.status).toBe('warn');
    expect(inline.detail).toContain('the HEC token is inline in the policy (siem.destinations[0].token), where every local account can read it');
    if (process.platform !== 'win32') {
      expect(byName(`siem exposed (${at})`)).toMatchObject({
        status: 'fail',
        detail: `The tokenFile of SIEM destination "exposed" cannot be used: ${exposed} can be read by every local account (mode 644); it holds a secret and must be readable by its owner only: chmod 600 '${exposed}'. Nothing is sent until it is fixed.`,
      });
    }
    expect(byName(`siem missing (${at})`)).toMatchObject({
      status: 'fail',
      detail: `The tokenFile of SIEM destination "missing" cannot be used: ${missing} does not exist. Nothing is sent until it is fixed.`,
    });
    for (const name of ['inline', 'exposed', 'missing']) expect(byName(`siem ${name} (${at})`).detail).not.toContain('secret-token');
  });

  it('fails certificates from a CA that is not trusted, naming the setting that fixes it', async () => {
    const { code, byName } = await doctorJson(
      managedPolicy({
        directory: { servers: [`ldaps://127.0.0.1:${ports.https}`], timeoutSeconds: 5 },
        siem: {
          destinations: [
            { id: 'syslog', type: 'syslog-tls', address: `127.0.0.1:${ports.syslog}`, caFile: pki['wrong-ca.pem'], clientCertFile: pki['client.pem'], clientKeyFile: pki['client.key'] },
            { id: 'lake', type: 'https-json', url: `https://127.0.0.1:${ports.https}/ingest`, caFile: pki['wrong-ca.pem'] },
          ],
        },
      }),
    );
    expect(code).toBe(1);
    // No caFile: the default trust store does not know the test CA.
    const ldaps = byName(`directory ldaps://127.0.0.1:${ports.https}`);
    expect(ldaps.status).toBe('fail');
    expect(ldaps.detail).toMatch(/^certificate not trusted \(.*CN=siem\.test, issued by CN=Enclave Test CA\); set directory\.caFile to the PEM file of the CA that issued it$/);
    const syslog = byName(`siem syslog (syslog-tls 127.0.0.1:${ports.syslog})`);
    expect(syslog.status).toBe('fail');
    expect(syslog.detail).toContain('certificate not trusted');
    expect(syslog.detail).toContain(`it does not chain to the CA in siem.destinations[0].caFile (${pki['wrong-ca.pem']})`);
    expect(byName(`siem lake (https-json https://127.0.0.1:${ports.https})`).detail).toContain('certificate not trusted');
  });

  it('reports a hostname mismatch and client certificates the receiver refuses', async () => {
    const { code, byName } = await doctorJson(
      managedPolicy({
        siem: {
          destinations: [
            { id: 'no-client-cert', type: 'syslog-tls', address: `127.0.0.1:${ports.syslog}`, caFile: pki['ca.pem'] },
            { id: 'stranger', type: 'syslog-tls', address: `127.0.0.1:${ports.syslog}`, caFile: pki['ca.pem'], clientCertFile: pki['stranger.pem'], clientKeyFile: pki['stranger.key'] },
            { id: 'openssl-stranger', type: 'syslog-tls', address: `127.0.0.1:${ports.opensslSyslog}`, caFile: pki['ca.pem'], clientCertFile: pki['stranger.pem'], clientKeyFile: pki['stranger.key'] },
            { id: 'openssl-ok', type: 'syslog-tls', address: `127.0.0.1:${ports.opensslSyslog}`, caFile: pki['ca.pem'], clientCertFile: pki['client.pem'], clientKeyFile: pki['client.key'] },
            { id: 'wrong-key', type: 'syslog-tls', address: `127.0.0.1:${ports.syslog}`, caFile: pki['ca.pem'], clientCertFile: pki['client.pem'], clientKeyFile: pki['stranger.key'] },
            { id: 'renamed', type: 'https-json', url: `https://127.0.0.1:${ports.mismatch}/`, caFile: pki['ca.pem'] },
            { id: 'no-ca-file', type: 'https-json', url: `https://127.0.0.1:${ports.https}/`, caFile: join(dir.path, 'missing-ca.pem') },
          ],
        },
      }),
    );
    expect(code).toBe(1);
    const at = `syslog-tls 127.0.0.1:${ports.syslog}`;
    expect(byName(`siem no-client-cert (${at})`)).toMatchObject({
      status: 'fail',
      detail: 'the receiver requires a client certificate and none was sent; set clientCertFile and clientKeyFile',
    });
    // Node's TLS server checks client certificates after the handshake and hangs up without an alert (OpenSSL-based receivers send "unknown CA").
    expect(byName(`siem stranger (${at})`)).toMatchObject({
      status: 'fail',
      detail:
        'the receiver closed the connection right after the TLS handshake without giving a reason: it most likely refused the client certificate CN=stranger, issued by CN=Somebody Else CA (does the receiver trust that CA?)',
    });
    const atOpenssl = `syslog-tls 127.0.0.1:${ports.opensslSyslog}`;
    expect(byName(`siem openssl-stranger (${atOpenssl})`)).toMatchObject({
      status: 'fail',
      detail: 'client certificate rejected: the receiver does not trust its issuer (unknown CA; CN=stranger, issued by CN=Somebody Else CA)',
    });
    expect(byName(`siem openssl-ok (${atOpenssl})`).status).toBe('ok');
    expect(byName(`siem wrong-key (${at})`).detail).toBe(`siem.destinations[4].clientKeyFile ${pki['stranger.key']} is not the key of the client certificate in siem.destinations[4].clientCertFile`);
    expect(byName(`siem renamed (https-json https://127.0.0.1:${ports.mismatch})`)).toMatchObject({
      status: 'fail',
      detail: 'hostname mismatch: the certificate is for DNS:other.example, not 127.0.0.1',
    });
    expect(byName(`siem no-ca-file (https-json https://127.0.0.1:${ports.https})`)).toMatchObject({
      status: 'fail',
      detail: `siem.destinations[6].caFile ${join(dir.path, 'missing-ca.pem')} does not exist`,
    });
  });

  it('fails endpoints where nothing listens as unreachable; one dead domain controller beside a live one is a warning', async () => {
    const dead = await doctorJson(
      managedPolicy({
        directory: { servers: [`ldaps://127.0.0.1:${ports.closed}`], caFile: pki['ca.pem'], timeoutSeconds: 5 },
        siem: {
          destinations: [{ id: 'syslog', type: 'syslog-tls', address: `127.0.0.1:${ports.closed}`, caFile: pki['ca.pem'], clientCertFile: pki['client.pem'], clientKeyFile: pki['client.key'] }],
        },
      }),
    );
    expect(dead.code).toBe(1);
    for (const name of [`directory ldaps://127.0.0.1:${ports.closed}`, `siem syslog (syslog-tls 127.0.0.1:${ports.closed})`]) {
      expect(dead.byName(name).status).toBe('fail');
      expect(dead.byName(name).detail).toMatch(/^host unreachable: connection refused \(ECONNREFUSED\); nothing is listening on 127\.0\.0\.1:\d+/);
    }

    const silent = await doctorJson(
      managedPolicy({
        directory: { servers: [`ldaps://127.0.0.1:${ports.silent}`, `ldap://127.0.0.1:${ports.silent}`, `ldap://127.0.0.1:${ports.closed}`], caFile: pki['ca.pem'], timeoutSeconds: 1 },
      }),
    );
    expect(silent.code).toBe(1);
    expect(silent.byName(`directory ldaps://127.0.0.1:${ports.silent}`)).toMatchObject({
      status: 'fail',
      detail: `connected to 127.0.0.1:${ports.silent}, but no TLS handshake within 1 s; is it a TLS port?`,
    });
    expect(silent.byName(`directory ldap://127.0.0.1:${ports.silent}`)).toMatchObject({
      status: 'fail',
      detail: `timed out after 1 s (directory.timeoutSeconds): no answer from 127.0.0.1:${ports.silent}`,
    });
    expect(silent.byName(`directory ldap://127.0.0.1:${ports.closed}`).detail).toMatch(/^host unreachable: connection refused \(ECONNREFUSED\)/);

    const oneDown = await doctorJson(managedPolicy({ directory: { servers: [`ldaps://127.0.0.1:${ports.closed}`, `ldaps://127.0.0.1:${ports.https}`], caFile: pki['ca.pem'], timeoutSeconds: 5 } }));
    expect(oneDown.byName(`directory ldaps://127.0.0.1:${ports.closed}`)).toMatchObject({ status: 'warn' });
    expect(oneDown.byName(`directory ldaps://127.0.0.1:${ports.closed}`).detail).toContain('another directory server answers');
    expect(oneDown.byName(`directory ldaps://127.0.0.1:${ports.https}`).status).toBe('ok');
    expect(oneDown.code).toBe(0);
  });

  it('warns that lab LDAP without TLS is unencrypted, and skips when no directory or SIEM is configured', async () => {
    const lab = await doctorJson(managedPolicy({ directory: { servers: [`ldap://127.0.0.1:${ports.ldap}`], startTls: false, allowUnencryptedLab: true } }));
    expect(lab.byName(`directory ldap://127.0.0.1:${ports.ldap}`)).toMatchObject({ status: 'warn' });
    expect(lab.byName(`directory ldap://127.0.0.1:${ports.ldap}`).detail).toMatch(/^reachable, but unencrypted/);

    const evaluation = await doctorJson(JSON.parse(readFileSync(EVALUATION_POLICY, 'utf8')));
    expect(evaluation.byName('directory')).toMatchObject({ status: 'skip', detail: 'evaluation mode / no directory configured (directory.servers)' });
    expect(evaluation.byName('siem').status).toBe('skip');
    expect(evaluation.byName('smart card').status).toBe('skip');
    expect(evaluation.byName('policy')).toMatchObject({ status: 'warn' });
    expect(evaluation.byName('policy').detail).toMatch(/^evaluation mode, from .*policy-\d+\.json; hash [0-9a-f]{64}; 0 warnings/);
    expect(evaluation.code).toBe(0);
  });
});

describe('enclave doctor: policy, models, GPU', () => {
  it('exits 1 on an invalid policy, names each problem, and skips the checks that need a policy', async () => {
    const path = writePolicy({ mode: 'managed', session: { idleLockSeconds: 1 }, storage: { allowKeyFile: true } });
    const result = await doctor(['--policy', path]);
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/^FAIL {2}policy: not valid; a workstation would apply none of it and start locked/m);
    expect(result.out).toContain(`session.idleLockSeconds (${path}):`);
    expect(result.out).toContain(`storage.allowKeyFile (${path}): is for evaluation mode only`);
    for (const name of ['models', 'directory', 'siem', 'smart card']) expect(result.out).toContain(`SKIP  ${name}: not checked: the policy is not valid`);
    expect(result.out).toMatch(/^1 failed, .*: something blocks use of Enclave on this workstation$/m);

    const syntax = await doctor(['--policy', writePolicy('{ "mode": "managed", }')]);
    expect(syntax.code).toBe(1);
    expect(syntax.out).toMatch(/policy: not valid.*\n.*is not valid JSON: .* at line 1, column \d+/);

    expect((await doctor(['--policy', path, 'extra'])).code).toBe(2);
    expect((await doctor(['--bogus'])).code).toBe(2);
  });

  it('checks each model: the approved test model passes its hash; a changed hash or a missing file fails, naming the model and path', async () => {
    const good = await doctorJson(managedPolicy());
    expect(good.byName('model test-model').status).toBe('warn'); // the random-weight test model says so
    expect(good.byName('model test-model').detail).toMatch(new RegExp(`^${model.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: hash matches; llama, .* parameters, F32, `));
    expect(good.byName('model test-model').detail).toContain("Enclave's random-weight test model");

    const otherHash = 'f'.repeat(64);
    const bad = await doctorJson(managedPolicy({}, { sha256: otherHash }));
    expect(bad.code).toBe(1);
    expect(bad.byName('model test-model')).toMatchObject({ status: 'fail' });
    expect(bad.byName('model test-model').detail).toBe(
      `${model.path}: SHA-256 ${model.sha256} does not match the policy's ${otherHash} (inference.models[0].sha256); it is not the file IT approved, so "Test model" will not be loaded. Copy the approved file again, or update the hash in policy`,
    );

    const missing = join(dir.path, 'gone.gguf');
    const gone = await doctorJson(managedPolicy({}, { path: missing }));
    expect(gone.byName('model test-model')).toMatchObject({ status: 'fail', detail: `inference.models[0].path ${missing} does not exist; "Test model" cannot be loaded` });
  });

  it('reports the llama.cpp backend: CPU only is a warning (on a GPU machine, the GPU), and inference.gpu off is respected', async () => {
    const auto = await doctorJson(managedPolicy());
    const gpu = auto.byName('gpu');
    if (gpu.status === 'warn') expect(gpu.detail).toMatch(/^cpu: no usable GPU backend \(CUDA, Vulkan or Metal\) found; inference runs on the CPU \(\d+ cores\)/);
    else expect(gpu).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^(cuda|vulkan|metal): /) });

    const offPolicy = await doctorJson({ ...managedPolicy(), inference: { ...(managedPolicy().inference as object), gpu: 'off' } });
    expect(offPolicy.byName('gpu')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^inference\.gpu is off: inference runs on the CPU \(\d+ cores\) by policy$/) });
  });
});

describe('enclave doctor: database and audit chain', () => {
  it('verifies the chain of an evaluation data folder with its key file, and names the first tampered event', async () => {
    const data = join(dir.path, 'data');
    const core = await createHeadlessCore({ dataDir: data, policy: { path: EVALUATION_POLICY } });
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    await call(core, 'auth.lock', {});
    await callError(core, 'auth.unlock', { password: 'not the password' });
    await call(core, 'auth.unlock', { password: EVAL_USER.password });
    await core.close();

    const intact = await doctorJson(JSON.parse(readFileSync(EVALUATION_POLICY, 'utf8')), ['--data-dir', data]);
    expect(intact.byName('database')).toMatchObject({ status: 'ok' });
    expect(intact.byName('database').detail).toMatch(/opens with the key file .*database\.key\); audit chain intact: \d+ events, head \d+$/);

    // Someone with the key turns the failed unlock into a success.
    const store = openStore({ path: join(data, 'enclave.db'), key: readKeyFile(join(data, KEY_FILE)) });
    let seq = 0;
    try {
      const row = store.writer.prepare(`SELECT seq, record FROM audit_events WHERE action = 'auth.unlock' AND record LIKE '%"failure"%'`).get() as { seq: number; record: string };
      seq = row.seq;
      store.writer.prepare('UPDATE audit_events SET record = ? WHERE seq = ?').run(row.record.replace('"failure"', '"success"'), seq);
    } finally {
      store.close();
    }
    const tampered = await doctor(['--policy', EVALUATION_POLICY, '--data-dir', data]);
    expect(tampered.code).toBe(1);
    expect(tampered.out).toContain(`FAIL  database: ${join(data, 'enclave.db')}: audit chain broken at event ${seq} (modified): the event does not match its hash`);

    // A managed policy does not allow the key file: the doctor does not use it.
    const managed = await doctorJson(managedPolicy(), ['--data-dir', data]);
    expect(managed.byName('database').status).toBe('warn');
    expect(managed.byName('database').detail).toContain('the policy does not allow a key file (storage.allowKeyFile)');
  });

  it("verifies a managed workstation's chain with the key the installed app unwraps, and says so for the wrong key", async () => {
    const data = join(dir.path, 'managed-data');
    const key = randomBytes(32);
    const core = await createCore({ dataDir: data, databaseKey: Buffer.from(key), policy: policyFromDocument(managedPolicy(), 'managed test policy'), version: 'test', log: () => undefined });
    await core.close();
    const policyFile = writePolicy(managedPolicy());
    const run = async (databaseKey: Buffer) => {
      let out = '';
      const code = await runCli(['doctor', '--policy', policyFile, '--data-dir', data, '--json'], { out: (l) => (out += l), err: () => undefined }, { databaseKey });
      return { code, database: (JSON.parse(out) as { checks: Check[] }).checks.find((c) => c.name === 'database')! };
    };
    const good = await run(key);
    expect(good.database).toMatchObject({ status: 'ok', detail: expect.stringMatching(/opens with the key from the OS key store; audit chain intact: \d+ events/) });
    const wrong = await run(randomBytes(32));
    expect(wrong.code).toBe(1);
    expect(wrong.database).toMatchObject({ status: 'fail', detail: expect.stringMatching(/cannot be opened with this key/) });
  });

  it('reports the chat retention schedule, how many sessions are past it, and when the app last swept', async () => {
    const data = join(dir.path, 'retention-data');
    const day = 86_400_000;
    const started = Date.now();
    // The app last ran (and swept) 40 days ago, by its clock.
    const core = await createHeadlessCore({ dataDir: data, policy: { path: EVALUATION_POLICY }, now: () => started - 40 * day, log: () => undefined });
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    const { id: userId } = core.store.writer.prepare('SELECT id FROM accounts').get() as { id: string };
    const addSession = (id: string, lastActivity: number, messages: number) => {
      core.store.writer
        .prepare("INSERT INTO chat_sessions (id, user_id, title, workload_id, created_at, updated_at, ended_at) VALUES (?, ?, 'Chat', 'general', ?, ?, NULL)")
        .run(id, userId, lastActivity, lastActivity);
      for (let i = 0; i < messages; i += 1) {
        core.store.writer
          .prepare("INSERT INTO chat_messages (id, session_id, role, content, status, reply_to, model_id, created_at) VALUES (?, ?, 'user', 'text', 'complete', NULL, NULL, ?)")
          .run(`${id}-${i}`, id, lastActivity);
      }
    };
    addSession('0190aaaa-0000-7000-8000-0000000000a1', started - 31 * day, 2);
    addSession('0190aaaa-0000-7000-8000-0000000000a2', started - 29 * day, 1);
    await core.close();
    const policy = JSON.parse(readFileSync(EVALUATION_POLICY, 'utf8')) as { storage: { chatRetentionDays: number } };
    expect(policy.storage.chatRetentionDays).toBe(30);

    const due = (await doctorJson(policy, ['--data-dir', data])).byName('retention');
    expect(due.status).toBe('warn');
    expect(due.detail).toMatch(
      /^storage\.chatRetentionDays 30: a chat is deleted 30 days after its last message or its end, whichever is later; the app sweeps at start and every 15 minutes\. 1 session \(2 messages\) is past it and goes at the next sweep; last sweep (\S+) \(0 sessions purged\)\. Start Enclave/,
    );
    expect(Date.parse(/last sweep (\S+)/.exec(due.detail)![1]!)).toBeLessThan(started - 39 * day);

    // The app starts: its sweep takes the old session, and the doctor says so.
    const app = await createHeadlessCore({ dataDir: data, policy: { path: EVALUATION_POLICY }, log: () => undefined });
    await app.close();
    const swept = (await doctorJson(policy, ['--data-dir', data])).byName('retention');
    expect(swept.status).toBe('ok');
    expect(swept.detail).toMatch(/\. no session is past it now; last sweep (\S+) \(1 session purged\)$/);
    expect(Date.parse(/last sweep (\S+)/.exec(swept.detail)![1]!)).toBeGreaterThanOrEqual(started);

    // Without the database open, the schedule alone; with retention 0, ended and open sessions are what goes.
    const zero = { ...policy, storage: { ...policy.storage, chatRetentionDays: 0 } };
    expect((await doctorJson(zero)).byName('retention')).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/^storage\.chatRetentionDays 0: a chat is deleted when its session ends; .*Sessions not counted: the database was not opened/),
    });
    expect((await doctorJson(zero, ['--data-dir', data])).byName('retention').detail).toContain('1 session (1 message) is ended or left open and goes at the next sweep');
  });

  it('skips without --data-dir, without a database, and when the key is wrapped by the OS key store', async () => {
    const none = await doctorJson(managedPolicy());
    expect(none.byName('database')).toMatchObject({ status: 'skip', detail: expect.stringMatching(/^no --data-dir given; .*Enclave.data: pass --data-dir/) });

    const empty = join(dir.path, 'empty-data');
    mkdirSync(empty);
    expect((await doctorJson(managedPolicy(), ['--data-dir', empty])).byName('database')).toMatchObject({ status: 'skip', detail: expect.stringMatching(/^no database yet/) });

    const wrapped = join(dir.path, 'user-data', 'data');
    mkdirSync(wrapped, { recursive: true });
    writeFileSync(join(wrapped, 'enclave.db'), 'ciphertext');
    writeFileSync(join(dir.path, 'user-data', 'database-key.wrapped'), 'wrapped');
    const skipped = (await doctorJson(managedPolicy(), ['--data-dir', wrapped])).byName('database');
    expect(skipped.status).toBe('skip');
    expect(skipped.detail).toContain('its key is wrapped by the OS key store');
    expect(skipped.detail).toContain('the app verifies the audit chain at each start');
  });
});

describe('enclave doctor: smart card (PKCS#11 through SoftHSM2)', () => {
  it('lists the readers and token of a real PKCS#11 module, and fails a module path that does not exist', async () => {
    const hsm = join(dir.path, 'softhsm');
    mkdirSync(join(hsm, 'tokens'), { recursive: true });
    writeFileSync(join(hsm, 'softhsm2.conf'), `directories.tokendir = ${join(hsm, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    const env = { ...process.env, SOFTHSM2_CONF: join(hsm, 'softhsm2.conf') };
    execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'test', '--pin', '1234', '--so-pin', '5678'], { env, stdio: 'pipe' });
    const before = process.env.SOFTHSM2_CONF;
    process.env.SOFTHSM2_CONF = env.SOFTHSM2_CONF;
    try {
      const card = (extra: Record<string, unknown>) => managedPolicy({ smartCard: { enabled: true, pkcs11Module: SOFTHSM_MODULE, caFiles: [pki['ca.pem']], crlFiles: [pki['fresh.crl']], ...extra } });
      const good = await doctorJson(card({}));
      const module = good.byName('smart card PKCS#11 module');
      expect(module.status).toBe('ok');
      expect(module.detail).toMatch(new RegExp(`^${SOFTHSM_MODULE}: Implementation of PKCS11 [\\d.]+ \\(SoftHSM\\); 2 readers, 2 with a card or token: `));
      expect(module.detail).toMatch(/"SoftHSM slot ID 0x[0-9a-f]+": token "test" \(SoftHSM v2, SoftHSM project\)/);
      expect(module.detail).toMatch(/"SoftHSM slot ID 0x[0-9a-f]+": token present, not initialised/);
      expect(good.byName('smart card CA and CRL files')).toMatchObject({ status: 'ok', detail: '1 CA certificate (CN=Enclave Test CA), 1 CRL file, all current' });
      expect(good.code).toBe(0);

      const missing = join(dir.path, 'no-such-pkcs11.so');
      const bad = await doctorJson(card({ pkcs11Module: missing, crlFiles: [pki['stale.crl']] }));
      expect(bad.code).toBe(1);
      expect(bad.byName('smart card PKCS#11 module')).toMatchObject({
        status: 'fail',
        detail: `smartCard.pkcs11Module ${missing} does not exist; install the card middleware (for example OpenSC) or correct the path`,
      });
      expect(bad.byName('smart card CA and CRL files')).toMatchObject({
        status: 'fail',
        detail: `the CRL ${pki['stale.crl']} is out of date since 2020-01-02T00:00:00.000Z (its nextUpdate): every card sign-in is refused until a fresh CRL is deployed (smartCard.staleCrl = refuse)`,
      });

      const notPkcs11 = await doctorJson(card({ pkcs11Module: pki['ca.pem'] }));
      expect(notPkcs11.byName('smart card PKCS#11 module')).toMatchObject({ status: 'fail', detail: expect.stringContaining(`${pki['ca.pem']} could not be loaded`) });
    } finally {
      if (before === undefined) delete process.env.SOFTHSM2_CONF;
      else process.env.SOFTHSM2_CONF = before;
    }
  });
});

describe('enclave doctor: CRL freshness, as sign-in judges it', () => {
  it('fails a CRL dated in the future and one without nextUpdate: sign-in refuses every card they cover', async () => {
    const ca = new X509Certificate(readFileSync(pki['ca.pem']!));
    const now = Date.now();
    const future = join(dir.path, 'future.crl');
    const endless = join(dir.path, 'endless.crl');
    writeFileSync(future, signedCrl({ issuer: ca, issuerKeyFile: pki['ca.key']!, thisUpdate: new Date(now + 86_400_000), nextUpdate: new Date(now + 8 * 86_400_000) }));
    writeFileSync(endless, signedCrl({ issuer: ca, issuerKeyFile: pki['ca.key']!, thisUpdate: new Date(now - 3_600_000), nextUpdate: null }));
    const card = (crl: string) => managedPolicy({ smartCard: { enabled: true, pkcs11Module: SOFTHSM_MODULE, caFiles: [pki['ca.pem']], crlFiles: [crl] } });
    const ahead = await doctorJson(card(future));
    expect(ahead.byName('smart card CA and CRL files')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(new RegExp(`^the CRL ${future} is dated .* \\(its thisUpdate\\), in the future: cards whose chain it covers are refused`)),
    });
    expect(ahead.code).toBe(1);
    const none = await doctorJson(card(endless));
    expect(none.byName('smart card CA and CRL files')).toMatchObject({
      status: 'fail',
      detail: `the CRL ${endless} states no next update (nextUpdate): cards whose chain it covers are refused; deploy a CRL with one`,
    });
  });
});

describe('enclave doctor: text output', () => {
  it('prints one line per check with OK, WARN, FAIL or SKIP and a closing summary', async () => {
    const result = await doctor([
      '--policy',
      writePolicy(managedPolicy({ siem: { destinations: [{ id: 'lake', type: 'https-json', url: `https://127.0.0.1:${ports.https}/`, caFile: pki['ca.pem'] }] } })),
    ]);
    expect(result.code).toBe(0);
    const lines = result.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^Enclave doctor \S+$/);
    expect(lines.slice(1, -2).every((line) => /^(OK|WARN|FAIL|SKIP) +[a-z].*?: \S/.test(line))).toBe(true);
    expect(result.out).toMatch(/^OK {4}policy: managed mode, from .*; hash [0-9a-f]{64}; 0 warnings$/m);
    expect(result.out).toMatch(/^OK {4}siem lake \(https-json https:\/\/127\.0\.0\.1:\d+\): TLS handshake OK/m);
    expect(lines.at(-1)).toMatch(/^0 failed, \d+ warnings?, \d+ ok, \d+ skipped: nothing blocks use of Enclave on this workstation$/);
  });
});
