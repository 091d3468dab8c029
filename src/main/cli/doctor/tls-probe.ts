// Network probes for the doctor: a TLS handshake (optionally mutual) that sends
// no application data, a plain TCP connect, and one HTTPS GET. Every failure
// becomes one sentence an IT admin can act on: unreachable, timed out, which
// certificate is not trusted and which setting fixes it, hostname mismatch,
// client certificate rejected.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { FILE_SIZE_LIMITS, readLimitedFileSync } from '../../files/index.js';
import https from 'node:https';
import net, { isIP } from 'node:net';
import tls from 'node:tls';
import { DAY_MS, day, fileProblem, messageOf, seconds } from './check.js';
import { verifiedClientTls } from '../../tls/index.js';

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

/** "CN=dc1.corp.example.org", or the whole subject on one line when it has no CN. */
export function certName(dn: string | undefined): string {
  if (!dn) return '(no name)';
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(dn)?.[1];
  return cn ? `CN=${cn}` : dn.split('\n').join(', ');
}

/** Every certificate in a PEM file (or the one certificate of a DER file). */
export function readCertificates(path: string): X509Certificate[] {
  const data = readLimitedFileSync(path, { maxBytes: FILE_SIZE_LIMITS.pem });
  const text = data.toString('latin1');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (blocks) return blocks.map((block) => new X509Certificate(block));
  if (text.includes('-----BEGIN')) return [];
  try {
    return [new X509Certificate(data)];
  } catch {
    return [];
  }
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
    const getCa = (tls as unknown as { getCACertificates?: (type: string) => string[] }).getCACertificates;
    if (getCa) {
      try {
        ca = [...getCa('default'), ...getCa('system')];
      } catch {
        ca = undefined;
      }
    }
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
        problems.push(`the client certificate ${certName(clientCert.subject)} (${prefix}.clientCertFile) expired on ${day(new Date(clientCert.validTo))}; the receiver will refuse it: issue a new one`);
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
      try {
        const privateKey = createPrivateKey(key);
        if (clientCert && !clientCert.checkPrivateKey(privateKey)) {
          problems.push(`${prefix}.clientKeyFile ${files.clientKeyFile} is not the key of the client certificate in ${prefix}.clientCertFile`);
        }
      } catch (error) {
        const text = messageOf(error);
        problems.push(
          /passphrase/i.test(text)
            ? `${prefix}.clientKeyFile ${files.clientKeyFile} is protected by a passphrase; Enclave needs the key without one (keep it readable only by the Enclave service account)`
            : `${prefix}.clientKeyFile ${files.clientKeyFile} is not a private key Enclave can read (${text})`,
        );
      }
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, material: { ca, cert, key, clientCert, caSetting, caFile: files.caFile, warnings } };
}

const TRUST_REASONS: Record<string, string> = {
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in chain',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'issuer not known',
  UNABLE_TO_GET_ISSUER_CERT: 'issuer not known',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to verify the first certificate; the server may not send its intermediate CA',
  CERT_UNTRUSTED: 'not trusted for this purpose',
  INVALID_CA: 'a certificate in the chain is not a CA',
  CERT_SIGNATURE_FAILURE: 'bad signature',
  CERT_CHAIN_TOO_LONG: 'chain too long',
};

/** Why the server's certificate was refused (the code is OpenSSL's verify result). */
function describeVerifyFailure(code: string, peer: X509Certificate | undefined, material: TlsMaterial): string {
  const who = peer ? `${certName(peer.subject)}, issued by ${certName(peer.issuer)}` : 'the server certificate';
  if (code === 'CERT_HAS_EXPIRED') return `certificate expired on ${peer ? day(new Date(peer.validTo)) : 'an earlier date'} (${who}); the server needs a new certificate`;
  if (code === 'CERT_NOT_YET_VALID') return `certificate not valid until ${peer ? day(new Date(peer.validFrom)) : 'a later date'} (${who}); check this workstation's clock`;
  if (code === 'CERT_REVOKED') return `certificate revoked (${who})`;
  const reason = TRUST_REASONS[code];
  if (reason) {
    return material.caFile
      ? `certificate not trusted (${reason}; ${who}): it does not chain to the CA in ${material.caSetting} (${material.caFile}); point ${material.caSetting} at the CA that issued it`
      : `certificate not trusted (${reason}; ${who}); set ${material.caSetting} to the PEM file of the CA that issued it`;
  }
  return `certificate refused (${code}; ${who})`;
}

const ALERT_PATTERN = /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_([A-Z_]+)$/;

/** The receiver ended the handshake with a TLS alert: it refused us. */
function describeAlert(alert: string, material: TlsMaterial): string {
  const sent = material.clientCert ? ` ${certName(material.clientCert.subject)}, issued by ${certName(material.clientCert.issuer)}` : '';
  switch (alert) {
    case 'CERTIFICATE_REQUIRED':
      return 'the receiver requires a client certificate and none was sent; set clientCertFile and clientKeyFile';
    case 'UNKNOWN_CA':
      return material.clientCert
        ? `client certificate rejected: the receiver does not trust its issuer (unknown CA;${sent})`
        : 'the receiver refused the handshake (unknown CA)';
    case 'BAD_CERTIFICATE':
    case 'UNSUPPORTED_CERTIFICATE':
    case 'CERTIFICATE_UNKNOWN':
      return material.clientCert
        ? `client certificate rejected (${alert.toLowerCase().replace(/_/g, ' ')};${sent})`
        : 'the receiver requires a client certificate and none was sent; set clientCertFile and clientKeyFile';
    case 'CERTIFICATE_EXPIRED':
      return `client certificate rejected as expired (${sent.trim()})`;
    case 'CERTIFICATE_REVOKED':
      return `client certificate rejected as revoked (${sent.trim()})`;
    case 'ACCESS_DENIED':
      return `client certificate rejected (access denied;${sent})`;
    case 'HANDSHAKE_FAILURE':
      return material.clientCert
        ? 'the receiver ended the handshake (handshake failure): no TLS version or cipher in common, or it refused the client certificate'
        : 'the receiver ended the handshake (handshake failure): no TLS version or cipher in common, or it requires a client certificate (clientCertFile)';
    case 'PROTOCOL_VERSION':
      return 'no TLS version in common with the receiver (Enclave needs TLS 1.2 or later)';
    default:
      return `the receiver ended the handshake (TLS alert: ${alert.toLowerCase().replace(/_/g, ' ')})`;
  }
}

/** A socket or TLS error, as one sentence. */
export function describeNetworkError(error: unknown, endpoint: Endpoint, material?: TlsMaterial, afterHandshake = false): string {
  const code = String((error as { code?: unknown } | null)?.code ?? '');
  const where = `${endpoint.host}:${endpoint.port}`;
  switch (code) {
    case 'ECONNREFUSED':
      return `host unreachable: connection refused (ECONNREFUSED); nothing is listening on ${where}, or a firewall rejects it`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return `host unreachable: ${endpoint.host} is not known to DNS (${code})`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'ENETDOWN':
      return `host unreachable: no route to ${where} (${code})`;
    case 'ETIMEDOUT':
      return `host unreachable: the connection to ${where} timed out (ETIMEDOUT); a firewall may be dropping it`;
    case 'ECONNRESET':
    case 'EPIPE':
      return afterHandshake
        ? `the receiver closed the connection right after the handshake (${code}); it may have refused the client certificate`
        : `the connection to ${where} was reset during the TLS handshake (${code}); the port may not speak TLS, or the receiver refused this client`;
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'ERR_SSL_PACKET_LENGTH_TOO_LONG':
    case 'ERR_SSL_RECORD_LAYER_FAILURE':
      return `${where} did not answer with TLS (${code}); is it a plain-text port?`;
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `hostname mismatch: ${messageOf(error)}`;
  }
  if (material && (TRUST_REASONS[code] || code.startsWith('CERT_'))) return describeVerifyFailure(code, undefined, material);
  const alert = ALERT_PATTERN.exec(code)?.[1];
  if (alert && material) return describeAlert(alert, material);
  return code ? `${messageOf(error)} (${code})` : messageOf(error);
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
    return describeVerifyFailure(code, peer, material);
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
      minVersion: 'TLSv1.2',
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
