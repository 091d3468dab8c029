// The cryptography of per-person chat keys, in one place: AES-256-GCM for
// chat text and for wrapping a content key under a password-derived key,
// scrypt for that derivation, RSA-OAEP for wrapping to a smart card's public
// key. Everything is node:crypto (OpenSSL); nothing here keeps state.
import { constants, createCipheriv, createDecipheriv, createHmac, publicEncrypt, randomBytes, scrypt as scryptCallback, timingSafeEqual, type KeyObject } from 'node:crypto';

/** The first byte of every value sealed here: a later format gets a new number, and old values still open. */
export const SEAL_VERSION = 1;
export const CONTENT_KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/**
 * scrypt for the key that wraps a content key: N = 2^17 (128 MiB, some
 * tenths of a second), well above the offline verifier's, with its own salt,
 * so nothing stored for sign-in (the verifier) derives it.
 */
export const WRAP_KDF = { name: 'scrypt', N: 1 << 17, r: 8, p: 1 } as const;
export type KdfParams = { name: 'scrypt'; N: number; r: number; p: number };

/** Thrown when a sealed value does not open: the key is not the one it was sealed with, or the bytes were changed. */
export class SealBroken extends Error {}

/**
 * AES-256-GCM with a random 96-bit nonce: version || nonce || ciphertext || tag.
 * `aad` binds the value to where it is stored (table, row id, column), so a
 * ciphertext copied to another row or column does not open there.
 */
export function seal(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([SEAL_VERSION]), nonce, body, cipher.getAuthTag()]);
}

export function open(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < 1 + NONCE_BYTES + TAG_BYTES || sealed[0] !== SEAL_VERSION) throw new SealBroken('not a sealed value of a known version');
  const nonce = sealed.subarray(1, 1 + NONCE_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(sealed.subarray(1 + NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch (cause) {
    throw new SealBroken('the authentication tag does not match', { cause });
  }
}

/** Chat text as stored in a TEXT column: base64 of the sealed bytes. */
export function sealText(key: Buffer, text: string, aad: string): string {
  return seal(key, Buffer.from(text, 'utf8'), aad).toString('base64');
}

export function openText(key: Buffer, stored: string, aad: string): string {
  const plain = open(key, Buffer.from(stored, 'base64'), aad);
  try {
    return plain.toString('utf8');
  } finally {
    plain.fill(0);
  }
}

/** The key that wraps content keys, from the password (NFKC, as the verifier normalises it). */
export function derivePasswordKey(password: string, salt: Buffer, params: KdfParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(password.normalize('NFKC'), salt, CONTENT_KEY_BYTES, { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/**
 * A check value of a password-derived key (HMAC of a fixed label). It tells
 * "this is not the password" apart from "the wrapped key was damaged". It
 * gives an attacker nothing the wrapped key itself does not: testing a guess
 * against either costs the same scrypt.
 */
export function keyCheck(kek: Buffer): Buffer {
  return createHmac('sha256', kek).update('enclave content key check v1').digest();
}

export function keyCheckMatches(kek: Buffer, stored: Buffer): boolean {
  const actual = keyCheck(kek);
  return actual.length === stored.length && timingSafeEqual(actual, stored);
}

/**
 * Wrapping under a password-derived key is AES-256-GCM (not AES-KW, RFC
 * 3394): Node has both, but GCM takes the key id as associated data, so a
 * wrapped key cannot be passed off as another key's, and the same seal/open
 * serve chat text and keys.
 */
export function wrapAad(keyId: string): string {
  return `enclave/content-key/${keyId}`;
}

/** The OAEP hashes tried with a card, strongest first: SoftHSM2 (2.6) and some middleware do OAEP with SHA-1 only. */
export const OAEP_HASHES = ['sha256', 'sha1'] as const;
export type OaepHash = (typeof OAEP_HASHES)[number];

/** A content key wrapped to the card's RSA public key (from its certificate); only the card's private key opens it. */
export function wrapForCard(publicKey: KeyObject, contentKey: Buffer, hash: OaepHash): Buffer {
  return publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, contentKey);
}
