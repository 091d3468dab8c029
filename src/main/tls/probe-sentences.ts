// The sentences of the network and TLS failures of a doctor probe (see
// errors.ts): one clause of an `enclave doctor` line, for the IT admin at the
// workstation. They name the certificates the doctor read (subject and issuer)
// and the policy setting that fixes it.
import type { Condition, ProbeContext } from './errors.js';
import { certName, day } from './names.js';

/** OpenSSL's verify results for an untrusted chain, in words; a code not listed reads "certificate refused". */
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

type ProbeTls = NonNullable<ProbeContext['tls']>;

/** Why the server's certificate was refused (the code is OpenSSL's verify result). */
function serverCertificate(condition: Condition, tls: ProbeTls): string {
  const { peer } = tls;
  const code = condition.nodeCode;
  const who = peer ? `${certName(peer.subject)}, issued by ${certName(peer.issuer)}` : 'the server certificate';
  switch (condition.code) {
    case 'server_certificate_expired':
      return `certificate expired on ${peer ? day(new Date(peer.validTo)) : 'an earlier date'} (${who}); the server needs a new certificate`;
    case 'server_certificate_not_yet_valid':
      return `certificate not valid until ${peer ? day(new Date(peer.validFrom)) : 'a later date'} (${who}); check this workstation's clock`;
    case 'server_certificate_revoked':
      return `certificate revoked (${who})`;
  }
  const reason = condition.code === 'server_certificate_untrusted' ? TRUST_REASONS[code] : undefined;
  if (!reason) return `certificate refused (${code}; ${who})`;
  const caSetting = `${tls.settings}.caFile`;
  return tls.caFile
    ? `certificate not trusted (${reason}; ${who}): it does not chain to the CA in ${caSetting} (${tls.caFile}); point ${caSetting} at the CA that issued it`
    : `certificate not trusted (${reason}; ${who}); set ${caSetting} to the PEM file of the CA that issued it`;
}

/** The receiver ended the handshake with a TLS alert: it refused us. */
function alert(name: string, tls: ProbeTls): string {
  const ours = tls.clientCert;
  const sent = ours ? ` ${certName(ours.subject)}, issued by ${certName(ours.issuer)}` : '';
  const words = name.toLowerCase().replace(/_/g, ' ');
  switch (name) {
    case 'CERTIFICATE_REQUIRED':
      return 'the receiver requires a client certificate and none was sent; set clientCertFile and clientKeyFile';
    case 'UNKNOWN_CA':
      return ours ? `client certificate rejected: the receiver does not trust its issuer (unknown CA;${sent})` : 'the receiver refused the handshake (unknown CA)';
    case 'BAD_CERTIFICATE':
    case 'UNSUPPORTED_CERTIFICATE':
    case 'CERTIFICATE_UNKNOWN':
      return ours ? `client certificate rejected (${words};${sent})` : 'the receiver requires a client certificate and none was sent; set clientCertFile and clientKeyFile';
    case 'CERTIFICATE_EXPIRED':
      return `client certificate rejected as expired (${sent.trim()})`;
    case 'CERTIFICATE_REVOKED':
      return `client certificate rejected as revoked (${sent.trim()})`;
    case 'ACCESS_DENIED':
      return `client certificate rejected (access denied;${sent})`;
    case 'HANDSHAKE_FAILURE':
      return ours
        ? 'the receiver ended the handshake (handshake failure): no TLS version or cipher in common, or it refused the client certificate'
        : 'the receiver ended the handshake (handshake failure): no TLS version or cipher in common, or it requires a client certificate (clientCertFile)';
    case 'PROTOCOL_VERSION':
      return 'no TLS version in common with the receiver (Enclave needs TLS 1.2 or later)';
    default:
      return `the receiver ended the handshake (TLS alert: ${words})`;
  }
}

export function probeSentence(condition: Condition, context: ProbeContext): string {
  const { nodeCode: code, text } = condition;
  const where = `${context.host}:${context.port}`;
  const { tls } = context;
  // What Node said, as the doctor always showed an error it had no words for.
  const generic = condition.rawCode ? `${text} (${condition.rawCode})` : text;
  switch (condition.code) {
    case 'connection_refused':
      return `host unreachable: connection refused (${code}); nothing is listening on ${where}, or a firewall rejects it`;
    case 'host_unknown':
    case 'dns_unavailable':
      return `host unreachable: ${context.host} is not known to DNS (${code})`;
    case 'no_route':
      return `host unreachable: no route to ${where} (${code})`;
    case 'timeout':
      return `host unreachable: the connection to ${where} timed out (${code}); a firewall may be dropping it`;
    case 'tls_handshake_timeout':
      return `connected to ${where}, but the TLS handshake did not complete in time (${code})`;
    case 'connection_reset':
      return context.stage !== undefined && context.stage !== 'handshake'
        ? `the receiver closed the connection right after the handshake (${code}); it may have refused the client certificate`
        : `the connection to ${where} was reset during the TLS handshake (${code}); the port may not speak TLS, or the receiver refused this client`;
    case 'not_tls':
      return `${where} did not answer with TLS (${code}); is it a plain-text port?`;
    case 'server_certificate_name_mismatch':
      return `hostname mismatch: ${text}`;
    case 'server_certificate_untrusted':
    case 'server_certificate_expired':
    case 'server_certificate_not_yet_valid':
    case 'server_certificate_revoked':
    case 'server_certificate_refused':
      return tls ? serverCertificate(condition, tls) : generic;
    case 'client_certificate_refused':
    case 'tls_alert':
      return tls && condition.alert ? alert(condition.alert, tls) : generic;
    case 'no_common_tls_version':
      return tls ? alert('PROTOCOL_VERSION', tls) : generic;
    case 'closed_after_handshake':
      return tls?.clientCert
        ? `the receiver closed the connection right after the TLS handshake without giving a reason: it most likely refused the client certificate ${certName(tls.clientCert.subject)}, issued by ${certName(tls.clientCert.issuer)} (does the receiver trust that CA?)`
        : `the receiver closed the connection right after the TLS handshake without giving a reason: it may require a client certificate (set ${tls ? `${tls.settings}.` : ''}clientCertFile and clientKeyFile)`;
    case 'other':
      return generic;
  }
}
