// The PEM and CRL readers of the one PKI/TLS module (src/main/tls/pem.ts,
// crl.ts, key-id.ts), on a CA, a certificate and a CRL made by the openssl tool.
import { EC_P256_NEW_KEY, selfSignedCaArgs } from '../support/openssl-args.js';
import { execFileSync } from 'node:child_process';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  certificatesFromPem,
  certificatesFromPemOrDer,
  certificateSha256,
  crlRevokes,
  crlSignedBy,
  derFromPemOrDer,
  issuerAndSerial,
  pemBlocks,
  publicKeyId,
  readCrl,
  UnreadableCrlError,
} from '../../src/main/tls/index.js';

let dir: string;
const file = (name: string): Buffer => readFileSync(join(dir, name));

function openssl(args: string[]): Buffer {
  return execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'enclave-tls-pki-'));
  const ec = EC_P256_NEW_KEY;
  const ca = (name: string, cn: string): void => {
    openssl(selfSignedCaArgs(name, cn));
  };
  ca('ca', 'Enclave Test CA');
  ca('other-ca', 'Somebody Else CA');
  const leaf = (name: string, serial: string): void => {
    openssl(['req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', serial, '-out', `${name}.pem`, '-days', '30']);
  };
  leaf('revoked', '0x1234');
  leaf('kept', '0x5678');
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'crlnumber'), '01\n');
  writeFileSync(join(dir, 'ca.cnf'), '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\ncrlnumber=crlnumber\ndefault_md=sha256\n');
  openssl(['ca', '-config', 'ca.cnf', '-revoke', 'revoked.pem', '-keyfile', 'ca.key', '-cert', 'ca.pem']);
  // nextUpdate after 2049: a GeneralizedTime, where thisUpdate is a UTCTime.
  openssl(['ca', '-config', 'ca.cnf', '-gencrl', '-keyfile', 'ca.key', '-cert', 'ca.pem', '-out', 'ca.crl', '-crl_lastupdate', '20260101000000Z', '-crl_nextupdate', '20510102030405Z']);
  openssl(['crl', '-in', 'ca.crl', '-outform', 'DER', '-out', 'ca.crl.der']);
  openssl(['x509', '-in', 'kept.pem', '-outform', 'DER', '-out', 'kept.der']);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('PEM', () => {
  it('splits a bundle into its certificates, ignoring text around the blocks', () => {
    const bundle = `Enclave CA bundle\n${file('ca.pem').toString()}comment between\n${file('other-ca.pem').toString()}trailing text\n`;
    expect(pemBlocks(bundle, 'CERTIFICATE')).toHaveLength(2);
    expect(certificatesFromPem(bundle).map((c) => c.subject)).toEqual(['CN=Enclave Test CA', 'CN=Somebody Else CA']);
    expect(pemBlocks(bundle, 'X509 CRL')).toEqual([]);
  });

  it('throws on a damaged certificate block rather than skipping it', () => {
    const damaged = '-----BEGIN CERTIFICATE-----\nTm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n';
    expect(() => certificatesFromPem(damaged)).toThrow();
    expect(() => certificatesFromPemOrDer(Buffer.from(damaged))).toThrow();
  });

  it('reads one DER certificate, and finds none in a PEM file of another kind or in noise', () => {
    expect(certificatesFromPemOrDer(file('kept.der')).map((c) => c.serialNumber)).toEqual(['5678']);
    expect(certificatesFromPemOrDer(file('kept.key'))).toEqual([]);
    expect(certificatesFromPemOrDer(Buffer.from('just some text\n'))).toEqual([]);
  });

  it('takes the DER of a PEM CRL, and passes DER through', () => {
    expect(derFromPemOrDer(file('ca.crl'), 'X509 CRL').equals(file('ca.crl.der'))).toBe(true);
    expect(derFromPemOrDer(file('ca.crl.der'), 'X509 CRL').equals(file('ca.crl.der'))).toBe(true);
  });
});

describe('CRL', () => {
  it('reads the issuer, thisUpdate (UTCTime), nextUpdate (GeneralizedTime) and revoked serials of a PEM or DER CRL', () => {
    for (const crl of [readCrl(file('ca.crl')), readCrl(file('ca.crl.der'))]) {
      expect(crl.thisUpdate.toISOString()).toBe('2026-01-01T00:00:00.000Z');
      expect(crl.nextUpdate?.toISOString()).toBe('2051-01-02T03:04:05.000Z');
      expect(crl.revokedSerials.map((s) => s.toString('hex'))).toEqual(['1234']);
      expect(crl.issuerDer.equals(issuerAndSerial(new X509Certificate(file('kept.pem')).raw).issuerDer)).toBe(true);
    }
  });

  it('says which certificate it revokes', () => {
    const crl = readCrl(file('ca.crl'));
    expect(crlRevokes(crl, issuerAndSerial(new X509Certificate(file('revoked.pem')).raw).serial)).toBe(true);
    expect(crlRevokes(crl, issuerAndSerial(new X509Certificate(file('kept.pem')).raw).serial)).toBe(false);
  });

  it('checks the signature against the issuing CA only', () => {
    const crl = readCrl(file('ca.crl'));
    expect(crlSignedBy(crl, new X509Certificate(file('ca.pem')).publicKey)).toBe(true);
    expect(crlSignedBy(crl, new X509Certificate(file('other-ca.pem')).publicKey)).toBe(false);
  });

  it('refuses what is not a CRL with an UnreadableCrlError', () => {
    expect(() => readCrl(Buffer.from('not a CRL at all'))).toThrow(UnreadableCrlError);
    expect(() => readCrl(file('kept.der'))).toThrow(UnreadableCrlError);
    // Truncated DER.
    expect(() => readCrl(file('ca.crl.der').subarray(0, 40))).toThrow(/^not an X\.509 CRL/);
  });
});

describe('key id and fingerprint', () => {
  it('names a public key by the SHA-256 of its SubjectPublicKeyInfo, as openssl computes it', () => {
    const spki = openssl(['pkey', '-in', 'kept.key', '-pubout', '-outform', 'DER']);
    const expected = execFileSync('openssl', ['dgst', '-sha256', '-r'], { input: spki }).toString().split(' ')[0];
    const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    expect(publicKeyId(key)).toBe(expected);
    expect(publicKeyId(spki)).toBe(expected);
  });

  it("names a certificate by the SHA-256 of its DER (Node's fingerprint256)", () => {
    const certificate = new X509Certificate(file('kept.pem'));
    expect(certificateSha256(certificate.raw)).toBe(certificate.fingerprint256.replace(/:/g, '').toLowerCase());
  });
});
