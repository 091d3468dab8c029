// A smart-card PKI with an intermediate CA, and CRLs made to order, for the
// revocation checks (src/main/identity/certificates.ts):
//   root CA "Enclave Test Card Root CA" (self-signed, the trust anchor)
//     -> intermediate "Enclave Test Card Issuing CA"
//        -> card certificate for `upn` (UPN in the SAN, EKU smart-card logon)
// Certificates come from the `openssl` tool (EC P-256, fast). CRLs are built
// and signed here with @peculiar/asn1-x509 and Node's crypto, because openssl
// cannot write a CRL without nextUpdate, and a test needs one.
import { signCsrArgs } from './openssl-args.js';
import { createPrivateKey, sign, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate, CertificateList, RevokedCertificate, TBSCertList, Time, Version } from '@peculiar/asn1-x509';
import { run } from './test-pki.js';

export const SMART_CARD_LOGON = '1.3.6.1.4.1.311.20.2.2';
const UPN_OID = '1.3.6.1.4.1.311.20.2.3';
const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';

export interface CardChain {
  dir: string;
  rootFile: string;
  rootKeyFile: string;
  intermediateFile: string;
  intermediateKeyFile: string;
  /** DER of the card's certificate. */
  cardDer: Buffer;
  root: X509Certificate;
  intermediate: X509Certificate;
}

export async function makeCardChain(dir: string, upn: string): Promise<CardChain> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const config = join(dir, 'openssl.cnf');
  await writeFile(
    config,
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      'CN = placeholder',
      '[v3_ca]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid, issuer',
      '[v3_card]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature',
      `extendedKeyUsage = ${SMART_CARD_LOGON}, clientAuth`,
      'subjectAltName = @san',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid, issuer',
      '[san]',
      `otherName = ${UPN_OID};UTF8:${upn}`,
      '',
    ].join('\n'),
  );
  const env = { ...process.env, OPENSSL_CONF: config };
  const path = (name: string) => join(dir, name);
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-sha256', '-config', config];
  await run(
    'openssl',
    ['req', '-x509', ...key, '-extensions', 'v3_ca', '-days', '3650', '-subj', '/O=Enclave tests/CN=Enclave Test Card Root CA', '-keyout', path('root.key'), '-out', path('root.pem')],
    env,
  );
  const issue = async (name: string, subject: string, issuer: string, extensions: string, serial: string) => {
    await run('openssl', ['req', '-new', ...key, '-subj', subject, '-keyout', path(`${name}.key`), '-out', path(`${name}.csr`)], env);
    await run('openssl', signCsrArgs({ csr: path(`${name}.csr`), caCert: path(`${issuer}.pem`), caKey: path(`${issuer}.key`), serial, config, extensions, out: path(`${name}.pem`) }), env);
  };
  await issue('intermediate', '/O=Enclave tests/CN=Enclave Test Card Issuing CA', 'root', 'v3_ca', '0x1001');
  await issue('card', '/O=Enclave tests/OU=People/CN=Ivy Intermediate', 'intermediate', 'v3_card', '0x2002');
  const card = new X509Certificate(readFileSync(path('card.pem')));
  return {
    dir,
    rootFile: path('root.pem'),
    rootKeyFile: path('root.key'),
    intermediateFile: path('intermediate.pem'),
    intermediateKeyFile: path('intermediate.key'),
    cardDer: card.raw,
    root: new X509Certificate(readFileSync(path('root.pem'))),
    intermediate: new X509Certificate(readFileSync(path('intermediate.pem'))),
  };
}

/** A CRL (DER) from `issuer`, signed with `issuerKeyFile` (EC or RSA), revoking the certificates given by DER. */
export function signedCrl(options: { issuer: X509Certificate; issuerKeyFile: string; thisUpdate: Date; nextUpdate: Date | null; revoke?: Buffer[] }): Buffer {
  const issuerName = AsnConvert.parse(options.issuer.raw, Certificate).tbsCertificate.subject;
  const key = createPrivateKey(readFileSync(options.issuerKeyFile));
  // RSA's AlgorithmIdentifier carries an explicit NULL; ECDSA's carries nothing.
  const algorithm = key.asymmetricKeyType === 'rsa' ? new AlgorithmIdentifier({ algorithm: SHA256_WITH_RSA, parameters: null }) : new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 });
  const revoked = (options.revoke ?? []).map(
    (der) => new RevokedCertificate({ userCertificate: AsnConvert.parse(der, Certificate).tbsCertificate.serialNumber, revocationDate: new Time(new Date(options.thisUpdate.getTime() - 60_000)) }),
  );
  const tbs = new TBSCertList({
    version: Version.v2,
    signature: algorithm,
    issuer: issuerName,
    thisUpdate: new Time(options.thisUpdate),
    ...(options.nextUpdate ? { nextUpdate: new Time(options.nextUpdate) } : {}),
    ...(revoked.length > 0 ? { revokedCertificates: revoked } : {}),
  });
  const signature = sign('sha256', Buffer.from(AsnConvert.serialize(tbs)), key);
  const crl = new CertificateList({ tbsCertList: tbs, signatureAlgorithm: algorithm, signature: new Uint8Array(signature).buffer });
  return Buffer.from(AsnConvert.serialize(crl));
}
