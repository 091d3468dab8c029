// A real rsyslog receiver for the SIEM syslog-over-TLS tests: rsyslogd (Debian
// 12's rsyslog + rsyslog-gnutls) listening on 127.0.0.1 at a free port, RFC
// 5425 (TLS, octet-counted framing) with mutual TLS, writing every message it
// receives, byte for byte as received, one per line, to a file the test reads.
//
// What it does (well under a second):
//   1. makes a test PKI with the `openssl` tool (EC P-256, fast): the SIEM's CA,
//      a server certificate (IP 127.0.0.1, localhost, siem.enclave.test), a
//      workstation client certificate; and an unrelated "wrong" CA with its own
//      server and client certificates, for the "not trusted" tests;
//   2. writes a private rsyslog.conf (below) into a temp directory: nothing under
//      /etc/rsyslog*, /var/spool/rsyslog or /run is read or written, and the
//      system's rsyslogd (if any) is untouched: other port, other pid file,
//      other work directory, no /dev/log;
//   3. runs `rsyslogd -n -f <conf> -i <pidfile>` and waits until the port accepts
//      connections.
//
// The receiver: imtcp with the GnuTLS stream driver in TLS-only mode
// (StreamDriver.Mode 1) and x509/certvalid authentication, i.e. a client
// certificate is required and must chain to the test CA (its name is not
// checked). Messages received on that input go to `outputFile` through the
// template "%rawmsg%\n": the message as it came off the wire after the octet
// count, BOM included. Control-character escaping on receive is off, so
// nothing is rewritten (our renderers never put a raw line break in a message,
// so one line is one message). rsyslog's own messages (TLS errors, refused
// peers) go to `logFile`.
//
// Lifetime: rsyslogd runs under a small sh watchdog whose stdin is a pipe only
// this process holds; when this process dies (a killed test run), the pipe
// closes and the watchdog stops rsyslogd. stop() and destroy() kill the
// watchdog's process group. No root needed; needs `openssl` and `rsyslogd`
// with the gtls driver (scripts/test.sh installs rsyslog and rsyslog-gnutls).

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive, portOpen, runTool, waitFor } from './daemon.js';
import type { SyslogTlsDestination } from '../../src/main/siem/transports/syslog-tls.js';

export interface RsyslogPki {
  /** PEM: the CA that issued the receiver's server certificate and the workstation's client certificate. */
  caFile: string;
  /** PEM: a client certificate for the workstation, issued by caFile's CA (clientAuth). */
  clientCertFile: string;
  clientKeyFile: string;
  /** PEM: an unrelated CA, trusted by nobody here. */
  wrongCaFile: string;
  /** PEM: a client certificate issued by the wrong CA (the receiver refuses it). */
  wrongClientCertFile: string;
  wrongClientKeyFile: string;
  /** The certificate and key the receiver presents (from caFile's CA, or from the wrong CA). */
  serverCertFile: string;
  serverKeyFile: string;
}

export interface RsyslogOptions {
  /** Which CA issued the certificate the receiver presents. Default 'trusted' (caFile's CA). */
  serverCertificate?: 'trusted' | 'wrong-ca';
  /** Parent of the private directory (default: the system temp directory). */
  parentDir?: string;
}

export interface Rsyslog extends RsyslogPki {
  host: string;
  port: number;
  /** `127.0.0.1:<port>`, as a syslog-tls destination's address. */
  address: string;
  /** The private directory: PKI, config, work directory, output. */
  dir: string;
  configFile: string;
  /** Every received message, one per line, exactly as received. */
  outputFile: string;
  /** rsyslogd's own messages and its stdout/stderr. */
  logFile: string;
  /** The received messages so far, in arrival order. */
  messages(): Promise<string[]>;
  /** Resolves with all messages once at least `count` have arrived; rejects after `timeoutMs`. */
  waitForMessages(count: number, timeoutMs?: number): Promise<string[]>;
  /** The end of rsyslogd's log, for assertion messages. */
  logTail(lines?: number): Promise<string>;
  /** Stops rsyslogd (the port then refuses connections); output and PKI are kept. */
  stop(): Promise<void>;
  /** Starts rsyslogd again on the same port; resolves once it accepts connections. */
  start(): Promise<void>;
  isRunning(): boolean;
  /** Stops rsyslogd and deletes the private directory. */
  destroy(): Promise<void>;
}

/** A syslog-tls destination for this rsyslog with mutual TLS, as IT would configure it. */
export function rsyslogDestination(rsyslog: Rsyslog, overrides: Partial<SyslogTlsDestination> = {}): SyslogTlsDestination {
  return {
    id: 'test-syslog',
    type: 'syslog-tls',
    address: rsyslog.address,
    format: 'rfc5424-json',
    caFile: rsyslog.caFile,
    clientCertFile: rsyslog.clientCertFile,
    clientKeyFile: rsyslog.clientKeyFile,
    ...overrides,
  };
}

/** One parsed RFC 5424 message, as a SIEM would see it. */
export interface ParsedSyslogMessage {
  pri: number;
  version: number;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  /** SD-ELEMENTs in order, PARAM-VALUEs unescaped. */
  structuredData: { id: string; params: Record<string, string> }[];
  /** MSG, BOM included when present. */
  msg: string;
}

const HOST = '127.0.0.1';
const SERVER_NAMES = ['IP:127.0.0.1', 'DNS:localhost', 'DNS:siem.enclave.test'];

// --- Small helpers -------------------------------------------------------------------------------

function findRsyslogd(): string {
  for (const candidate of ['/usr/sbin/rsyslogd', '/sbin/rsyslogd', '/usr/local/sbin/rsyslogd', '/usr/bin/rsyslogd']) {
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('rsyslogd not found: install rsyslog and its GnuTLS driver (apt-get install rsyslog rsyslog-gnutls; scripts/test.sh does).');
}

/** A port that was free a moment ago on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePromise(port));
    });
  });
}

async function tailOf(file: string, lines: number): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).split('\n').slice(-lines).join('\n');
  } catch {
    return '(no rsyslogd log)';
  }
}

// --- Certificates --------------------------------------------------------------------------------

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function makeCa(dir: string, name: string, commonName: string): Promise<void> {
  await runTool('openssl', [
    'req',
    '-x509',
    ...EC_KEY,
    '-sha256',
    '-days',
    '30',
    '-subj',
    `/O=Enclave tests/CN=${commonName}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout',
    join(dir, `${name}.key`),
    '-out',
    join(dir, `${name}.pem`),
  ]);
}

async function issue(dir: string, ca: string, name: string, commonName: string, profile: 'server' | 'client'): Promise<void> {
  const extFile = join(dir, `${name}.ext`);
  await writeFile(
    extFile,
    [
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      `extendedKeyUsage = ${profile === 'server' ? 'serverAuth' : 'clientAuth'}`,
      ...(profile === 'server' ? [`subjectAltName = ${SERVER_NAMES.join(', ')}`] : []),
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid, issuer',
      '',
    ].join('\n'),
  );
  const csr = join(dir, `${name}.csr`);
  await runTool('openssl', ['req', '-new', ...EC_KEY, '-subj', `/O=Enclave tests/CN=${commonName}`, '-keyout', join(dir, `${name}.key`), '-out', csr]);
  await runTool('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    join(dir, `${ca}.pem`),
    '-CAkey',
    join(dir, `${ca}.key`),
    '-set_serial',
    `0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`,
    '-days',
    '30',
    '-sha256',
    '-extfile',
    extFile,
    '-out',
    join(dir, `${name}.pem`),
  ]);
}

async function makePki(dir: string, serverCertificate: 'trusted' | 'wrong-ca'): Promise<RsyslogPki> {
  await Promise.all([makeCa(dir, 'ca', 'Enclave Test SIEM CA'), makeCa(dir, 'wrong-ca', 'Unrelated Test CA')]);
  await Promise.all([
    issue(dir, 'ca', 'server', 'siem.enclave.test', 'server'),
    issue(dir, 'ca', 'client', 'ws-0001.enclave.test', 'client'),
    issue(dir, 'wrong-ca', 'wrong-server', 'siem.enclave.test', 'server'),
    issue(dir, 'wrong-ca', 'wrong-client', 'ws-0001.enclave.test', 'client'),
  ]);
  const server = serverCertificate === 'trusted' ? 'server' : 'wrong-server';
  return {
    caFile: join(dir, 'ca.pem'),
    clientCertFile: join(dir, 'client.pem'),
    clientKeyFile: join(dir, 'client.key'),
    wrongCaFile: join(dir, 'wrong-ca.pem'),
    wrongClientCertFile: join(dir, 'wrong-client.pem'),
    wrongClientKeyFile: join(dir, 'wrong-client.key'),
    serverCertFile: join(dir, `${server}.pem`),
    serverKeyFile: join(dir, `${server}.key`),
  };
}

// --- Configuration -------------------------------------------------------------------------------

/** rsyslog.conf for the receiver (RainerScript). */
export function rsyslogConfig(options: { workDir: string; port: number; caFile: string; certFile: string; keyFile: string; outputFile: string; logFile: string }): string {
  const q = (value: string) => JSON.stringify(value); // the paths are ours: no quotes or backslashes in them
  return [
    'global(',
    `  workDirectory=${q(options.workDir)}`,
    // The TLS credentials of the gtls stream driver: the CA that client certificates must chain to, and our certificate.
    `  defaultNetstreamDriverCAFile=${q(options.caFile)}`,
    `  defaultNetstreamDriverCertFile=${q(options.certFile)}`,
    `  defaultNetstreamDriverKeyFile=${q(options.keyFile)}`,
    // Room for any audit record (rsyslog's default is 8 KiB; larger messages would be truncated).
    '  maxMessageSize="64k"',
    // Keep every byte as received (no #011-style escapes of control characters).
    '  parser.escapeControlCharactersOnReceive="off"',
    // No reverse DNS lookup of the sender.
    '  net.enableDNS="off"',
    ')',
    // RFC 5425: TLS only (mode 1), client certificate required and checked against the CA (x509/certvalid).
    'module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="x509/certvalid")',
    'template(name="raw" type="string" string="%rawmsg%\\n")',
    'ruleset(name="siem") {',
    `  action(type="omfile" file=${q(options.outputFile)} template="raw")`,
    '}',
    // Octet-counted framing (RFC 5425 section 4.3) is imtcp's default; stated so the test's assumption is visible.
    `input(type="imtcp" address="${HOST}" port="${options.port}" ruleset="siem" supportOctetCountedFraming="on")`,
    // rsyslog's own messages (TLS errors, refused peers) go to the default ruleset.
    `action(type="omfile" file=${q(options.logFile)})`,
    '',
  ].join('\n');
}

// rsyslogd runs under a small sh script. A background loop reads the script's stdin, a
// pipe that only the test process holds: end of file there means the test process has
// gone, and the loop stops rsyslogd. sh itself waits for rsyslogd, so the daemon is always
// reaped by its parent (a container's init may reap nothing), then stops and reaps the loop.
// (A background job's stdin would be /dev/null, hence the pipe passed on as fd 3.)
const WATCHDOG = [
  'exec 3<&0 </dev/null',
  '"$1" -n -f "$2" -i "$3" 3<&- &',
  'daemon=$!',
  '{ while read -r _; do :; done; kill -TERM "$daemon" 2>/dev/null; } <&3 &',
  'watcher=$!',
  'exec 3<&-',
  'wait "$daemon"',
  'kill "$watcher" 2>/dev/null',
  'wait "$watcher"',
].join('\n');

// --- Parsing what arrived ------------------------------------------------------------------------

/** Parses one RFC 5424 message (what the SIEM side does); throws on anything malformed. */
export function parseRfc5424(line: string): ParsedSyslogMessage {
  const header = /^<(\d{1,3})>(\d+) (\S+) (\S+) (\S+) (\S+) (\S+) /.exec(line);
  if (!header) throw new Error(`not an RFC 5424 header: ${JSON.stringify(line.slice(0, 120))}`);
  let i = header[0].length;
  const structuredData: ParsedSyslogMessage['structuredData'] = [];
  if (line[i] === '-') {
    i += 1;
  } else {
    while (line[i] === '[') {
      const idMatch = /^\[([^\s=\]"]+)/.exec(line.slice(i));
      if (!idMatch) throw new Error(`bad SD-ID at ${i}: ${line.slice(i, i + 40)}`);
      i += idMatch[0].length;
      const params: Record<string, string> = {};
      while (line[i] === ' ') {
        const nameMatch = /^ ([^\s=\]"]+)="/.exec(line.slice(i));
        if (!nameMatch) throw new Error(`bad SD-PARAM at ${i}: ${line.slice(i, i + 40)}`);
        i += nameMatch[0].length;
        let value = '';
        for (;;) {
          const c = line[i];
          if (c === undefined) throw new Error('unterminated PARAM-VALUE');
          if (c === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\' || line[i + 1] === ']')) {
            value += line[i + 1];
            i += 2;
          } else if (c === '"') {
            i += 1;
            break;
          } else {
            value += c;
            i += 1;
          }
        }
        params[nameMatch[1]!] = value;
      }
      if (line[i] !== ']') throw new Error(`SD-ELEMENT not closed at ${i}: ${line.slice(i, i + 40)}`);
      i += 1;
      structuredData.push({ id: idMatch[1]!, params });
    }
  }
  let msg = '';
  if (i < line.length) {
    if (line[i] !== ' ') throw new Error(`no space before MSG at ${i}`);
    msg = line.slice(i + 1);
  }
  return {
    pri: Number(header[1]),
    version: Number(header[2]),
    timestamp: header[3]!,
    hostname: header[4]!,
    appName: header[5]!,
    procId: header[6]!,
    msgId: header[7]!,
    structuredData,
    msg,
  };
}

// --- Public API ----------------------------------------------------------------------------------

/** Makes the PKI and the config and starts rsyslogd on a free port. */
export async function startRsyslog(options: RsyslogOptions = {}): Promise<Rsyslog> {
  const rsyslogd = findRsyslogd();
  const dir = await mkdtemp(join(options.parentDir ?? tmpdir(), 'enclave-rsyslog-'));
  try {
    const pki = await makePki(dir, options.serverCertificate ?? 'trusted');
    const port = await freePort();
    const configFile = join(dir, 'rsyslog.conf');
    const outputFile = join(dir, 'received.log');
    const logFile = join(dir, 'rsyslogd.log');
    const pidFile = join(dir, 'rsyslogd.pid');
    const workDir = join(dir, 'work');
    await runTool('mkdir', ['-p', workDir]);
    await writeFile(configFile, rsyslogConfig({ workDir, port, caFile: pki.caFile, certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, outputFile, logFile }));
    // Fails here, with rsyslog's own words, on a config error or a missing gtls driver.
    try {
      await runTool(rsyslogd, ['-N1', '-f', configFile]);
    } catch (error) {
      const hint = /gtls|lmnsd/i.test(String(error)) ? '\n(the GnuTLS stream driver is missing: apt-get install rsyslog-gnutls)' : '';
      throw new Error(`rsyslogd rejected the test configuration ${configFile}:\n${String(error)}${hint}`);
    }

    let watchdog: ChildProcess | undefined;
    let exited = true;
    let destroyed = false;
    const killGroup = (signal: NodeJS.Signals) => {
      const pid = watchdog?.pid;
      if (pid === undefined) return;
      try {
        process.kill(-pid, signal);
      } catch {
        /* gone */
      }
    };
    const onExit = () => killGroup('SIGKILL');
    const daemonPid = (): number | undefined => {
      try {
        const pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
        return Number.isInteger(pid) && pid > 0 ? pid : undefined;
      } catch {
        return undefined;
      }
    };

    const handle: Rsyslog = {
      ...pki,
      host: HOST,
      port,
      address: `${HOST}:${port}`,
      dir,
      configFile,
      outputFile,
      logFile,
      async messages() {
        let text: string;
        try {
          text = await readFile(outputFile, 'utf8');
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
          throw error;
        }
        const lines = text.split('\n');
        lines.pop(); // after the last newline: empty, or a line still being written
        return lines;
      },
      async waitForMessages(count, timeoutMs = 10_000) {
        let got: string[] = [];
        const arrived = await waitFor(async () => (got = await handle.messages()).length >= count, timeoutMs, 50);
        if (!arrived) throw new Error(`rsyslog received ${got.length} of ${count} messages within ${timeoutMs} ms; end of ${logFile}:\n${await tailOf(logFile, 20)}`);
        return got;
      },
      logTail: (lines = 30) => tailOf(logFile, lines),
      isRunning: () => watchdog !== undefined && !exited,
      async start() {
        if (destroyed) throw new Error('this rsyslog was destroyed');
        if (handle.isRunning()) return;
        if (await portOpen(HOST, port, 500)) throw new Error(`${HOST}:${port} is taken by another process; the test rsyslog cannot start on it`);
        const logFd = openSync(logFile, 'a');
        let child: ChildProcess;
        try {
          child = spawn('/bin/sh', ['-c', WATCHDOG, 'rsyslog-watchdog', rsyslogd, configFile, pidFile], {
            cwd: dir,
            detached: true, // own process group: stop() signals rsyslogd and its watchdog together
            stdio: ['pipe', logFd, logFd],
          });
        } finally {
          closeSync(logFd);
        }
        watchdog = child;
        exited = false;
        child.once('exit', () => {
          if (watchdog === child) exited = true;
        });
        child.on('error', () => undefined); // shows as "did not start" below, with the log
        child.unref();
        (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
        process.once('exit', onExit);
        const up = await waitFor(async () => exited || (daemonPid() !== undefined && (await portOpen(HOST, port, 500))), 10_000, 25);
        if (!up || exited) {
          killGroup('SIGKILL');
          throw new Error(`rsyslogd did not start listening on ${HOST}:${port}; end of ${logFile}:\n${await tailOf(logFile, 30)}`);
        }
      },
      async stop() {
        if (!watchdog) return;
        const pid = daemonPid();
        // rsyslogd first, so the watchdog reaps it and exits by itself; the group only if that fails.
        if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGTERM');
        else killGroup('SIGTERM');
        const gone = await waitFor(() => exited && (pid === undefined || !isAlive(pid)), 5_000);
        if (!gone) {
          killGroup('SIGKILL');
          if (pid !== undefined) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              /* gone */
            }
          }
          await waitFor(() => exited && (pid === undefined || !isAlive(pid)), 5_000);
        }
        process.off('exit', onExit);
        watchdog = undefined;
        await rm(pidFile, { force: true });
        if (!(await waitFor(async () => !(await portOpen(HOST, port, 500)), 5_000))) throw new Error(`${HOST}:${port} still accepts connections after rsyslogd was stopped`);
      },
      async destroy() {
        if (destroyed) return;
        await handle.stop();
        destroyed = true;
        await rm(dir, { recursive: true, force: true });
      },
    };
    await handle.start();
    return handle;
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
