// How every SIEM transport (syslog over TLS, Splunk HEC, HTTPS JSON) reports
// network and TLS errors (siem/transports/tls.ts on the classifier in tls/),
// and the checks of the TLS files a destination names.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryErrorFromNetwork, loadTlsMaterial, refusedAfterHandshake, type ConnectionContext } from '../../src/main/siem/transports/tls.js';
import { DeliveryError, type DeliveryErrorCode } from '../../src/main/siem/types.js';
import { rejectionOf } from '../support/rejection.js';

const ADDRESS = 'siem.example.org:6514';
const CA = '/etc/enclave/siem-ca.pem';
const CERT = '/etc/enclave/client.pem';
const withCert: ConnectionContext = { address: ADDRESS, caFile: CA, clientCertFile: CERT };
const noCert: ConnectionContext = { address: ADDRESS };

function nodeError(code: string | undefined, message = code ?? 'error'): Error {
  return Object.assign(new Error(message), code === undefined ? {} : { code });
}

describe('deliveryErrorFromNetwork', () => {
  it.each<[string, Error, ConnectionContext, DeliveryErrorCode, RegExp]>([
    // The receiver's certificate.
    [
      'an unknown CA, with a caFile',
      nodeError('UNABLE_TO_VERIFY_LEAF_SIGNATURE'),
      withCert,
      'certificate_rejected',
      /^The SIEM's certificate is not trusted \(signed by an unknown CA\)\. Check the destination's caFile \(\/etc\/enclave\/siem-ca\.pem\)/,
    ],
    ['an unknown CA, without a caFile', nodeError('SELF_SIGNED_CERT_IN_CHAIN'), noCert, 'certificate_rejected', /No caFile is set.*Set the destination's caFile/],
    ['a self-signed certificate', nodeError('DEPTH_ZERO_SELF_SIGNED_CERT'), withCert, 'certificate_rejected', /not trusted \(it is self-signed\)/],
    [
      'a certificate for another name',
      nodeError('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"),
      withCert,
      'certificate_rejected',
      /^The SIEM's certificate is not for siem\.example\.org \(Hostname/,
    ],
    ['a certificate not valid yet', nodeError('CERT_NOT_YET_VALID'), withCert, 'certificate_rejected', /not valid yet: check this workstation's date and time/],
    // The receiver's verdict on us, as a TLS alert: in the code, or only in an EPROTO message.
    [
      'certificate_required',
      nodeError('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'),
      noCert,
      'client_certificate_rejected',
      /requires a client certificate and none was sent: set the destination's clientCertFile and clientKeyFile/,
    ],
    [
      'unknown_ca after our certificate',
      nodeError('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA'),
      withCert,
      'client_certificate_rejected',
      /refused our client certificate \(mutual TLS\): it does not trust the CA that issued \/etc\/enclave\/client\.pem/,
    ],
    [
      'bad_certificate (OpenSSL 3 prefix)',
      nodeError('ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE'),
      withCert,
      'client_certificate_rejected',
      /refused our client certificate \(mutual TLS\): bad certificate/,
    ],
    [
      'certificate_expired in an EPROTO message',
      nodeError('EPROTO', 'write EPROTO 80:error:0A000415:SSL routines::sslv3 alert certificate expired:../ssl/record/rec_layer_s3.c:1605:SSL alert number 45'),
      withCert,
      'client_certificate_rejected',
      /as expired: replace \/etc\/enclave\/client\.pem/,
    ],
    ['bad_certificate without a certificate', nodeError('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE'), noCert, 'client_certificate_rejected', /probably requires a client certificate/],
    // Where the two old classifications disagreed.
    [
      'handshake_failure after we offered a certificate',
      nodeError('ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE'),
      withCert,
      'client_certificate_rejected',
      /after we offered our client certificate \(\/etc\/enclave\/client\.pem\): it most likely refused it/,
    ],
    [
      'handshake_failure without a certificate',
      nodeError('EPROTO', 'error:0A000410:SSL routines::sslv3 alert handshake failure'),
      noCert,
      'client_certificate_rejected',
      /most likely requires a client certificate .*clientCertFile and clientKeyFile/,
    ],
    [
      'protocol_version',
      nodeError('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION'),
      withCert,
      'rejected',
      /^The SIEM at siem\.example\.org:6514 and Enclave share no TLS version: Enclave needs TLS 1\.2 or later/,
    ],
    ['a receiver offering only TLS 1.0/1.1', nodeError('ERR_SSL_UNSUPPORTED_PROTOCOL'), withCert, 'rejected', /share no TLS version: Enclave needs TLS 1\.2 or later/],
    ['another alert', nodeError('ERR_SSL_TLSV1_ALERT_INTERNAL_ERROR'), withCert, 'rejected', /ended the TLS connection \(TLS alert: internal error\)/],
    // Not TLS at all.
    ['a plain-text port', nodeError('ERR_SSL_WRONG_VERSION_NUMBER'), withCert, 'server_error', /does not speak TLS 1\.2 or later on that port \(ERR_SSL_WRONG_VERSION_NUMBER\)/],
    [
      'a plain-text port, as EPROTO',
      nodeError('EPROTO', 'write EPROTO 80:error:0A00010B:SSL routines::wrong version number:../ssl/record/ssl3_record.c:354:'),
      withCert,
      'server_error',
      /does not speak TLS 1\.2 or later/,
    ],
    // The network.
    ['DNS that does not know the name', nodeError('EAI_FAIL'), withCert, 'host_unreachable', /host name siem\.example\.org is not known to DNS/],
    ['DNS that does not answer', nodeError('EAI_AGAIN'), withCert, 'host_unreachable', /DNS did not answer/],
    ['no route', nodeError('ENETUNREACH'), withCert, 'host_unreachable', /no route to the SIEM at siem\.example\.org:6514 \(ENETUNREACH\)/],
    ['a TLS handshake that never ends', nodeError('ERR_TLS_HANDSHAKE_TIMEOUT'), withCert, 'timeout', /did not complete the TLS handshake in time/],
    // A reset, by how far the connection had got.
    [
      'a reset in the handshake',
      nodeError('ECONNRESET'),
      { ...withCert, stage: 'handshake' },
      'connection_reset',
      /reset during the TLS handshake \(ECONNRESET\): the port may not speak TLS, or the SIEM may not trust our client certificate/,
    ],
    [
      'a reset before any answer',
      nodeError('ECONNRESET', 'socket hang up'),
      { ...withCert, stage: 'unconfirmed' },
      'connection_reset',
      /broke off the connection before the batch was confirmed \(ECONNRESET\); it will be sent again\. If the SIEM requires mutual TLS, it may not trust our client certificate/,
    ],
    [
      'a reset after the receiver accepted us',
      nodeError('EPIPE'),
      { ...withCert, stage: 'accepted' },
      'connection_reset',
      /^The SIEM at siem\.example\.org:6514 broke off the connection before the batch was confirmed \(EPIPE\); it will be sent again\.$/,
    ],
    ['anything else', nodeError(undefined, 'something odd'), withCert, 'connection_reset', /failed before the batch was confirmed: something odd\.$/],
  ])('%s', (_, error, context, code, words) => {
    const classified = deliveryErrorFromNetwork(error, context);
    expect(classified).toBeInstanceOf(DeliveryError);
    expect(classified.code).toBe(code);
    expect(classified.message).toMatch(words);
    expect(classified.cause).toBe(error);
  });

  it('passes a DeliveryError through unchanged', () => {
    const error = new DeliveryError('timeout', 'already said');
    expect(deliveryErrorFromNetwork(error, withCert)).toBe(error);
  });

  it('says a hang-up right after the handshake is a refused client certificate', () => {
    expect(refusedAfterHandshake(withCert)).toMatchObject({ code: 'client_certificate_rejected', message: expect.stringContaining(CERT) });
    expect(refusedAfterHandshake(noCert).message).toMatch(/requires a client certificate\. Set the destination's clientCertFile and clientKeyFile\./);
  });
});

describe('loadTlsMaterial', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'enclave-tls-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const rejection = (promise: Promise<unknown>): Promise<DeliveryError> => rejectionOf(promise, DeliveryError);

  it('uses the trust store and no client certificate when policy names no file', async () => {
    const material = await loadTlsMaterial({ id: 'siem' });
    expect(material.secureContext).toBeDefined();
    expect(material).toMatchObject({ caFile: undefined, clientCertFile: undefined });
  });

  it('names a file that cannot be read', async () => {
    const missing = join(dir, 'missing.pem');
    const error = await rejection(loadTlsMaterial({ id: 'siem', caFile: missing }));
    expect(error.code).toBe('configuration');
    expect(error.message).toBe(`The caFile of SIEM destination "siem" cannot be read: ${missing} (the file does not exist).`);
    expect((await rejection(loadTlsMaterial({ id: 'siem', clientCertFile: dir, clientKeyFile: dir }))).message).toMatch(/it is a folder, not a regular file/);
  });

  it.skipIf(process.platform === 'win32')('refuses a FIFO or an oversized file named as TLS material, at once and by name', async () => {
    const fifo = join(dir, 'fifo.pem');
    execFileSync('mkfifo', [fifo]);
    // A writer, so a regression (a plain read) gets an answer and fails the assertion instead of hanging.
    const writer = spawn('sh', ['-c', 'printf "not a certificate" > "$1"', 'sh', fifo], { stdio: 'ignore' });
    try {
      const error = await rejection(loadTlsMaterial({ id: 'siem', caFile: fifo }));
      expect(error.code).toBe('configuration');
      expect(error.message).toBe(`The caFile of SIEM destination "siem" cannot be read: ${fifo} (it is a FIFO (named pipe), not a regular file).`);
    } finally {
      writer.kill('SIGKILL');
    }
    const huge = join(dir, 'huge.pem');
    await writeFile(huge, Buffer.alloc(4 * 1024 * 1024 + 1, 0x41));
    expect((await rejection(loadTlsMaterial({ id: 'siem', caFile: huge }))).message).toBe(`The caFile of SIEM destination "siem" cannot be read: ${huge} (it is larger than 4 MiB (4,194,305 bytes)).`);
  });

  it('says a passphrase-protected client key needs its passphrase removed (OpenSSL 3 reports it only as "interrupted or cancelled")', async () => {
    const run = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'client.key', '-out', 'client.pem', '-days', '30', '-subj', '/CN=workstation']);
    run(['pkey', '-in', 'client.key', '-aes256', '-passout', 'pass:secret', '-out', 'client-locked.key']);
    const locked = join(dir, 'client-locked.key');
    const error = await rejection(loadTlsMaterial({ id: 'siem', clientCertFile: join(dir, 'client.pem'), clientKeyFile: locked }));
    expect(error.code).toBe('configuration');
    expect(error.message).toBe(
      `The client certificate of SIEM destination "siem" cannot be used: ${locked} is protected by a passphrase; Enclave needs the key without one (readable only by the Enclave service account).`,
    );
  });

  it('refuses a caFile without a certificate, and a certificate without its key', async () => {
    const notPem = join(dir, 'not-a-ca.pem');
    await writeFile(notPem, 'just some text\n');
    const empty = await rejection(loadTlsMaterial({ id: 'siem', caFile: notPem }));
    expect(empty.message).toBe(`The caFile of SIEM destination "siem" (${notPem}) holds no PEM certificate ("-----BEGIN CERTIFICATE-----").`);
    const lonely = await rejection(loadTlsMaterial({ id: 'siem', clientCertFile: notPem }));
    expect(lonely.message).toMatch(/sets only one of clientCertFile and clientKeyFile/);
    const noCertificate = await rejection(loadTlsMaterial({ id: 'siem', clientCertFile: notPem, clientKeyFile: notPem }));
    expect(noCertificate.message).toBe(`The client certificate of SIEM destination "siem" cannot be used: ${notPem} holds no PEM certificate ("-----BEGIN CERTIFICATE-----").`);
  });
});
