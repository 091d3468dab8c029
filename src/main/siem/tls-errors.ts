// The TLS side of every SIEM transport (syslog over TLS, Splunk HEC, HTTPS
// JSON), in one place:
//   - loadTlsMaterial: the destination's caFile, clientCertFile and
//     clientKeyFile, read at send time and checked, as one secure context
//     (TLS 1.2 or later); a file that cannot be read or used is a
//     'configuration' error that names it;
//   - deliveryErrorFromNetwork: a Node socket, TLS or HTTPS request error as a
//     DeliveryError: one stable code for the outbox and one sentence for the
//     status bar, the audit record of the outage and the IT admin who reads
//     them. Node reports the same error codes for a tls.connect socket and an
//     https request;
//   - refusedAfterHandshake: a receiver that hung up right after the handshake.
// The wording follows the doctor's TLS probe (cli/doctor/tls-probe.ts), which
// diagnoses the same failures ahead of time.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { FILE_SIZE_LIMITS, readLimitedFile, UnreadableFileError } from '../files/index.js';
import tls from 'node:tls';
import { MIN_TLS_VERSION } from '../tls/index.js';
import { DeliveryError, type SiemDestination } from './types.js';

// The floor every client connection uses (tls/index.ts), for the secure contexts built here.
export { MIN_TLS_VERSION };

// --- Classification of network and TLS failures ------------------------------------------------

/**
 * How far a connection had got when it failed:
 * - 'handshake': the TLS handshake had not completed;
 * - 'unconfirmed': it had, but the receiver had not yet shown that it accepted
 *   us (a TLS 1.3 receiver judges our client certificate after the handshake,
 *   and may just hang up);
 * - 'accepted': it had answered (HTTP), or let the syslog refusal window pass.
 */
export type ConnectionStage = 'handshake' | 'unconfirmed' | 'accepted';

/** What a message about a failed connection may name. */
export interface ConnectionContext {
  /** `host:port` of the receiver. */
  address: string;
  /** The destination's caFile, when policy sets one (else this computer's trust store is used). */
  caFile?: string | undefined;
  /** The client certificate we present (the destination's clientCertFile), when policy sets one. */
  clientCertFile?: string | undefined;
  /** Where the connection was when the error came; unknown when left out. */
  stage?: ConnectionStage | undefined;
}

/** The context of a connection made with `material`. */
export function connectionContext(address: string, material: Pick<TlsMaterial, 'caFile' | 'clientCertFile'>, stage?: ConnectionStage): ConnectionContext {
  return { address, caFile: material.caFile, clientCertFile: material.clientCertFile, stage };
}

/** OpenSSL's verify results for a receiver's chain that does not lead to a CA trusted here. */
const UNTRUSTED_CHAIN: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'signed by an unknown CA',
  UNABLE_TO_GET_ISSUER_CERT: 'signed by an unknown CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'signed by an unknown CA',
  // The receiver sent its whole chain, and the root at its end is not one we trust.
  SELF_SIGNED_CERT_IN_CHAIN: 'signed by an unknown CA',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'it is self-signed',
  CERT_UNTRUSTED: 'its CA is not trusted for this purpose',
  INVALID_PURPOSE: 'it is not meant for a TLS server',
  INVALID_CA: 'a certificate in its chain is not a CA',
  CERT_SIGNATURE_FAILURE: 'its signature does not verify',
  CERT_CHAIN_TOO_LONG: 'its chain is too long',
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: 'its signature cannot be read',
};

/** Node's codes (and OpenSSL's verify results) for a certificate that does not name the host we asked for. */
const NAME_MISMATCH = new Set(['ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH', 'IP_ADDRESS_MISMATCH']);

/** The receiver does not speak TLS on that port: a plain-text port, or TLS switched off. */
const NOT_TLS = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_RECORD_LAYER_FAILURE', 'ERR_SSL_HTTP_REQUEST']);

/** We refused the only TLS versions the receiver offers (below 1.2). */
const NO_COMMON_VERSION = new Set(['ERR_SSL_UNSUPPORTED_PROTOCOL', 'ERR_SSL_NO_PROTOCOLS_AVAILABLE']);

/**
 * Node names a TLS alert from the peer ERR_SSL_<prefix>_ALERT_<ALERT>: the
 * prefix is SSLV3, TLSV1 or TLSV13, or SSL/TLS under OpenSSL 3.
 */
const ALERT_CODE = /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13|SSL\/TLS)_ALERT_([A-Z_]+)$/;

/** An OpenSSL (or BoringSSL) error line: `error:0A000412:SSL routines:<function>:<reason>[:file…]`. */
const SSL_REASON = /SSL routines:[^:]*:([^:]+)/i;

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The error's code, or, where Node gives only EPROTO (an error on the write
 * path) or none, the code Node would give for the OpenSSL reason in its message:
 * "sslv3 alert bad certificate" → ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE.
 */
function effectiveCode(error: unknown): string {
  const code = errorCode(error);
  if (code !== '' && code !== 'EPROTO') return code;
  const reason = SSL_REASON.exec(errorText(error))?.[1]?.trim();
  return reason ? `ERR_SSL_${reason.toUpperCase().replace(/ /g, '_')}` : code;
}

function hostOf(address: string): string {
  const colon = address.lastIndexOf(':');
  return colon > 0 ? address.slice(0, colon) : address;
}

function checkCaFile(context: ConnectionContext): string {
  return context.caFile
    ? `Check the destination's caFile (${context.caFile}): it must hold the CA that issued the SIEM's certificate.`
    : "No caFile is set, so only this computer's trusted CAs are accepted. Set the destination's caFile to the CA that issued the SIEM's certificate.";
}

function alertWords(alert: string): string {
  return alert.toLowerCase().replace(/_/g, ' ');
}

const SET_CLIENT_CERT = "set the destination's clientCertFile and clientKeyFile to this workstation's certificate and key";
const LESS_OFTEN_NO_CIPHER = 'Less often, the SIEM and Enclave share no TLS 1.2+ cipher.';

/** The peer ended the TLS session with an alert: nearly always a verdict on our client certificate. */
function alertError(alert: string, context: ConnectionContext, cause: unknown): DeliveryError {
  const where = `The SIEM at ${context.address}`;
  const ours = context.clientCertFile;
  const options = { cause };
  switch (alert) {
    case 'CERTIFICATE_REQUIRED':
      return new DeliveryError('client_certificate_rejected', `${where} requires a client certificate and none was sent: ${SET_CLIENT_CERT}.`, options);
    case 'UNKNOWN_CA':
      return new DeliveryError(
        'client_certificate_rejected',
        ours
          ? `${where} refused our client certificate (mutual TLS): it does not trust the CA that issued ${ours}. Its administrator must trust that CA, or this workstation needs a certificate from a CA it trusts.`
          : `${where} refused the connection (unknown CA): it probably requires a client certificate; ${SET_CLIENT_CERT}.`,
        options,
      );
    case 'BAD_CERTIFICATE':
    case 'UNSUPPORTED_CERTIFICATE':
    case 'CERTIFICATE_UNKNOWN':
    case 'ACCESS_DENIED':
      return new DeliveryError(
        'client_certificate_rejected',
        ours
          ? `${where} refused our client certificate (mutual TLS): ${alertWords(alert)} (${ours}). Check that it trusts the CA that issued the certificate and that this workstation is among its permitted peers.`
          : `${where} refused the connection (${alertWords(alert)}): it probably requires a client certificate; ${SET_CLIENT_CERT}.`,
        options,
      );
    case 'CERTIFICATE_EXPIRED':
      return new DeliveryError('client_certificate_rejected', `${where} refused our client certificate (mutual TLS) as expired: replace ${ours ?? 'it'} with a new one.`, options);
    case 'CERTIFICATE_REVOKED':
      return new DeliveryError('client_certificate_rejected', `${where} refused our client certificate (mutual TLS) as revoked: replace ${ours ?? 'it'} with a new one.`, options);
    case 'HANDSHAKE_FAILURE':
      // A TLS 1.2 receiver that requires a client certificate says handshake_failure when it refuses
      // ours or gets none; sharing no cipher is rare, as Node offers every current TLS 1.2+ suite.
      return new DeliveryError(
        'client_certificate_rejected',
        ours
          ? `${where} ended the TLS handshake (handshake failure) after we offered our client certificate (${ours}): it most likely refused it (mutual TLS). Check that it trusts the CA that issued the certificate. ${LESS_OFTEN_NO_CIPHER}`
          : `${where} ended the TLS handshake (handshake failure): it most likely requires a client certificate (mutual TLS); ${SET_CLIENT_CERT}. ${LESS_OFTEN_NO_CIPHER}`,
        options,
      );
    case 'PROTOCOL_VERSION':
      return noCommonVersion(context, cause);
    default:
      return new DeliveryError('rejected', `${where} ended the TLS connection (TLS alert: ${alertWords(alert)}).`, options);
  }
}

function noCommonVersion(context: ConnectionContext, cause: unknown): DeliveryError {
  return new DeliveryError(
    'rejected',
    `The SIEM at ${context.address} and Enclave share no TLS version: Enclave needs TLS 1.2 or later, so the SIEM's administrator must turn on TLS 1.2 or 1.3 there.`,
    { cause },
  );
}

/** The receiver reset or broke off the connection (ECONNRESET, EPIPE, "socket hang up"). */
function resetError(code: string, context: ConnectionContext, cause: unknown): DeliveryError {
  const where = context.address;
  const ours = context.clientCertFile;
  const options = { cause };
  switch (context.stage) {
    case 'handshake':
      return new DeliveryError(
        'connection_reset',
        `The connection to the SIEM at ${where} was reset during the TLS handshake (${code}): the port may not speak TLS, or ${ours ? `the SIEM may not trust our client certificate (${ours})` : 'the SIEM refused this workstation (it may require a client certificate)'}.`,
        options,
      );
    case 'unconfirmed':
      return new DeliveryError(
        'connection_reset',
        `The SIEM at ${where} broke off the connection before the batch was confirmed (${code}); it will be sent again.${
          ours ? ` If the SIEM requires mutual TLS, it may not trust our client certificate (${ours}): check that it trusts the CA that issued it.` : ''
        }`,
        options,
      );
    case 'accepted':
      return new DeliveryError('connection_reset', `The SIEM at ${where} broke off the connection before the batch was confirmed (${code}); it will be sent again.`, options);
    default:
      return new DeliveryError('connection_reset', `The connection to the SIEM at ${where} broke before the batch was confirmed (${code}); it will be sent again.`, options);
  }
}

/**
 * A socket, TLS or HTTPS request error as a DeliveryError with words an IT
 * admin can act on. Errors that are already DeliveryErrors pass through unchanged.
 */
export function deliveryErrorFromNetwork(error: unknown, context: ConnectionContext): DeliveryError {
  if (error instanceof DeliveryError) return error;
  const code = effectiveCode(error);
  const where = context.address;
  const cause = error;

  const untrusted = UNTRUSTED_CHAIN[code];
  if (untrusted) return new DeliveryError('certificate_rejected', `The SIEM's certificate is not trusted (${untrusted}). ${checkCaFile(context)}`, { cause });
  if (NAME_MISMATCH.has(code)) {
    return new DeliveryError(
      'certificate_rejected',
      `The SIEM's certificate is not for ${hostOf(where)} (${errorText(error)}). Check the destination's address: it must be a name or IP address the certificate lists.`,
      { cause },
    );
  }
  if (NOT_TLS.has(code)) {
    return new DeliveryError(
      'server_error',
      `The SIEM at ${where} does not speak TLS 1.2 or later on that port (${code}): is it a plain-text port, or is TLS off on the receiver? Enclave delivers only over TLS.`,
      { cause },
    );
  }
  if (NO_COMMON_VERSION.has(code)) return noCommonVersion(context, cause);
  switch (code) {
    case 'CERT_HAS_EXPIRED':
      return new DeliveryError('certificate_rejected', `The SIEM's certificate (${where}) has expired: the SIEM's administrator must renew it.`, { cause });
    case 'CERT_NOT_YET_VALID':
      return new DeliveryError('certificate_rejected', `The SIEM's certificate (${where}) is not valid yet: check this workstation's date and time.`, { cause });
    case 'CERT_REVOKED':
      return new DeliveryError('certificate_rejected', `The SIEM's certificate (${where}) has been revoked: the SIEM's administrator must replace it.`, { cause });
    case 'ECONNREFUSED':
      return new DeliveryError('host_unreachable', `Nothing accepts connections at ${where} (connection refused): the SIEM's collector may be stopped, or the address or port is wrong.`, { cause });
    case 'ENOTFOUND':
    case 'EAI_NONAME':
    case 'EAI_FAIL':
      return new DeliveryError('host_unreachable', `The SIEM's host name ${hostOf(where)} is not known to DNS: check the destination's address and this workstation's network.`, { cause });
    case 'EAI_AGAIN':
      return new DeliveryError('host_unreachable', `The SIEM's host name ${hostOf(where)} could not be looked up (DNS did not answer): this workstation may be offline.`, { cause });
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'ENETDOWN':
    case 'EADDRNOTAVAIL':
      return new DeliveryError('host_unreachable', `There is no route to the SIEM at ${where} (${code}): this workstation may be offline.`, { cause });
    case 'ETIMEDOUT':
    case 'ESOCKETTIMEDOUT':
      return new DeliveryError('timeout', `The SIEM at ${where} did not answer in time (${code}): the network may be down, or a firewall is dropping the connection.`, { cause });
    case 'ERR_TLS_HANDSHAKE_TIMEOUT':
      return new DeliveryError('timeout', `The SIEM at ${where} accepted the connection but did not complete the TLS handshake in time.`, { cause });
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
    case 'ERR_STREAM_PREMATURE_CLOSE':
      return resetError(code, context, cause);
  }
  const alert = ALERT_CODE.exec(code)?.[1];
  if (alert) return alertError(alert, context, cause);
  if (code.startsWith('CERT_') || code.startsWith('ERR_TLS_CERT')) {
    return new DeliveryError('certificate_rejected', `The SIEM's certificate (${where}) was refused (${code}). ${checkCaFile(context)}`, { cause });
  }
  const text = errorText(error);
  return new DeliveryError('connection_reset', `The connection to the SIEM at ${where} failed before the batch was confirmed: ${text}${code && !text.includes(code) ? ` (${code})` : ''}.`, { cause });
}

/**
 * The receiver closed the connection right after the TLS handshake, before it
 * took any data and without a TLS alert. rsyslog (GnuTLS) checks the client
 * certificate only after the handshake has completed on both sides (with TLS
 * 1.2 as well as 1.3) and then simply closes the connection, so this is how a
 * missing, untrusted or unpermitted client certificate shows on our side.
 */
export function refusedAfterHandshake(context: ConnectionContext, cause?: unknown): DeliveryError {
  return new DeliveryError(
    'client_certificate_rejected',
    context.clientCertFile
      ? `The SIEM at ${context.address} closed the connection right after the TLS handshake, before accepting any data: it most likely refused this workstation's client certificate (${context.clientCertFile}) as not issued by a CA it trusts, expired, or not among its permitted peers.`
      : `The SIEM at ${context.address} closed the connection right after the TLS handshake, before accepting any data: it most likely requires a client certificate. Set the destination's clientCertFile and clientKeyFile.`,
    cause === undefined ? undefined : { cause },
  );
}

// --- The files a destination names -----------------------------------------------------------------

/** The trust anchors and client credentials of a destination, read from the files policy names. */
export interface TlsMaterial {
  /** A secure context with TLS 1.2 as the floor, the CA (or this computer's trust store) and the client certificate. */
  secureContext: tls.SecureContext;
  /** The caFile the receiver's certificate is checked against; undefined: this computer's trust store. */
  caFile: string | undefined;
  /** The client certificate we present; undefined: we present none. */
  clientCertFile: string | undefined;
}

/** What loadTlsMaterial reads of a destination (every SIEM destination type has these). */
export type TlsFiles = Pick<SiemDestination, 'id' | 'caFile' | 'clientCertFile' | 'clientKeyFile'>;

type TlsSetting = 'caFile' | 'clientCertFile' | 'clientKeyFile';

function configurationError(message: string, cause?: unknown): DeliveryError {
  return new DeliveryError('configuration', message, cause === undefined ? undefined : { cause });
}

async function readPolicyFile(destination: TlsFiles, setting: TlsSetting): Promise<Buffer | undefined> {
  const path = destination[setting];
  if (!path) return undefined;
  try {
    // A regular file of at most 4 MiB: a FIFO or a device named here must not stall or flood the sender.
    return await readLimitedFile(path, { maxBytes: FILE_SIZE_LIMITS.pem });
  } catch (error) {
    const code = error instanceof UnreadableFileError ? error.errno : errorCode(error);
    const why =
      code === 'ENOENT' || code === 'ENOTDIR'
        ? 'the file does not exist'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied: Enclave must be able to read it'
          : code === 'EISDIR'
            ? 'it is a folder, not a file'
            : error instanceof UnreadableFileError
              ? `it ${error.problem}`
              : errorText(error);
    throw configurationError(`The ${setting} of SIEM destination "${destination.id}" cannot be read: ${path} (${why}).`, error);
  }
}

/**
 * Without a caFile, policy promises the operating system's trust store (where
 * IT installs the institution's CA). Node 22.15+ (and so Electron) can list it
 * next to Node's built-in CAs; on an older Node this returns undefined and
 * Node's built-in CA list applies.
 */
function systemCaCertificates(): string[] | undefined {
  const getCa = (tls as unknown as { getCACertificates?: (type: 'default' | 'system') => string[] }).getCACertificates;
  if (!getCa) return undefined;
  try {
    return [...getCa('default'), ...getCa('system')];
  } catch {
    return undefined;
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Node accepts a CA file without a single certificate in it (and then trusts nothing): refuse it here, naming it. */
function checkCaCertificates(destination: TlsFiles, ca: Buffer): void {
  const blocks = ca.toString('latin1').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    throw configurationError(`The caFile of SIEM destination "${destination.id}" (${destination.caFile}) holds no PEM certificate ("-----BEGIN CERTIFICATE-----").`);
  }
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (error) {
      throw configurationError(`The caFile of SIEM destination "${destination.id}" (${destination.caFile}) holds a damaged certificate (${errorText(error)}).`, error);
    }
  }
  try {
    tls.createSecureContext({ minVersion: MIN_TLS_VERSION, ca });
  } catch (error) {
    throw configurationError(`The caFile of SIEM destination "${destination.id}" (${destination.caFile}) holds no certificate Enclave can use (${errorText(error)}).`, error);
  }
}

/** The client certificate is PEM, the key is readable without a passphrase, and the key is the certificate's. */
function checkClientPair(destination: TlsFiles, cert: Buffer, key: Buffer): void {
  const { clientCertFile, clientKeyFile } = destination;
  const unusable = (why: string, cause?: unknown): DeliveryError => configurationError(`The client certificate of SIEM destination "${destination.id}" cannot be used: ${why}.`, cause);
  const first = cert.toString('latin1').match(PEM_CERTIFICATE)?.[0];
  if (!first) throw unusable(`${clientCertFile} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(first);
  } catch (error) {
    throw unusable(`${clientCertFile} holds a damaged certificate (${errorText(error)})`, error);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    const text = errorText(error);
    throw /passphrase|bad decrypt|encrypted/i.test(text)
      ? unusable(`${clientKeyFile} is protected by a passphrase; Enclave needs the key without one (readable only by the Enclave service account)`, error)
      : unusable(`${clientKeyFile} holds no PEM private key Enclave can read (${text})`, error);
  }
  if (!certificate.checkPrivateKey(privateKey)) throw unusable(`the key in ${clientKeyFile} is not the key of the certificate in ${clientCertFile}`);
}

/**
 * Reads the destination's caFile, clientCertFile and clientKeyFile now (at
 * send time, so a file IT fixes is used by the next attempt without a
 * restart) and builds the TLS context: TLS 1.2 or later, the caFile or else
 * this computer's trust store, our client certificate when policy names one.
 * A file that cannot be read, or does not hold what it should, is a
 * 'configuration' error that names it.
 */
export async function loadTlsMaterial(destination: TlsFiles): Promise<TlsMaterial> {
  const [ca, cert, key] = await Promise.all([readPolicyFile(destination, 'caFile'), readPolicyFile(destination, 'clientCertFile'), readPolicyFile(destination, 'clientKeyFile')]);
  if ((cert === undefined) !== (key === undefined)) {
    throw configurationError(`SIEM destination "${destination.id}" sets only one of clientCertFile and clientKeyFile; mutual TLS needs both.`);
  }
  // Checked one by one so that a bad file can be named; then the context is built from all of them.
  if (ca) checkCaCertificates(destination, ca);
  if (cert && key) checkClientPair(destination, cert, key);
  const trust = ca ?? systemCaCertificates();
  try {
    const secureContext = tls.createSecureContext({ minVersion: MIN_TLS_VERSION, ...(trust ? { ca: trust } : {}), ...(cert && key ? { cert, key } : {}) });
    return { secureContext, caFile: destination.caFile || undefined, clientCertFile: cert ? destination.clientCertFile : undefined };
  } catch (error) {
    throw configurationError(
      cert
        ? `The client certificate of SIEM destination "${destination.id}" cannot be used: ${destination.clientCertFile} and ${destination.clientKeyFile} must hold a PEM certificate and its private key (${errorText(error)}).`
        : `The TLS settings of SIEM destination "${destination.id}" cannot be used (${errorText(error)}).`,
      error,
    );
  }
}
