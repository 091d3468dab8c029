// PKI and TLS for every connection Enclave opens and every certificate file it
// reads: LDAPS/StartTLS to the domain controllers (identity), syslog over TLS
// and HTTPS to the SIEM (siem/transports), the smart card's CA and CRL files
// (identity), and `enclave doctor`, which checks all of them ahead of time.
//   client.ts       TLS client options that always verify, TLS 1.2 or later
//   pem.ts          PEM bundles split and read (certificates, CRLs)
//   crl.ts          a CRL read through @peculiar/asn1-x509, its signature checked
//   material.ts     CA, client certificate and key files checked and loaded
//   errors.ts       the one classifier of network and TLS errors: a code and a sentence
//   key-id.ts       a public key's id and a certificate's fingerprint
//   names.ts        a certificate named for people
export { MIN_TLS_VERSION, verifiedClientTls, type ClientTlsChoices } from './client.js';
export { certificatesFromPem, certificatesFromPemOrDer, derFromPemOrDer, pemBlocks, type PemLabel } from './pem.js';
export { crlRevokes, crlSignedBy, issuerAndSerial, readCrl, UnreadableCrlError, type Crl } from './crl.js';
export {
  checkCaBundle,
  checkClientCertificate,
  checkClientKey,
  loadTlsMaterial,
  systemCaCertificates,
  TlsMaterialError,
  type CaBundleCheck,
  type ClientCertificateCheck,
  type ClientKeyCheck,
  type TlsFiles,
  type TlsMaterial,
} from './material.js';
export {
  classifyCertificateVerdict,
  classifyNetworkError,
  closedAfterHandshake,
  type ConnectionStage,
  type DeliveryContext,
  type FailureContext,
  type NetworkFailure,
  type NetworkFailureCode,
  type ProbeContext,
} from './errors.js';
export { certificateSha256, publicKeyId } from './key-id.js';
export { certName, day } from './names.js';
