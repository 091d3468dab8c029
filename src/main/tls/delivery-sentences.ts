// The sentences of the network and TLS failures of a SIEM delivery (see
// errors.ts): for the status bar, the audit record of the outage and the IT
// admin who reads them. They name the receiver, the destination's caFile and
// clientCertFile, and the setting that fixes it.
import type { Condition, DeliveryContext } from './errors.js';

/** OpenSSL's verify results for an untrusted chain, in words. */
const UNTRUSTED_CHAIN: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'signed by an unknown CA',
  UNABLE_TO_GET_ISSUER_CERT: 'signed by an unknown CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'signed by an unknown CA',
  SELF_SIGNED_CERT_IN_CHAIN: 'signed by an unknown CA',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'it is self-signed',
  CERT_UNTRUSTED: 'its CA is not trusted for this purpose',
  INVALID_PURPOSE: 'it is not meant for a TLS server',
  INVALID_CA: 'a certificate in its chain is not a CA',
  CERT_SIGNATURE_FAILURE: 'its signature does not verify',
  CERT_CHAIN_TOO_LONG: 'its chain is too long',
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: 'its signature cannot be read',
};

const SET_CLIENT_CERT = "set the destination's clientCertFile and clientKeyFile to this workstation's certificate and key";
const LESS_OFTEN_NO_CIPHER = 'Less often, the SIEM and Enclave share no TLS 1.2+ cipher.';

function hostOf(address: string): string {
  const colon = address.lastIndexOf(':');
  return colon > 0 ? address.slice(0, colon) : address;
}

function checkCaFile(context: DeliveryContext): string {
  return context.caFile
    ? `Check the destination's caFile (${context.caFile}): it must hold the CA that issued the SIEM's certificate.`
    : "No caFile is set, so only this computer's trusted CAs are accepted. Set the destination's caFile to the CA that issued the SIEM's certificate.";
}

function alertWords(alert: string): string {
  return alert.toLowerCase().replace(/_/g, ' ');
}

/** The peer ended the TLS session with an alert about our client certificate. */
function clientCertificateRefused(alert: string, context: DeliveryContext): string {
  const where = `The SIEM at ${context.address}`;
  const ours = context.clientCertFile;
  switch (alert) {
    case 'CERTIFICATE_REQUIRED':
      return `${where} requires a client certificate and none was sent: ${SET_CLIENT_CERT}.`;
    case 'UNKNOWN_CA':
      return ours
        ? `${where} refused our client certificate (mutual TLS): it does not trust the CA that issued ${ours}. Its administrator must trust that CA, or this workstation needs a certificate from a CA it trusts.`
        : `${where} refused the connection (unknown CA): it probably requires a client certificate; ${SET_CLIENT_CERT}.`;
    case 'CERTIFICATE_EXPIRED':
      return `${where} refused our client certificate (mutual TLS) as expired: replace ${ours ?? 'it'} with a new one.`;
    case 'CERTIFICATE_REVOKED':
      return `${where} refused our client certificate (mutual TLS) as revoked: replace ${ours ?? 'it'} with a new one.`;
    case 'HANDSHAKE_FAILURE':
      return ours
        ? `${where} ended the TLS handshake (handshake failure) after we offered our client certificate (${ours}): it most likely refused it (mutual TLS). Check that it trusts the CA that issued the certificate. ${LESS_OFTEN_NO_CIPHER}`
        : `${where} ended the TLS handshake (handshake failure): it most likely requires a client certificate (mutual TLS); ${SET_CLIENT_CERT}. ${LESS_OFTEN_NO_CIPHER}`;
    default:
      // BAD_CERTIFICATE, UNSUPPORTED_CERTIFICATE, CERTIFICATE_UNKNOWN, ACCESS_DENIED
      return ours
        ? `${where} refused our client certificate (mutual TLS): ${alertWords(alert)} (${ours}). Check that it trusts the CA that issued the certificate and that this workstation is among its permitted peers.`
        : `${where} refused the connection (${alertWords(alert)}): it probably requires a client certificate; ${SET_CLIENT_CERT}.`;
  }
}

/** The receiver reset or broke off the connection (ECONNRESET, EPIPE, "socket hang up"), by how far it had got. */
function reset(code: string, context: DeliveryContext): string {
  const where = context.address;
  const ours = context.clientCertFile;
  switch (context.stage) {
    case 'handshake':
      return `The connection to the SIEM at ${where} was reset during the TLS handshake (${code}): the port may not speak TLS, or ${ours ? `the SIEM may not trust our client certificate (${ours})` : 'the SIEM refused this workstation (it may require a client certificate)'}.`;
    case 'unconfirmed':
      return `The SIEM at ${where} broke off the connection before the batch was confirmed (${code}); it will be sent again.${
        ours ? ` If the SIEM requires mutual TLS, it may not trust our client certificate (${ours}): check that it trusts the CA that issued it.` : ''
      }`;
    case 'accepted':
      return `The SIEM at ${where} broke off the connection before the batch was confirmed (${code}); it will be sent again.`;
    default:
      return `The connection to the SIEM at ${where} broke before the batch was confirmed (${code}); it will be sent again.`;
  }
}

export function deliverySentence(condition: Condition, context: DeliveryContext): string {
  const { nodeCode: code, text } = condition;
  const where = context.address;
  switch (condition.code) {
    case 'server_certificate_untrusted':
      return `The SIEM's certificate is not trusted (${UNTRUSTED_CHAIN[code] ?? code}). ${checkCaFile(context)}`;
    case 'server_certificate_name_mismatch':
      return `The SIEM's certificate is not for ${hostOf(where)} (${text}). Check the destination's address: it must be a name or IP address the certificate lists.`;
    case 'server_certificate_expired':
      return `The SIEM's certificate (${where}) has expired: the SIEM's administrator must renew it.`;
    case 'server_certificate_not_yet_valid':
      return `The SIEM's certificate (${where}) is not valid yet: check this workstation's date and time.`;
    case 'server_certificate_revoked':
      return `The SIEM's certificate (${where}) has been revoked: the SIEM's administrator must replace it.`;
    case 'server_certificate_refused':
      return `The SIEM's certificate (${where}) was refused (${code}). ${checkCaFile(context)}`;
    case 'client_certificate_refused':
      return clientCertificateRefused(condition.alert ?? '', context);
    case 'closed_after_handshake':
      return context.clientCertFile
        ? `The SIEM at ${where} closed the connection right after the TLS handshake, before accepting any data: it most likely refused this workstation's client certificate (${context.clientCertFile}) as not issued by a CA it trusts, expired, or not among its permitted peers.`
        : `The SIEM at ${where} closed the connection right after the TLS handshake, before accepting any data: it most likely requires a client certificate. Set the destination's clientCertFile and clientKeyFile.`;
    case 'no_common_tls_version':
      return `The SIEM at ${where} and Enclave share no TLS version: Enclave needs TLS 1.2 or later, so the SIEM's administrator must turn on TLS 1.2 or 1.3 there.`;
    case 'tls_alert':
      return `The SIEM at ${where} ended the TLS connection (TLS alert: ${alertWords(condition.alert ?? '')}).`;
    case 'not_tls':
      return `The SIEM at ${where} does not speak TLS 1.2 or later on that port (${code}): is it a plain-text port, or is TLS off on the receiver? Enclave delivers only over TLS.`;
    case 'connection_refused':
      return `Nothing accepts connections at ${where} (connection refused): the SIEM's collector may be stopped, or the address or port is wrong.`;
    case 'host_unknown':
      return `The SIEM's host name ${hostOf(where)} is not known to DNS: check the destination's address and this workstation's network.`;
    case 'dns_unavailable':
      return `The SIEM's host name ${hostOf(where)} could not be looked up (DNS did not answer): this workstation may be offline.`;
    case 'no_route':
      return `There is no route to the SIEM at ${where} (${code}): this workstation may be offline.`;
    case 'timeout':
      return `The SIEM at ${where} did not answer in time (${code}): the network may be down, or a firewall is dropping the connection.`;
    case 'tls_handshake_timeout':
      return `The SIEM at ${where} accepted the connection but did not complete the TLS handshake in time.`;
    case 'connection_reset':
      return reset(code, context);
    case 'other':
      return `The connection to the SIEM at ${where} failed before the batch was confirmed: ${text}${code && !text.includes(code) ? ` (${code})` : ''}.`;
  }
}
