// The names Enclave gives keys and certificates, computed in one place:
//   - a public key's id: SHA-256 of its SubjectPublicKeyInfo (DER), lowercase
//     hex; the audit signing key is named so in manifests and enrolments;
//   - a certificate's fingerprint: SHA-256 of its DER, lowercase hex; what the
//     offline card mapping and the card's content-key wraps remember.
import { createHash, type KeyObject } from 'node:crypto';

/** SHA-256 of the SubjectPublicKeyInfo, from a public KeyObject or the SPKI's DER. */
export function publicKeyId(key: KeyObject | Uint8Array): string {
  const spki = key instanceof Uint8Array ? key : key.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('hex');
}

/** SHA-256 of a certificate's DER. */
export function certificateSha256(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}
