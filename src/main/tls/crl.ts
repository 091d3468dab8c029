// Certificate revocation lists (RFC 5280 section 5), read with
// @peculiar/asn1-x509: the issuer, thisUpdate and nextUpdate, the revoked
// serial numbers, and whether a CA's key signed it. What to make of a CRL
// (too new, stale, missing) is the caller's policy: sign-in
// (identity/certificates.ts) and the doctor judge it the same way.
import { verify as verifySignature, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, CertificateList } from '@peculiar/asn1-x509';
import { derFromPemOrDer } from './pem.js';

export interface Crl {
  /** The issuer's Name as DER, to compare with a certificate's issuer byte for byte. */
  issuerDer: Buffer;
  thisUpdate: Date;
  /** Null when the CRL states none (Enclave refuses such a CRL). */
  nextUpdate: Date | null;
  /** The serial numbers it revokes, as their DER INTEGER contents. */
  revokedSerials: Buffer[];
  /** The parsed list, for the signature check. */
  list: CertificateList;
}

/** The CRL could not be read: not DER or PEM of an X.509 CRL. */
export class UnreadableCrlError extends Error {
  /** What the ASN.1 parser found wrong. */
  readonly detail: string;
  constructor(detail: string, options?: { cause?: unknown }) {
    super(`not an X.509 CRL (${detail})`, options);
    this.name = 'UnreadableCrlError';
    this.detail = detail;
  }
}

/** A CRL file's bytes, DER or PEM ("-----BEGIN X509 CRL-----"). Throws UnreadableCrlError. */
export function readCrl(bytes: Buffer): Crl {
  let list: CertificateList;
  try {
    list = AsnConvert.parse(derFromPemOrDer(bytes, 'X509 CRL'), CertificateList);
  } catch (error) {
    throw new UnreadableCrlError(error instanceof Error ? error.message : String(error), { cause: error });
  }
  const tbs = list.tbsCertList;
  return {
    issuerDer: Buffer.from(AsnConvert.serialize(tbs.issuer)),
    thisUpdate: tbs.thisUpdate.getTime(),
    nextUpdate: tbs.nextUpdate ? tbs.nextUpdate.getTime() : null,
    revokedSerials: (tbs.revokedCertificates ?? []).map((entry) => Buffer.from(entry.userCertificate)),
    list,
  };
}

/** The hash of the CRL signature algorithms CAs use (RSA PKCS#1 v1.5 and ECDSA with SHA-2). */
const SIGNATURE_HASH: Record<string, string> = {
  '1.2.840.113549.1.1.11': 'sha256', // sha256WithRSAEncryption
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.2': 'sha256', // ecdsa-with-SHA256
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};

/** Did `key` (the issuing CA's public key) sign this CRL? False for an algorithm not listed above. */
export function crlSignedBy(crl: Crl, key: KeyObject): boolean {
  const hash = SIGNATURE_HASH[crl.list.signatureAlgorithm.algorithm];
  if (!hash) return false;
  return verifySignature(hash, Buffer.from(AsnConvert.serialize(crl.list.tbsCertList)), key, Buffer.from(crl.list.signature));
}

/** The issuer Name and serial number of a certificate (DER), as a CRL names them. */
export function issuerAndSerial(certificateDer: Buffer): { issuerDer: Buffer; serial: Buffer } {
  const tbs = AsnConvert.parse(certificateDer, Certificate).tbsCertificate;
  return { issuerDer: Buffer.from(AsnConvert.serialize(tbs.issuer)), serial: Buffer.from(tbs.serialNumber) };
}

/** Is the certificate with this serial (DER INTEGER contents) on the CRL? */
export function crlRevokes(crl: Crl, serial: Buffer): boolean {
  return crl.revokedSerials.some((revoked) => revoked.equals(serial));
}
