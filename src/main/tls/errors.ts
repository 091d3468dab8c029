// The one classifier of network and TLS failures: a Node socket, TLS or HTTPS
// request error (Node reports the same codes for all three), or OpenSSL's
// verdict on a peer's certificate, becomes a stable code and one sentence an
// IT admin can act on. The code says what happened, for programs (the SIEM
// outbox maps it onto its delivery codes); the sentence says it for people,
// worded for where it is read:
//   - 'siem-delivery': a SIEM transport's failure, in the status bar, the
//     audit record of the outage and the outbox (delivery-sentences.ts);
//   - 'doctor-probe': a line of `enclave doctor` (probe-sentences.ts).
// Which condition an error is, is decided here only; the two wordings differ
// because their readers do (the doctor names the setting and the certificate
// it read; delivery names the destination's files), never in what they
// recognise.
import type { X509Certificate } from 'node:crypto';
import { deliverySentence } from './delivery-sentences.js';
import { probeSentence } from './probe-sentences.js';

/** What went wrong, in words that do not change between releases. */
export type NetworkFailureCode =
  /** The peer's certificate does not chain to a CA trusted here. */
  | 'server_certificate_untrusted'
  /** The peer's certificate does not name the host asked for. */
  | 'server_certificate_name_mismatch'
  | 'server_certificate_expired'
  | 'server_certificate_not_yet_valid'
  | 'server_certificate_revoked'
  /** Another verdict of OpenSSL on the peer's certificate. */
  | 'server_certificate_refused'
  /** The peer ended the handshake with an alert about our client certificate (or its absence). */
  | 'client_certificate_refused'
  /** The peer hung up right after the handshake without a word: how rsyslog refuses a client certificate. */
  | 'closed_after_handshake'
  /** The peer offers only TLS versions below 1.2. */
  | 'no_common_tls_version'
  /** Another TLS alert from the peer. */
  | 'tls_alert'
  /** The peer does not speak TLS on that port. */
  | 'not_tls'
  | 'connection_refused'
  /** DNS does not know the host name. */
  | 'host_unknown'
  /** DNS did not answer. */
  | 'dns_unavailable'
  | 'no_route'
  | 'timeout'
  /** Connected, but the TLS handshake did not finish in time. */
  | 'tls_handshake_timeout'
  /** The peer reset or broke off the connection. */
  | 'connection_reset'
  | 'other';

/**
 * How far a connection had got when it failed:
 * - 'handshake': the TLS handshake had not completed;
 * - 'unconfirmed': it had, but the peer had not yet shown that it accepted
 *   us (a TLS 1.3 peer judges our client certificate after the handshake,
 *   and may just hang up);
 * - 'accepted': it had answered (HTTP), or let the syslog refusal window pass.
 */
export type ConnectionStage = 'handshake' | 'unconfirmed' | 'accepted';

/** A failed delivery to a SIEM: what its sentence may name. */
export interface DeliveryContext {
  for: 'siem-delivery';
  /** `host:port` of the receiver. */
  address: string;
  /** The destination's caFile, when policy sets one (else this computer's trust store is used). */
  caFile?: string | undefined;
  /** The client certificate we present (the destination's clientCertFile), when policy sets one. */
  clientCertFile?: string | undefined;
  /** Where the connection was when the error came; unknown when left out. */
  stage?: ConnectionStage | undefined;
}

/** A failed doctor probe: what its line may name. */
export interface ProbeContext {
  for: 'doctor-probe';
  host: string;
  port: number;
  /** Absent for a plain TCP probe. */
  tls?:
    | {
        /** The policy key the files are set under ("directory", "siem.destinations[0]"). */
        settings: string;
        caFile: string | undefined;
        /** The client certificate read from policy's clientCertFile, when one is set. */
        clientCert: X509Certificate | undefined;
        /** The peer's certificate, when the handshake got that far. */
        peer?: X509Certificate | undefined;
      }
    | undefined;
  stage?: ConnectionStage | undefined;
}

export type FailureContext = DeliveryContext | ProbeContext;

/** What an error was, for the sentence writers. */
export interface Condition {
  code: NetworkFailureCode;
  /** Node's error code, or OpenSSL's verify result; '' when there was none. */
  nodeCode: string;
  /** The TLS alert's name (UNKNOWN_CA) for client_certificate_refused, no_common_tls_version by alert, and tls_alert. */
  alert?: string | undefined;
  /** The error's own message. */
  text: string;
  /** The error's code as Node gave it (EPROTO where nodeCode is read from OpenSSL's message). */
  rawCode: string;
}

export interface NetworkFailure {
  code: NetworkFailureCode;
  /** Node's error code, or OpenSSL's verify result; '' when there was none. */
  nodeCode: string;
  /** One sentence for the reader `context.for` names. */
  sentence: string;
}

/** OpenSSL's verify results for a peer's chain that does not lead to a CA trusted here. */
export const UNTRUSTED_CHAIN_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  // The peer sent its whole chain, and the root at its end is not one we trust.
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'INVALID_PURPOSE',
  'INVALID_CA',
  'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
]);

/** Node's codes (and OpenSSL's verify results) for a certificate that does not name the host we asked for. */
const NAME_MISMATCH = new Set(['ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH', 'IP_ADDRESS_MISMATCH']);

/** The peer does not speak TLS on that port: a plain-text port, or TLS switched off. */
const NOT_TLS = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_RECORD_LAYER_FAILURE', 'ERR_SSL_HTTP_REQUEST']);

/** We refused the only TLS versions the peer offers (below 1.2). */
const NO_COMMON_VERSION = new Set(['ERR_SSL_UNSUPPORTED_PROTOCOL', 'ERR_SSL_NO_PROTOCOLS_AVAILABLE']);

/** TLS alerts that are the peer's verdict on our client certificate (or on its absence). */
const CLIENT_CERTIFICATE_ALERTS = new Set([
  'CERTIFICATE_REQUIRED',
  'UNKNOWN_CA',
  'BAD_CERTIFICATE',
  'UNSUPPORTED_CERTIFICATE',
  'CERTIFICATE_UNKNOWN',
  'ACCESS_DENIED',
  'CERTIFICATE_EXPIRED',
  'CERTIFICATE_REVOKED',
  // A TLS 1.2 peer that requires a client certificate says handshake_failure when it refuses
  // ours or gets none; sharing no cipher is rare, as Node offers every current TLS 1.2+ suite.
  'HANDSHAKE_FAILURE',
]);

const BY_CODE: Record<string, NetworkFailureCode> = {
  CERT_HAS_EXPIRED: 'server_certificate_expired',
  CERT_NOT_YET_VALID: 'server_certificate_not_yet_valid',
  CERT_REVOKED: 'server_certificate_revoked',
  ECONNREFUSED: 'connection_refused',
  ENOTFOUND: 'host_unknown',
  EAI_NONAME: 'host_unknown',
  EAI_FAIL: 'host_unknown',
  EAI_AGAIN: 'dns_unavailable',
  EHOSTUNREACH: 'no_route',
  ENETUNREACH: 'no_route',
  EHOSTDOWN: 'no_route',
  ENETDOWN: 'no_route',
  EADDRNOTAVAIL: 'no_route',
  ETIMEDOUT: 'timeout',
  ESOCKETTIMEDOUT: 'timeout',
  ERR_TLS_HANDSHAKE_TIMEOUT: 'tls_handshake_timeout',
  ECONNRESET: 'connection_reset',
  EPIPE: 'connection_reset',
  ECONNABORTED: 'connection_reset',
  ERR_STREAM_PREMATURE_CLOSE: 'connection_reset',
};

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

/** Which condition a Node error is. */
function conditionOf(error: unknown): Condition {
  const nodeCode = effectiveCode(error);
  const text = errorText(error);
  const is = (code: NetworkFailureCode, alert?: string): Condition => ({ code, nodeCode, alert, text, rawCode: errorCode(error) });
  if (UNTRUSTED_CHAIN_CODES.has(nodeCode)) return is('server_certificate_untrusted');
  if (NAME_MISMATCH.has(nodeCode)) return is('server_certificate_name_mismatch');
  if (NOT_TLS.has(nodeCode)) return is('not_tls');
  if (NO_COMMON_VERSION.has(nodeCode)) return is('no_common_tls_version');
  const known = BY_CODE[nodeCode];
  if (known) return is(known);
  const alert = ALERT_CODE.exec(nodeCode)?.[1];
  if (alert) {
    if (alert === 'PROTOCOL_VERSION') return is('no_common_tls_version', alert);
    return is(CLIENT_CERTIFICATE_ALERTS.has(alert) ? 'client_certificate_refused' : 'tls_alert', alert);
  }
  if (nodeCode.startsWith('CERT_') || nodeCode.startsWith('ERR_TLS_CERT')) return is('server_certificate_refused');
  return is('other');
}

function sentenceFor(condition: Condition, context: FailureContext): string {
  return context.for === 'siem-delivery' ? deliverySentence(condition, context) : probeSentence(condition, context);
}

/** A socket, TLS or HTTPS request error: what it was, and one sentence about it for `context.for`. */
export function classifyNetworkError(error: unknown, context: FailureContext): NetworkFailure {
  const condition = conditionOf(error);
  return { code: condition.code, nodeCode: condition.nodeCode, sentence: sentenceFor(condition, context) };
}

/**
 * OpenSSL's verdict on a peer certificate (socket.authorizationError's code,
 * for a socket opened with rejectUnauthorized: false and judged afterwards).
 * Always a server_certificate_* code.
 */
export function classifyCertificateVerdict(verifyCode: string, context: FailureContext): NetworkFailure {
  const code: NetworkFailureCode = UNTRUSTED_CHAIN_CODES.has(verifyCode)
    ? 'server_certificate_untrusted'
    : verifyCode === 'CERT_HAS_EXPIRED' || verifyCode === 'CERT_NOT_YET_VALID' || verifyCode === 'CERT_REVOKED'
      ? BY_CODE[verifyCode]!
      : 'server_certificate_refused';
  const condition: Condition = { code, nodeCode: verifyCode, text: verifyCode, rawCode: verifyCode };
  return { code, nodeCode: verifyCode, sentence: sentenceFor(condition, context) };
}

/**
 * The peer closed the connection right after the TLS handshake, before it
 * took any data and without a TLS alert. rsyslog (GnuTLS) checks the client
 * certificate only after the handshake has completed on both sides (with TLS
 * 1.2 as well as 1.3) and then simply closes the connection, so this is how a
 * missing, untrusted or unpermitted client certificate shows on our side.
 */
export function closedAfterHandshake(context: FailureContext): NetworkFailure {
  const condition: Condition = { code: 'closed_after_handshake', nodeCode: '', text: '', rawCode: '' };
  return { code: condition.code, nodeCode: '', sentence: sentenceFor(condition, context) };
}
