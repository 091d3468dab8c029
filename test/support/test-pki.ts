// A small test PKI for TLS receivers on loopback, made with the `openssl` tool:
//   - a test root CA, and a second, unrelated "wrong" CA;
//   - a server certificate for 127.0.0.1 and localhost, signed by the test CA;
//   - a client certificate (mutual TLS) signed by the test CA;
//   - a client certificate signed by the wrong CA (the receiver must refuse it).
// ECDSA P-256 keys, so a whole set takes a fraction of a second. Self-contained:
// nothing here depends on the other harnesses' PKI.
import { signCsrArgs } from './openssl-args.js';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  /** PEM of the test root CA: what a receiver's caFile names. */
  caFile: string;
  /** PEM of an unrelated CA that signed nothing the receivers use. */
  wrongCaFile: string;
  /** The receiver's certificate (SAN IP:127.0.0.1, DNS:localhost) and key. */
  serverCertFile: string;
  serverKeyFile: string;
  /** The workstation's client certificate and key, signed by the test CA. */
  clientCertFile: string;
  clientKeyFile: string;
  /** A client certificate and key signed by the wrong CA. */
  wrongClientCertFile: string;
  wrongClientKeyFile: string;
}

/** Runs a command (openssl) to completion, its output in the error when it fails. */
export function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')} failed (${error.code ?? error.signal ?? error.message}):\n${stdout}${stderr}`));
      else resolve();
    });
  });
}

const EXTENSIONS = [
  '[req]',
  'distinguished_name = dn',
  'prompt = no',
  '[dn]',
  'CN = placeholder',
  '[v3_ca]',
  'basicConstraints = critical, CA:TRUE',
  'keyUsage = critical, keyCertSign, cRLSign',
  'subjectKeyIdentifier = hash',
  '[v3_server]',
  'basicConstraints = critical, CA:FALSE',
  'keyUsage = critical, digitalSignature',
  'extendedKeyUsage = serverAuth',
  'subjectAltName = IP:127.0.0.1, DNS:localhost',
  'subjectKeyIdentifier = hash',
  'authorityKeyIdentifier = keyid, issuer',
  '[v3_client]',
  'basicConstraints = critical, CA:FALSE',
  'keyUsage = critical, digitalSignature',
  'extendedKeyUsage = clientAuth',
  'subjectKeyIdentifier = hash',
  'authorityKeyIdentifier = keyid, issuer',
  '',
].join('\n');

const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-sha256'];

let serial = Date.now();

/** Makes the whole set in `dir` (created if missing). */
export async function makeTestPki(dir: string): Promise<TestPki> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const config = join(dir, 'openssl.cnf');
  await writeFile(config, EXTENSIONS);
  const env = { ...process.env, OPENSSL_CONF: config };
  const path = (name: string) => join(dir, name);

  const makeCa = (name: string, commonName: string) =>
    run(
      'openssl',
      [
        'req',
        '-x509',
        ...KEY_ARGS,
        '-config',
        config,
        '-extensions',
        'v3_ca',
        '-days',
        '3650',
        '-subj',
        `/O=Enclave tests/CN=${commonName}`,
        '-keyout',
        path(`${name}.key`),
        '-out',
        path(`${name}.pem`),
      ],
      env,
    );

  const issue = async (name: string, commonName: string, ca: string, extensions: 'v3_server' | 'v3_client') => {
    await run('openssl', ['req', '-new', ...KEY_ARGS, '-config', config, '-subj', `/O=Enclave tests/CN=${commonName}`, '-keyout', path(`${name}.key`), '-out', path(`${name}.csr`)], env);
    await run(
      'openssl',
      signCsrArgs({ csr: path(`${name}.csr`), caCert: path(`${ca}.pem`), caKey: path(`${ca}.key`), serial: `0x${(serial++).toString(16)}`, config, extensions, out: path(`${name}.pem`) }),
      env,
    );
    await chmod(path(`${name}.key`), 0o600);
  };

  await Promise.all([makeCa('ca', 'Enclave SIEM Test Root CA'), makeCa('wrong-ca', 'Unrelated Test Root CA')]);
  await Promise.all([
    issue('server', '127.0.0.1', 'ca', 'v3_server'),
    issue('client', 'ws-0001.enclave.test', 'ca', 'v3_client'),
    issue('wrong-client', 'ws-0001.enclave.test', 'wrong-ca', 'v3_client'),
  ]);
  return {
    dir,
    caFile: path('ca.pem'),
    wrongCaFile: path('wrong-ca.pem'),
    serverCertFile: path('server.pem'),
    serverKeyFile: path('server.key'),
    clientCertFile: path('client.pem'),
    clientKeyFile: path('client.key'),
    wrongClientCertFile: path('wrong-client.pem'),
    wrongClientKeyFile: path('wrong-client.key'),
  };
}

// --- A restartable HTTPS server with mutual TLS, for the fake receivers ---------------------------

export interface MutualTlsServerOptions {
  pki: TestPki;
  /** The CA that client certificates must chain to; default the test CA (pki.wrongCaFile: a receiver that does not trust us). */
  clientCaFile?: string;
  /** Refuse a client without a trusted certificate (default true, as a production receiver should). */
  requireClientCertificate?: boolean;
}

/**
 * An HTTPS server on 127.0.0.1 with TLS 1.2+ and mutual TLS (requestCert +
 * rejectUnauthorized against the given CA), that can be stopped and started
 * again on the same port ("the SIEM restarts").
 */
export class MutualTlsHttpsServer {
  readonly #options: MutualTlsServerOptions;
  readonly #handler: (req: IncomingMessage, res: ServerResponse) => void;
  readonly #sockets = new Set<Socket>();
  #server: Server | null = null;
  #port = 0;

  constructor(options: MutualTlsServerOptions, handler: (req: IncomingMessage, res: ServerResponse) => void) {
    this.#options = options;
    this.#handler = handler;
  }

  get port(): number {
    return this.#port;
  }

  /** https://127.0.0.1:<port> */
  get origin(): string {
    return `https://127.0.0.1:${this.#port}`;
  }

  get running(): boolean {
    return this.#server !== null;
  }

  /** Listens (on the same port as before after a stop). */
  async start(): Promise<void> {
    if (this.#server) return;
    const { pki } = this.#options;
    const server = createServer(
      {
        cert: readFileSync(pki.serverCertFile),
        key: readFileSync(pki.serverKeyFile),
        ca: readFileSync(this.#options.clientCaFile ?? pki.caFile),
        requestCert: true,
        rejectUnauthorized: this.#options.requireClientCertificate ?? true,
        minVersion: 'TLSv1.2',
      },
      this.#handler,
    );
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Stops listening and cuts every open connection. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = null;
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
