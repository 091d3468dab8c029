// Checking a smart card's certificate offline, the way a domain controller
// checks one at smart-card logon: validity dates, the chain to the
// institution's CA, the required extended key usages and certificate policies,
// the UPN in the subject alternative name, and revocation by CRL of the card
// and of every CA between it and the root (signature checked; dated no later
// than now plus CRL_CLOCK_SKEW_MS; a nextUpdate required; staleness per policy). Node's X509Certificate verifies signatures
// and dates; @peculiar/asn1-x509 reads what Node does not (certificate
// policies, the UPN otherName; CRLs through tls/crl.ts).
import { X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, CertificatePolicies, id_ce_certificatePolicies, id_ce_subjectAltName, SubjectAlternativeName } from '@peculiar/asn1-x509';
import { EnclaveError } from '../../shared/errors.js';
import { certificateSha256, crlRevokes, crlSignedBy, issuerAndSerial, readCrl } from '../tls/index.js';

/** Microsoft's UPN otherName in the subject alternative name. */
export const UPN_OID = '1.3.6.1.4.1.311.20.2.3';

export interface CardCertificatePolicy {
  requiredEkus: readonly string[];
  requiredPolicyOids: readonly string[];
  staleCrl: 'refuse' | 'warn';
  staleCrlGraceHours: number;
}

export interface CheckedCardCertificate {
  upn: string;
  /** SHA-256 of the certificate's DER: what the offline mapping remembers. */
  sha256: string;
  subject: string;
  serialNumber: string;
  /** Set when policy lets a CRL past its nextUpdate through, within the grace period. */
  crlWarning: string | null;
}

function reject(message: string): never {
  throw new EnclaveError('card_rejected', message);
}

function describe(cert: X509Certificate): string {
  return cert.subject.replace(/\n/g, ', ');
}

/** The issuer chain up to a self-signed CA in `cas`, or why there is none. */
function chainToCa(cert: X509Certificate, cas: readonly X509Certificate[], now: Date): X509Certificate[] {
  const chain: X509Certificate[] = [];
  let current = cert;
  for (let depth = 0; depth < 8; depth++) {
    const issuer = cas.find((ca) => ca.ca && current.checkIssued(ca) && current.verify(ca.publicKey));
    if (!issuer) {
      reject(
        depth === 0
          ? `The card's certificate (${describe(cert)}) is not issued by your institution's CA (smartCard.caFiles).`
          : `The card's certificate chain stops at ${describe(current)}, which is not one of your institution's CAs.`,
      );
    }
    if (now < new Date(issuer.validFrom) || now > new Date(issuer.validTo)) reject(`The CA certificate ${describe(issuer)} that issued the card is not valid now.`);
    chain.push(issuer);
    // A self-signed CA in the trusted list ends the chain.
    if (issuer.checkIssued(issuer)) return chain;
    current = issuer;
  }
  return reject('The card certificate chain is too long.');
}

function extension<T>(der: Buffer, oid: string, type: new () => T): T | null {
  const parsed = AsnConvert.parse(der, Certificate);
  const found = parsed.tbsCertificate.extensions?.find((e) => e.extnID === oid);
  return found ? AsnConvert.parse(found.extnValue, type) : null;
}

/** The UTF8String inside the UPN otherName ([0] EXPLICIT UTF8String). */
function utf8StringValue(der: ArrayBuffer): string | null {
  const bytes = new Uint8Array(der);
  if (bytes[0] !== 0x0c) return null;
  let length = bytes[1]!;
  let offset = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    length = 0;
    for (let i = 0; i < count; i++) length = (length << 8) | bytes[2 + i]!;
    offset = 2 + count;
  }
  if (offset + length > bytes.length) return null;
  return Buffer.from(bytes.subarray(offset, offset + length)).toString('utf8');
}

export function upnOf(der: Buffer): string | null {
  const san = extension(der, id_ce_subjectAltName, SubjectAlternativeName);
  for (const name of san ?? []) {
    if (name.otherName?.typeId === UPN_OID) {
      const upn = utf8StringValue(name.otherName.value);
      if (upn) return upn;
    }
  }
  return null;
}

function policyOids(der: Buffer): string[] {
  return (extension(der, id_ce_certificatePolicies, CertificatePolicies) ?? []).map((p) => p.policyIdentifier);
}

/**
 * How far a CRL's thisUpdate may lie ahead of this workstation's clock: a CA
 * whose clock runs a little fast, or a workstation's a little slow. Anything
 * further ahead is a CRL from the future (a wrong clock on one side, or a
 * CRL made to outlive its time), and is refused.
 */
export const CRL_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Revocation of `der` (the card's certificate, or a CA certificate in its
 * chain) by its issuer's CRL: fail closed when there is none, refuse one
 * dated in the future or without a nextUpdate, and treat a stale one per
 * policy. Returns a warning when policy lets a stale CRL through.
 */
function checkRevocation(der: Buffer, issuer: X509Certificate, crls: readonly Buffer[], policy: CardCertificatePolicy, now: Date): string | null {
  const cert = issuerAndSerial(der);
  const ca = describe(issuer);
  const candidates = crls.map(readCrl).filter((crl) => crl.issuerDer.equals(cert.issuerDer));
  const signed = candidates.filter((c) => crlSignedBy(c, issuer.publicKey));
  if (signed.length === 0) {
    reject(candidates.length > 0 ? `The CRL for ${ca} does not carry that CA's signature (smartCard.crlFiles).` : `There is no CRL for ${ca} in smartCard.crlFiles, so revocation cannot be checked.`);
  }
  // Several CRLs from one CA (an old one left beside the new): the latest issued counts.
  const crl = signed.reduce((latest, c) => (c.thisUpdate.getTime() > latest.thisUpdate.getTime() ? c : latest));
  const { thisUpdate } = crl;
  if (thisUpdate.getTime() > now.getTime() + CRL_CLOCK_SKEW_MS) {
    reject(
      `The CRL for ${ca} is dated ${thisUpdate.toISOString()} (its thisUpdate), later than this workstation's clock allows; check the clock here, or IT must publish a correctly dated CRL (smartCard.crlFiles).`,
    );
  }
  const { nextUpdate } = crl;
  if (!nextUpdate) reject(`The CRL for ${ca} has no nextUpdate, so Enclave cannot tell whether it is current; IT must publish one that says when the next is due (smartCard.crlFiles).`);
  let warning: string | null = null;
  if (now > nextUpdate) {
    const hoursLate = (now.getTime() - nextUpdate.getTime()) / 3_600_000;
    const stale = `The CRL for ${ca} expired on ${nextUpdate.toISOString()} (its nextUpdate)`;
    if (policy.staleCrl === 'refuse' || hoursLate > policy.staleCrlGraceHours) reject(`${stale}; IT must publish a current one (smartCard.crlFiles).`);
    warning = `${stale}; accepted for up to ${policy.staleCrlGraceHours} hours by policy.`;
  }
  if (crlRevokes(crl, cert.serial)) {
    const subject = new X509Certificate(der);
    if (subject.ca) reject(`The CA certificate ${describe(subject)} that this card's certificate chains through has been revoked by ${ca}. Contact IT.`);
    reject(`This card's certificate (${describe(subject)}) has been revoked. Contact IT.`);
  }
  return warning;
}

/**
 * Revocation of every certificate below the trust anchor: the card's against
 * its issuer's CRL, each intermediate CA's against the CRL of the CA above it.
 * The self-signed root at the top is trusted as configured (smartCard.caFiles).
 */
function checkChainRevocation(der: Buffer, chain: readonly X509Certificate[], crls: readonly Buffer[], policy: CardCertificatePolicy, now: Date): string | null {
  const warnings: string[] = [];
  let subject = der;
  for (const issuer of chain) {
    const warning = checkRevocation(subject, issuer, crls, policy, now);
    if (warning) warnings.push(warning);
    if (issuer.checkIssued(issuer)) break;
    subject = issuer.raw;
  }
  return warnings.length > 0 ? warnings.join(' ') : null;
}

export function checkCardCertificate(der: Buffer, trust: { cas: readonly X509Certificate[]; crls: readonly Buffer[] }, policy: CardCertificatePolicy, now: Date): CheckedCardCertificate {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    return reject('The card holds a certificate that cannot be read.');
  }
  if (now < new Date(cert.validFrom)) reject(`The card's certificate is not valid until ${new Date(cert.validFrom).toISOString()}.`);
  if (now > new Date(cert.validTo)) reject(`The card's certificate expired on ${new Date(cert.validTo).toISOString()}. Ask IT for a renewed card.`);
  const chain = chainToCa(cert, trust.cas, now);
  const ekus = cert.keyUsage ?? [];
  const missingEku = policy.requiredEkus.filter((oid) => !ekus.includes(oid));
  if (missingEku.length > 0) reject(`The card's certificate is not for sign-in: it lacks the extended key usage ${missingEku.join(', ')} (smartCard.requiredEkus).`);
  if (policy.requiredPolicyOids.length > 0 && !policyOids(der).some((oid) => policy.requiredPolicyOids.includes(oid))) {
    reject(`The card's certificate carries none of the certificate policies ${policy.requiredPolicyOids.join(', ')} (smartCard.requiredPolicyOids).`);
  }
  const upn = upnOf(der);
  if (!upn) reject("The card's certificate has no user principal name (UPN) in its subject alternative name, so Enclave cannot tell whose card it is.");
  const crlWarning = checkChainRevocation(der, chain, trust.crls, policy, now);
  return { upn: upn.toLowerCase(), sha256: certificateSha256(der), subject: describe(cert), serialNumber: cert.serialNumber, crlWarning };
}
