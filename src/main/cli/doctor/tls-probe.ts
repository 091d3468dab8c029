// Network probes for the doctor: a TLS handshake (optionally mutual) that sends
// no application data, a plain TCP connect, and one HTTPS GET. Every failure
// becomes one sentence an IT admin can act on (unreachable, timed out, which
// certificate is not trusted and which setting fixes it, hostname mismatch,
// client certificate rejected), from the one classifier of network and TLS
// errors in tls/, which the SIEM transports use too.
import { X509Certificate } from 'node:crypto';
import { FILE_SIZE_LIMITS, readLimitedFileSync } from '../../files/index.js';
import https from 'node:https';
import net, { isIP } from 'node:net';
import tls from 'node:tls';
import { DAY_MS, day, fileProblem, messageOf, seconds } from './check.js';
import {
  certificatesFromPemOrDer,
  certName,
  checkClientKey,
  classifyCertificateVerdict,
  classifyNetworkError,
  closedAfterHandshake,
  MIN_TLS_VERSION,
  systemCaCertificates,
  verifiedClientTls,
  type ProbeContext,
} from '../../tls/index.js';

export { certName };

export interface TlsFiles {
  caFile?: string | undefined;
  clientCertFile?: string | undefined;
  clientKeyFile?: string | undefined;
}

export interface TlsMaterial {
  /** The trust anchors; undefined means Node's default trust store. */
  ca: string[] | Buffer | undefined;
  cert: Buffer | undefined;
  key: Buffer | undefined;
  clientCert: X509Certificate | undefined;
  /** The policy key the files are set under ("directory", "siem.destinations[0]"), for messages. */
  settings: string;
  /** The policy key of the CA file, for messages ("set directory.caFile ..."). */
  caSetting: string;
  caFile: string | undefined;
  /** Things worth knowing that do not stop the probe (a client certificate that expires soon). */
  warnings: string[];
}

export interface Endpoint {
  host: string;
  port: number;
}

export const EXPIRY_WARNING_DAYS = 30;

/** Every certificate in a PEM file (or the one certificate of a DER file). */
export function readCertificates(path: string): X509Certificate[] {
  return certificatesFromPemOrDer(readLimitedFileSync(path, { maxBytes: FILE_SIZE_LIMITS.pem }));
}

function daysLeft(certificate: X509Certificate, now: number): number {
  return Math.floor((Date.parse(certificate.validTo) - now) / DAY_MS);
}

/**
 * The trust anchors and client credentials a destination names, checked
 * before any connection: each file exists and is readable, the CA file holds
 * certificates, the client certificate is in date and matches its key.
 */
export function loadTlsMaterial(files: TlsFiles, prefix: string, now = Date.now()): { ok: true; material: TlsMaterial } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  const caSetting = `${prefix}.caFile`;
  let ca: TlsMaterial['ca'];
  if (files.caFile) {
    const problem = fileProblem(files.caFile, caSetting);
    if (problem) problems.push(problem);
    else {
      let certificates: X509Certificate[] = [];
      try {
        certificates = readCertificates(files.caFile);
      } catch (error) {
        problems.push(`${caSetting} ${files.caFile} holds a damaged certificate (${messageOf(error)})`);
      }
      if (certificates.length === 0 && problems.length === 0) problems.push(`${caSetting} ${files.caFile} holds no PEM certificate`);
      for (const certificate of certificates) {
        if (Date.parse(certificate.validTo) < now) warnings.push(`the CA ${certName(certificate.subject)} in ${caSetting} expired on ${day(new Date(certificate.validTo))}`);
      }
      ca = certificates.map((c) => c.toString());
    }
  } else {
    // Node 22+ (Electron) can add the operating system's store; Node 20 has only its built-in list.
    ca = systemCaCertificates();
  }

  let cert: Buffer | undefined;
  let key: Buffer | undefined;
  let clientCert: X509Certificate | undefined;
  if (files.clientCertFile) {
    const problem = fileProblem(files.clientCertFile, `${prefix}.clientCertFile`);
    if (problem) problems.push(problem);
    else {
      cert = readLimitedFileSync(files.clientCertFile, { maxBytes: FILE_SIZE_LIMITS.pem });
      try {
        clientCert = readCertificates(files.clientCertFile)[0];
      } catch {
        clientCert = undefined;
      }
      if (!clientCert) problems.push(`${prefix}.clientCertFile ${files.clientCertFile} holds no PEM certificate`);
      else if (Date.parse(clientCert.validTo) < now) {
        problems.push(
          `the client certificate ${certName(clientCert.subject)} (${prefix}.clientCertFile) expired on ${day(new Date(clientCert.validTo))}; the receiver will refuse it: issue a new one`,
        );
      } else if (Date.parse(clientCert.validFrom) > now) {
        problems.push(`the client certificate ${certName(clientCert.subject)} (${prefix}.clientCertFile) is not valid until ${day(new Date(clientCert.validFrom))}; check this workstation's clock`);
      } else if (daysLeft(clientCert, now) < EXPIRY_WARNING_DAYS) {
        warnings.push(`the client certificate ${certName(clientCert.subject)} expires on ${day(new Date(clientCert.validTo))} (in ${daysLeft(clientCert, now)} days)`);
      }
    }
  }
  if (files.clientKeyFile) {
    const problem = fileProblem(files.clientKeyFile, `${prefix}.clientKeyFile`);
    if (problem) problems.push(problem);
    else {
      key = readLimitedFileSync(files.clientKeyFile, { maxBytes: FILE_SIZE_LIMITS.pem });
      const checked = checkClientKey(key, clientCert);
      if (!checked.ok && checked.problem === 'mismatch') {
        problems.push(`${prefix}.clientKeyFile ${files.clientKeyFile} is not the key of the client certificate in ${prefix}.clientCertFile`);
      } else if (!checked.ok) {
        problems.push(
          checked.problem === 'passphrase'
            ? `${prefix}.clientKeyFile ${files.clientKeyFile} is protected by a passphrase; Enclave needs the key without one (keep it readable only by the Enclave service account)`
            : `${prefix}.clientKeyFile ${files.clientKeyFile} is not a private key Enclave can read (${checked.detail})`,
        );
      }
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, material: { ca, cert, key, clientCert, settings: prefix, caSetting, caFile: files.caFile, warnings } };
}

/** What a probe's failure sentence may name: the endpoint, and for TLS the files and certificates read. */
function probeContext(endpoint: Endpoint, material: TlsMaterial | undefined, afterHandshake: boolean, peer?: X509Certificate): ProbeContext {
  return {
    for: 'doctor-probe',
    host: endpoint.host,
    port: endpoint.port,
    tls: material ? { settings: material.settings, caFile: material.caFile, clientCert: material.clientCert, peer } : undefined,
    stage: afterHandshake ? 'unconfirmed' : 'handshake',
  };
}

/** A socket or TLS error, as one sentence. */
export function describeNetworkError(error: unknown, endpoint: Endpoint, material?: TlsMaterial, afterHandshake = false): string {
  return classifyNetworkError(error, probeContext(endpoint, material, afterHandshake)).sentence;
}

/** The receiver hung up right after the TLS handshake without saying why: most often it refused the client certificate. */
export function describeClosedAfterHandshake(endpoint: Endpoint, material: TlsMaterial): string {
  return closedAfterHandshake(probeContext(endpoint, material, true)).sentence;
}

export type TlsProbeResult =
  | {
      ok: true;
      protocol: string;
      server: X509Certificate | undefined;
      /** Set when the receiver hung up right after the handshake without saying why. */
      closedEarly: boolean;
      /** False when a TLS 1.3 receiver neither accepted (session ticket) nor refused (alert) the client in time. */
      confirmed: boolean;
    }
  | { ok: false; reason: string };

/**
 * Why the server's certificate is not acceptable (chain not trusted, expired,
 * hostname mismatch), or null when it is. For sockets opened with
 * rejectUnauthorized: false, so the reason can name the certificate.
 */
export function verifyPeer(socket: tls.TLSSocket, endpoint: Endpoint, material: TlsMaterial): string | null {
  const peer = peerCertificate(socket);
  const details = socket.getPeerCertificate();
  const mismatch = (): string => `hostname mismatch: the certificate is for ${details.subjectaltname || certName(peer?.subject)}, not ${endpoint.host}`;
  if (!socket.authorized) {
    const error = socket.authorizationError as unknown as { code?: string } | string | null;
    const code = typeof error === 'string' ? error : String(error?.code ?? 'UNKNOWN');
    // Node checks the name itself and reports a mismatch here when the chain is fine.
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return mismatch();
    return classifyCertificateVerdict(code, probeContext(endpoint, material, false, peer)).sentence;
  }
  if (tls.checkServerIdentity(endpoint.host, details)) return mismatch();
  return null;
}

/**
 * The server's certificate. Read from getPeerCertificate(), which can be asked
 * again: Node 20's getPeerX509Certificate() answers only the first call.
 */
export function peerCertificate(socket: tls.TLSSocket): X509Certificate | undefined {
  const raw = socket.getPeerCertificate()?.raw;
  if (!raw) return undefined;
  try {
    return new X509Certificate(raw);
  } catch {
    return undefined;
  }
}

/** How long to wait after a TLS 1.3 handshake for the receiver to accept (a session ticket) or refuse (an alert) the client. */
const POST_HANDSHAKE_MS = 1500;

/**
 * Connects, completes the TLS handshake, verifies the chain against
 * `material.ca` and the hostname, and hangs up without sending a byte of
 * application data. With TLS 1.3 the receiver judges the client certificate
 * after the client has finished, so the probe waits for its verdict: a session
 * ticket means accepted, an alert means refused.
 */
export function probeTls(endpoint: Endpoint, material: TlsMaterial, timeoutMs: number): Promise<TlsProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    let tcpConnected = false;
    let secured = false;
    let gotSession = false;
    let peer: X509Certificate | undefined;
    let protocol = '';
    let grace: NodeJS.Timeout | undefined;
    const finish = (result: TlsProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(grace);
      socket.destroy();
      resolve(result);
    };
    const accepted = (closedEarly: boolean, confirmed = true): void => finish({ ok: true, protocol, server: peer, closedEarly, confirmed });

    const socket = tls.connect({
      host: endpoint.host,
      port: endpoint.port,
      ...(isIP(endpoint.host) ? {} : { servername: endpoint.host }),
      ca: material.ca,
      cert: material.cert,
      key: material.key,
      minVersion: MIN_TLS_VERSION,
      // Checked below, so the message can name the certificate and the setting that fixes it.
      rejectUnauthorized: false,
    });
    const timer = setTimeout(() => {
      finish({
        ok: false,
        reason: tcpConnected
          ? `connected to ${endpoint.host}:${endpoint.port}, but no TLS handshake within ${seconds(timeoutMs)}; is it a TLS port?`
          : `timed out after ${seconds(timeoutMs)}: no answer from ${endpoint.host}:${endpoint.port} (a firewall may be dropping the connection)`,
      });
    }, timeoutMs);
    socket.once('connect', () => {
      tcpConnected = true;
    });
    socket.on('session', () => {
      gotSession = true;
      if (secured) accepted(false);
    });
    socket.on('error', (error) => finish({ ok: false, reason: describeNetworkError(error, endpoint, material, secured) }));
    socket.on('close', () => {
      if (secured) accepted(true, false);
      else finish({ ok: false, reason: `${endpoint.host}:${endpoint.port} closed the connection during the TLS handshake` });
    });
    socket.once('secureConnect', () => {
      secured = true;
      peer = peerCertificate(socket);
      protocol = socket.getProtocol() ?? '';
      const refused = verifyPeer(socket, endpoint, material);
      if (refused) {
        finish({ ok: false, reason: refused });
        return;
      }
      // Discard anything the receiver sends; reading is what surfaces its alert or ticket.
      socket.resume();
      if (protocol !== 'TLSv1.3' || gotSession) {
        accepted(false);
        return;
      }
      grace = setTimeout(() => accepted(false, false), POST_HANDSHAKE_MS);
    });
  });
}

/** One line about a server certificate that was accepted: who it is, who issued it, until when. */
export function describeServerCertificate(certificate: X509Certificate | undefined, now = Date.now()): { text: string; expiresSoon: string | null } {
  if (!certificate) return { text: 'no server certificate details', expiresSoon: null };
  const left = daysLeft(certificate, now);
  return {
    text: `certificate ${certName(certificate.subject)}, issued by ${certName(certificate.issuer)}, valid until ${day(new Date(certificate.validTo))}`,
    expiresSoon: left < EXPIRY_WARNING_DAYS ? `the server certificate expires in ${left} day${left === 1 ? '' : 's'} (${day(new Date(certificate.validTo))})` : null,
  };
}

/** TCP reachability only (plain LDAP in a lab). */
export function probeTcp(endpoint: Endpoint, timeoutMs: number): Promise<{ ok: true } | { ok: false; reason: string }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: endpoint.host, port: endpoint.port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ok: false, reason: `timed out after ${seconds(timeoutMs)}: no answer from ${endpoint.host}:${endpoint.port} (a firewall may be dropping the connection)` });
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok: true });
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok: false, reason: describeNetworkError(error, endpoint) });
    });
  });
}

/** One HTTPS GET with the destination's trust and client certificate; reads at most 4 KiB of the answer. */
export function httpsGet(url: URL, material: TlsMaterial, timeoutMs: number): Promise<{ ok: true; status: number; body: string } | { ok: false; reason: string }> {
  const endpoint = endpointOf(url, 443);
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: { ok: true; status: number; body: string } | { ok: false; reason: string }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve(result);
    };
    const request = https.request(
      // Verified whatever NODE_TLS_REJECT_UNAUTHORIZED says (the TLS probe before it judged the certificate already).
      verifiedClientTls<https.RequestOptions>({
        host: endpoint.host,
        port: endpoint.port,
        path: url.pathname + url.search,
        method: 'GET',
        ...(isIP(endpoint.host) ? {} : { servername: endpoint.host }),
        ca: material.ca,
        cert: material.cert,
        key: material.key,
        agent: false,
        headers: { 'user-agent': 'enclave-doctor' },
      }),
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          if (size < 4096) chunks.push(chunk);
          size += chunk.length;
          if (size >= 4096) done({ ok: true, status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, 4096) });
        });
        response.on('end', () => done({ ok: true, status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', (error) => done({ ok: false, reason: describeNetworkError(error, endpoint, material) }));
      },
    );
    const timer = setTimeout(() => done({ ok: false, reason: `timed out after ${seconds(timeoutMs)} waiting for ${url.href}` }), timeoutMs);
    request.on('error', (error) => done({ ok: false, reason: describeNetworkError(error, endpoint, material) }));
    request.end();
  });
}

/** Host (IPv6 brackets removed) and port of a URL, with the scheme's default port. */
export function endpointOf(url: URL, defaultPort: number): Endpoint {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port: url.port ? Number(url.port) : defaultPort };
}
