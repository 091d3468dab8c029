// The files a TLS connection is made with: the CA bundle its peer's
// certificate is checked against, and the client certificate and key it
// presents (mutual TLS). Node accepts a CA file without a certificate in it
// (and then trusts nothing), and reports a wrong key or a passphrase only as
// an OpenSSL error: each file is checked here first, so that the message can
// name the file and say what is wrong with it.
//   - checkCaBundle / checkClientCertificate / checkClientKey: the checks, as
//     typed findings, for callers that word them their own way (the doctor);
//   - loadTlsMaterial: all three read at connection time and built into one
//     secure context (TLS 1.2 or later), or a TlsMaterialError whose message
//     names the file and the setting (the SIEM transports).
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import tls from 'node:tls';
import { FILE_SIZE_LIMITS, readLimitedFile, UnreadableFileError } from '../files/index.js';
import { MIN_TLS_VERSION } from './client.js';
import { pemBlocks } from './pem.js';

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/**
 * Without a CA file, policy promises the operating system's trust store (where
 * IT installs the institution's CA). Node 22.15+ (and so Electron) can list it
 * next to Node's built-in CAs; on an older Node this returns undefined and
 * Node's built-in CA list applies.
 */
export function systemCaCertificates(): string[] | undefined {
  const getCa = (tls as unknown as { getCACertificates?: (type: 'default' | 'system') => string[] }).getCACertificates;
  if (!getCa) return undefined;
  try {
    return [...getCa('default'), ...getCa('system')];
  } catch {
    return undefined;
  }
}

export type CaBundleCheck =
  | { ok: true; certificates: X509Certificate[] }
  /** No "-----BEGIN CERTIFICATE-----" block at all. */
  | { ok: false; problem: 'no_certificate' }
  /** A block that is not a certificate; detail is Node's reason. */
  | { ok: false; problem: 'damaged'; detail: string; cause: unknown }
  /** Certificates Node reads one by one but cannot make a trust store of. */
  | { ok: false; problem: 'unusable'; detail: string; cause: unknown };

/** A PEM CA bundle: at least one certificate, each readable, usable together as a trust store. */
export function checkCaBundle(bytes: Buffer): CaBundleCheck {
  const blocks = pemBlocks(bytes.toString('latin1'), 'CERTIFICATE');
  if (blocks.length === 0) return { ok: false, problem: 'no_certificate' };
  const certificates: X509Certificate[] = [];
  for (const block of blocks) {
    try {
      certificates.push(new X509Certificate(block));
    } catch (error) {
      return { ok: false, problem: 'damaged', detail: errorText(error), cause: error };
    }
  }
  try {
    tls.createSecureContext({ minVersion: MIN_TLS_VERSION, ca: bytes });
  } catch (error) {
    return { ok: false, problem: 'unusable', detail: errorText(error), cause: error };
  }
  return { ok: true, certificates };
}

export type ClientCertificateCheck = { ok: true; certificate: X509Certificate } | { ok: false; problem: 'no_certificate' } | { ok: false; problem: 'damaged'; detail: string; cause: unknown };

/** The first PEM certificate of a client certificate file. */
export function checkClientCertificate(bytes: Buffer): ClientCertificateCheck {
  const first = pemBlocks(bytes.toString('latin1'), 'CERTIFICATE')[0];
  if (!first) return { ok: false, problem: 'no_certificate' };
  try {
    return { ok: true, certificate: new X509Certificate(first) };
  } catch (error) {
    return { ok: false, problem: 'damaged', detail: errorText(error), cause: error };
  }
}

export type ClientKeyCheck =
  | { ok: true; key: KeyObject }
  /** Encrypted: Enclave has no passphrase to give (the key is protected by who may read the file). */
  | { ok: false; problem: 'passphrase'; detail: string; cause: unknown }
  | { ok: false; problem: 'unreadable'; detail: string; cause: unknown }
  /** A readable key, but not the key of `certificate`. */
  | { ok: false; problem: 'mismatch' };

/** An encrypted PKCS#8 key, or a traditional PEM key with an encryption header (RFC 1421). */
const ENCRYPTED_PEM = /-----BEGIN ENCRYPTED PRIVATE KEY-----|^Proc-Type:\s*4,ENCRYPTED/m;

/** A private key readable without a passphrase and, when `certificate` is given, that certificate's key. */
export function checkClientKey(bytes: Buffer, certificate?: X509Certificate): ClientKeyCheck {
  let key: KeyObject;
  try {
    key = createPrivateKey(bytes);
  } catch (error) {
    const detail = errorText(error);
    // Node 20 on OpenSSL 3 says only "interrupted or cancelled" for an encrypted key (PKCS#8 or
    // traditional PEM); the file itself says that it is encrypted.
    const encrypted = ENCRYPTED_PEM.test(bytes.toString('latin1')) || errorCode(error) === 'ERR_MISSING_PASSPHRASE' || /passphrase|bad decrypt|encrypted/i.test(detail);
    return { ok: false, problem: encrypted ? 'passphrase' : 'unreadable', detail, cause: error };
  }
  if (certificate && !certificate.checkPrivateKey(key)) return { ok: false, problem: 'mismatch' };
  return { ok: true, key };
}

/** The trust anchors and client credentials of a connection, read from the files policy names. */
export interface TlsMaterial {
  /** A secure context with TLS 1.2 as the floor, the CA (or this computer's trust store) and the client certificate. */
  secureContext: tls.SecureContext;
  /** The caFile the peer's certificate is checked against; undefined: this computer's trust store. */
  caFile: string | undefined;
  /** The client certificate we present; undefined: we present none. */
  clientCertFile: string | undefined;
}

/** The files policy names for one connection; empty or unset means none. */
export interface TlsFiles {
  caFile?: string | undefined;
  clientCertFile?: string | undefined;
  clientKeyFile?: string | undefined;
}

/** A TLS file that cannot be read or used; the message names it, the setting and what `owner` it belongs to. */
export class TlsMaterialError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TlsMaterialError';
  }
}

type TlsSetting = 'caFile' | 'clientCertFile' | 'clientKeyFile';

function materialError(message: string, cause?: unknown): TlsMaterialError {
  return new TlsMaterialError(message, cause === undefined ? undefined : { cause });
}

async function readSetting(files: TlsFiles, setting: TlsSetting, owner: string): Promise<Buffer | undefined> {
  const path = files[setting];
  if (!path) return undefined;
  try {
    // A regular file of at most 4 MiB: a FIFO or a device named here must not stall or flood the caller.
    return await readLimitedFile(path, { maxBytes: FILE_SIZE_LIMITS.pem });
  } catch (error) {
    const code = error instanceof UnreadableFileError ? error.errno : errorCode(error);
    const why =
      code === 'ENOENT' || code === 'ENOTDIR'
        ? 'the file does not exist'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied: Enclave must be able to read it'
          : code === 'EISDIR'
            ? 'it is a folder, not a file'
            : error instanceof UnreadableFileError
              ? `it ${error.problem}`
              : errorText(error);
    throw materialError(`The ${setting} of ${owner} cannot be read: ${path} (${why}).`, error);
  }
}

function requireCaBundle(files: TlsFiles, ca: Buffer, owner: string): void {
  const checked = checkCaBundle(ca);
  if (checked.ok) return;
  const named = `The caFile of ${owner} (${files.caFile})`;
  if (checked.problem === 'no_certificate') throw materialError(`${named} holds no PEM certificate ("-----BEGIN CERTIFICATE-----").`);
  if (checked.problem === 'damaged') throw materialError(`${named} holds a damaged certificate (${checked.detail}).`, checked.cause);
  throw materialError(`${named} holds no certificate Enclave can use (${checked.detail}).`, checked.cause);
}

function requireClientPair(files: TlsFiles, cert: Buffer, key: Buffer, owner: string): void {
  const { clientCertFile, clientKeyFile } = files;
  const unusable = (why: string, cause?: unknown): TlsMaterialError => materialError(`The client certificate of ${owner} cannot be used: ${why}.`, cause);
  const certificate = checkClientCertificate(cert);
  if (!certificate.ok) {
    if (certificate.problem === 'no_certificate') throw unusable(`${clientCertFile} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`);
    throw unusable(`${clientCertFile} holds a damaged certificate (${certificate.detail})`, certificate.cause);
  }
  const privateKey = checkClientKey(key, certificate.certificate);
  if (privateKey.ok) return;
  if (privateKey.problem === 'passphrase')
    throw unusable(`${clientKeyFile} is protected by a passphrase; Enclave needs the key without one (readable only by the Enclave service account)`, privateKey.cause);
  if (privateKey.problem === 'unreadable') throw unusable(`${clientKeyFile} holds no PEM private key Enclave can read (${privateKey.detail})`, privateKey.cause);
  throw unusable(`the key in ${clientKeyFile} is not the key of the certificate in ${clientCertFile}`);
}

/**
 * Reads the caFile, clientCertFile and clientKeyFile now (at connection time,
 * so a file IT fixes is used by the next attempt without a restart) and builds
 * the TLS context: TLS 1.2 or later, the caFile or else this computer's trust
 * store, our client certificate when policy names one. A file that cannot be
 * read, or does not hold what it should, is a TlsMaterialError that names it
 * and `owner` (for example 'SIEM destination "splunk"').
 */
export async function loadTlsMaterial(files: TlsFiles, owner: string): Promise<TlsMaterial> {
  const [ca, cert, key] = await Promise.all([readSetting(files, 'caFile', owner), readSetting(files, 'clientCertFile', owner), readSetting(files, 'clientKeyFile', owner)]);
  if ((cert === undefined) !== (key === undefined)) {
    throw materialError(`${owner} sets only one of clientCertFile and clientKeyFile; mutual TLS needs both.`);
  }
  // Checked one by one so that a bad file can be named; then the context is built from all of them.
  if (ca) requireCaBundle(files, ca, owner);
  if (cert && key) requireClientPair(files, cert, key, owner);
  const trust = ca ?? systemCaCertificates();
  try {
    const secureContext = tls.createSecureContext({ minVersion: MIN_TLS_VERSION, ...(trust ? { ca: trust } : {}), ...(cert && key ? { cert, key } : {}) });
    return { secureContext, caFile: files.caFile || undefined, clientCertFile: cert ? files.clientCertFile : undefined };
  } catch (error) {
    throw materialError(
      cert
        ? `The client certificate of ${owner} cannot be used: ${files.clientCertFile} and ${files.clientKeyFile} must hold a PEM certificate and its private key (${errorText(error)}).`
        : `The TLS settings of ${owner} cannot be used (${errorText(error)}).`,
      error,
    );
  }
}
