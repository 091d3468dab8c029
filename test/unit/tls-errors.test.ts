// The one classifier of network and TLS errors (src/main/tls/errors.ts): the
// stable code for each condition, the same for both readers, and the
// sentence each reader gets (the SIEM delivery's and the doctor's line).
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkCaBundle,
  checkClientCertificate,
  checkClientKey,
  classifyCertificateVerdict,
  classifyNetworkError,
  closedAfterHandshake,
  type DeliveryContext,
  type NetworkFailureCode,
  type ProbeContext,
} from '../../src/main/tls/index.js';

function nodeError(code: string | undefined, message = code ?? 'error'): Error {
  return Object.assign(new Error(message), code === undefined ? {} : { code });
}

const delivery: DeliveryContext = { for: 'siem-delivery', address: 'siem.example.org:6514', caFile: '/etc/enclave/siem-ca.pem', clientCertFile: '/etc/enclave/client.pem' };
const probeTcp: ProbeContext = { for: 'doctor-probe', host: 'dc1.example.org', port: 636 };

describe('classifyNetworkError: one code per condition, whoever reads it', () => {
  it.each<[Error, NetworkFailureCode]>([
    [nodeError('UNABLE_TO_GET_ISSUER_CERT_LOCALLY'), 'server_certificate_untrusted'],
    [nodeError('SELF_SIGNED_CERT_IN_CHAIN'), 'server_certificate_untrusted'],
    [nodeError('INVALID_PURPOSE'), 'server_certificate_untrusted'],
    [nodeError('ERR_TLS_CERT_ALTNAME_INVALID'), 'server_certificate_name_mismatch'],
    [nodeError('CERT_HAS_EXPIRED'), 'server_certificate_expired'],
    [nodeError('CERT_NOT_YET_VALID'), 'server_certificate_not_yet_valid'],
    [nodeError('CERT_REVOKED'), 'server_certificate_revoked'],
    [nodeError('CERT_REJECTED'), 'server_certificate_refused'],
    [nodeError('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'), 'client_certificate_refused'],
    [nodeError('ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE'), 'client_certificate_refused'],
    [nodeError('ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE'), 'client_certificate_refused'],
    // Node gives only EPROTO on the write path; the alert is in OpenSSL's message.
    [nodeError('EPROTO', 'write EPROTO 80:error:0A000415:SSL routines::sslv3 alert certificate expired:../ssl/record/rec_layer_s3.c:1605:SSL alert number 45'), 'client_certificate_refused'],
    [nodeError('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION'), 'no_common_tls_version'],
    [nodeError('ERR_SSL_UNSUPPORTED_PROTOCOL'), 'no_common_tls_version'],
    [nodeError('ERR_SSL_TLSV1_ALERT_INTERNAL_ERROR'), 'tls_alert'],
    [nodeError('ERR_SSL_WRONG_VERSION_NUMBER'), 'not_tls'],
    [nodeError('ECONNREFUSED'), 'connection_refused'],
    [nodeError('ENOTFOUND'), 'host_unknown'],
    [nodeError('EAI_FAIL'), 'host_unknown'],
    [nodeError('EAI_AGAIN'), 'dns_unavailable'],
    [nodeError('ENETUNREACH'), 'no_route'],
    [nodeError('ETIMEDOUT'), 'timeout'],
    [nodeError('ERR_TLS_HANDSHAKE_TIMEOUT'), 'tls_handshake_timeout'],
    [nodeError('ECONNRESET', 'socket hang up'), 'connection_reset'],
    [nodeError('ERR_STREAM_PREMATURE_CLOSE'), 'connection_reset'],
    [nodeError(undefined, 'something odd'), 'other'],
  ])('%s → %s', (error, code) => {
    expect(classifyNetworkError(error, delivery).code).toBe(code);
    expect(classifyNetworkError(error, { ...probeTcp, tls: { settings: 'directory', caFile: undefined, clientCert: undefined } }).code).toBe(code);
  });

  it('reads the alert out of an EPROTO message for the doctor too (it used to print the raw OpenSSL line)', () => {
    const error = nodeError('EPROTO', 'write EPROTO 80:error:0A000412:SSL routines::sslv3 alert bad certificate:../ssl/record/rec_layer_s3.c:1605:SSL alert number 42');
    const failure = classifyNetworkError(error, { for: 'doctor-probe', host: 'siem.test', port: 6514, tls: { settings: 'siem.destinations[0]', caFile: undefined, clientCert: undefined } });
    expect(failure).toMatchObject({ code: 'client_certificate_refused', nodeCode: 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE' });
    expect(failure.sentence).toBe('the receiver requires a client certificate and none was sent; set clientCertFile and clientKeyFile');
  });
});

describe('the sentence for each reader', () => {
  it('words the same condition for the SIEM status bar and for the doctor', () => {
    const error = nodeError('ECONNREFUSED');
    expect(classifyNetworkError(error, delivery).sentence).toBe(
      "Nothing accepts connections at siem.example.org:6514 (connection refused): the SIEM's collector may be stopped, or the address or port is wrong.",
    );
    expect(classifyNetworkError(error, probeTcp).sentence).toBe('host unreachable: connection refused (ECONNREFUSED); nothing is listening on dc1.example.org:636, or a firewall rejects it');
  });

  it('names the setting that fixes an untrusted certificate in the doctor, and the destination file in delivery', () => {
    const error = nodeError('UNABLE_TO_GET_ISSUER_CERT_LOCALLY');
    expect(classifyNetworkError(error, delivery).sentence).toMatch(
      /^The SIEM's certificate is not trusted \(signed by an unknown CA\)\. Check the destination's caFile \(\/etc\/enclave\/siem-ca\.pem\)/,
    );
    expect(classifyNetworkError(error, { ...probeTcp, tls: { settings: 'directory', caFile: undefined, clientCert: undefined } }).sentence).toBe(
      'certificate not trusted (issuer not known; the server certificate); set directory.caFile to the PEM file of the CA that issued it',
    );
  });

  it('shows the doctor what Node said for a TLS condition on a plain TCP probe, as before', () => {
    expect(classifyNetworkError(nodeError('CERT_HAS_EXPIRED', 'certificate has expired'), probeTcp).sentence).toBe('certificate has expired (CERT_HAS_EXPIRED)');
  });

  it("judges a peer certificate's verdict as a server certificate failure, naming the certificate", () => {
    const expired = classifyCertificateVerdict('CERT_HAS_EXPIRED', { ...probeTcp, tls: { settings: 'directory', caFile: undefined, clientCert: undefined } });
    expect(expired).toMatchObject({ code: 'server_certificate_expired', sentence: 'certificate expired on an earlier date (the server certificate); the server needs a new certificate' });
    expect(classifyCertificateVerdict('SOMETHING_NEW', delivery).code).toBe('server_certificate_refused');
  });

  it('says a hang-up right after the handshake is most likely a refused client certificate', () => {
    expect(closedAfterHandshake(delivery)).toMatchObject({ code: 'closed_after_handshake', sentence: expect.stringContaining("this workstation's client certificate (/etc/enclave/client.pem)") });
    expect(closedAfterHandshake({ ...probeTcp, tls: { settings: 'siem.destinations[1]', caFile: undefined, clientCert: undefined } }).sentence).toBe(
      'the receiver closed the connection right after the TLS handshake without giving a reason: it may require a client certificate (set siem.destinations[1].clientCertFile and clientKeyFile)',
    );
  });
});

describe('the checks of TLS files', () => {
  let dir: string;
  const file = (name: string): Buffer => readFileSync(join(dir, name));
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'enclave-tls-material-'));
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
    const run = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    run(['req', '-x509', ...ec, '-nodes', '-keyout', 'a.key', '-out', 'a.pem', '-days', '30', '-subj', '/CN=a']);
    run(['req', '-x509', ...ec, '-nodes', '-keyout', 'b.key', '-out', 'b.pem', '-days', '30', '-subj', '/CN=b']);
    run(['pkey', '-in', 'a.key', '-aes256', '-passout', 'pass:secret', '-out', 'a-locked.key']);
    run(['ec', '-in', 'a.key', '-aes256', '-passout', 'pass:secret', '-out', 'a-locked-traditional.key']);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds a CA bundle without a certificate, with a damaged one, and a good one', () => {
    expect(checkCaBundle(Buffer.from('just text\n'))).toEqual({ ok: false, problem: 'no_certificate' });
    expect(checkCaBundle(Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'))).toMatchObject({ ok: false, problem: 'damaged' });
    const good = checkCaBundle(Buffer.concat([file('a.pem'), file('b.pem')]));
    expect(good.ok && good.certificates.map((c) => c.subject)).toEqual(['CN=a', 'CN=b']);
  });

  it("finds a passphrase-protected key, another certificate's key, and the right one", () => {
    const certificate = new X509Certificate(file('a.pem'));
    expect(checkClientCertificate(file('a.key'))).toEqual({ ok: false, problem: 'no_certificate' });
    // Node 20 on OpenSSL 3 reports both only as "interrupted or cancelled": the old checks called them unreadable.
    expect(checkClientKey(file('a-locked.key'), certificate)).toMatchObject({ ok: false, problem: 'passphrase' });
    expect(checkClientKey(file('a-locked-traditional.key'), certificate)).toMatchObject({ ok: false, problem: 'passphrase' });
    expect(checkClientKey(file('b.key'), certificate)).toEqual({ ok: false, problem: 'mismatch' });
    expect(checkClientKey(Buffer.from('not a key'), certificate)).toMatchObject({ ok: false, problem: 'unreadable' });
    expect(checkClientKey(file('a.key'), certificate).ok).toBe(true);
  });
});
