// Smart cards (PIV/CAC) through the card middleware's PKCS#11 library: list
// the readers, log in on the card with the PIN, have the card sign a fresh
// random challenge, and verify that signature with the key in the card's own
// certificate, which certificates.ts then checks against the institution's CA
// and CRL. The PIN never leaves the card's library; nothing of it is kept.
import { randomBytes, verify as verifySignature, X509Certificate, type KeyObject } from 'node:crypto';
import { FILE_SIZE_LIMITS, readLimitedFileSync, UnreadableFileError } from '../files/index.js';
// The default import: Node's ESM loader does not see pkcs11js' constants as named exports.
import pkcs11js, { type Handle, type Template } from 'pkcs11js';
import { EnclaveError } from '../../shared/errors.js';
import type { Policy } from '../policy/index.js';
import { certificatesFromPem } from '../tls/index.js';
import { checkCardCertificate, type CheckedCardCertificate } from './certificates.js';

export type SmartCardPolicy = Policy['smartCard'];

export interface CardReader {
  /** The slot as hex; valid while the library stays loaded. */
  slotId: string;
  reader: string;
  /** The token's label and serial number when a card is in the reader. */
  card: { label: string; serial: string } | null;
}

export interface VerifiedCard extends CheckedCardCertificate {
  slotId: string;
  tokenSerial: string;
}

/**
 * The card's key while its session is logged in with the PIN (during
 * authenticate only): content-keys.ts opens the keys wrapped to this card with it.
 */
export interface CardKeyAccess {
  /** SHA-256 of the card's certificate (lowercase hex). */
  certificateSha256: string;
  /** The public key from that certificate, for wrapping to the card in Node. */
  publicKey: KeyObject;
  /** RSA-OAEP decryption by the card's private key (C_Decrypt); throws when the card refuses or the blob does not decrypt. */
  decrypt(blob: Buffer, hash: 'sha256' | 'sha1'): Buffer;
  /** A signature by the card's private key (as at sign-in: SHA-256 with RSA PKCS#1 v1.5, or ECDSA); verifyCardSignature checks it. */
  sign(data: Buffer): Buffer;
}

/** Checks a signature made by CardKeyAccess.sign against the certificate's public key. */
export function verifyCardSignature(publicKey: KeyObject, data: Buffer, signature: Buffer): boolean {
  try {
    return verifySignature('sha256', data, { key: publicKey, ...(publicKey.asymmetricKeyType === 'ec' ? { dsaEncoding: 'ieee-p1363' as const } : {}) }, signature);
  } catch {
    return false;
  }
}

// PKCS#11 v2.40 flag values that pkcs11js does not export.
const CKF_TOKEN_PRESENT = 0x1;
const CKZ_DATA_SPECIFIED = 0x1;
const CKF_USER_PIN_COUNT_LOW = 0x10000;
const CKF_USER_PIN_FINAL_TRY = 0x20000;
const CKF_USER_PIN_LOCKED = 0x40000;
const CKR = { PIN_INCORRECT: 0xa0, PIN_INVALID: 0xa1, PIN_LEN_RANGE: 0xa2, PIN_EXPIRED: 0xa3, PIN_LOCKED: 0xa4, USER_ALREADY_LOGGED_IN: 0x100, CRYPTOKI_ALREADY_INITIALIZED: 0x191 } as const;

function pkcs11Code(error: unknown): number | null {
  return error instanceof pkcs11js.Pkcs11Error ? error.code : null;
}

export interface SmartCardServiceOptions {
  policy: () => SmartCardPolicy;
  now: () => number;
  readFile?: (path: string) => Buffer;
}

/**
 * One loaded PKCS#11 library per policy module path. PKCS#11 calls are
 * synchronous; the core runs in its own process, so a slow card never stalls
 * the window.
 */
export class SmartCardService {
  readonly #o: SmartCardServiceOptions;
  #library: { path: string; pkcs11: pkcs11js.PKCS11; ownsInitialize: boolean } | null = null;

  constructor(options: SmartCardServiceOptions) {
    this.#o = options;
  }

  get enabled(): boolean {
    return this.#o.policy().enabled;
  }

  #pkcs11(): pkcs11js.PKCS11 {
    const policy = this.#o.policy();
    if (!policy.enabled || !policy.pkcs11Module) throw new EnclaveError('card_unavailable', 'Smart-card sign-in is not enabled on this workstation.');
    if (this.#library?.path === policy.pkcs11Module) return this.#library.pkcs11;
    this.close();
    const pkcs11 = new pkcs11js.PKCS11();
    let ownsInitialize = true;
    try {
      pkcs11.load(policy.pkcs11Module);
      try {
        pkcs11.C_Initialize();
      } catch (error) {
        // Someone else in this process initialised the library: share it, and leave finalising to them.
        if (pkcs11Code(error) !== CKR.CRYPTOKI_ALREADY_INITIALIZED) throw error;
        ownsInitialize = false;
      }
    } catch (error) {
      throw new EnclaveError('card_unavailable', `The smart-card library ${policy.pkcs11Module} (smartCard.pkcs11Module) cannot be loaded: ${(error as Error).message}. Contact IT.`);
    }
    this.#library = { path: policy.pkcs11Module, pkcs11, ownsInitialize };
    return pkcs11;
  }

  readers(): CardReader[] {
    const pkcs11 = this.#pkcs11();
    return pkcs11.C_GetSlotList(false).map((slot) => {
      const info = pkcs11.C_GetSlotInfo(slot);
      let card: CardReader['card'] = null;
      if (info.flags & CKF_TOKEN_PRESENT) {
        try {
          const token = pkcs11.C_GetTokenInfo(slot);
          card = { label: token.label.trim(), serial: token.serialNumber.trim() };
        } catch {
          // A card being pulled out right now reads as no card.
        }
      }
      return { slotId: Buffer.from(slot).toString('hex'), reader: info.slotDescription.trim(), card };
    });
  }

  /** Is this card (by token serial) still in that reader? For the lock on removal. */
  present(slotId: string, tokenSerial: string): boolean {
    try {
      return this.readers().some((r) => r.slotId === slotId && r.card?.serial === tokenSerial);
    } catch {
      return false;
    }
  }

  /**
   * PIN login on the card, a signature over a fresh challenge, and the
   * certificate checks. Throws card_pin_incorrect (with the tries left where
   * the card says), card_pin_locked, card_rejected or card_unavailable.
   */
  authenticate(slotId: string, pin: string): VerifiedCard;
  /** Also runs `withKey` with the card's key while the card is logged in (after every check passed). */
  authenticate<T>(slotId: string, pin: string, withKey: (access: CardKeyAccess) => T): VerifiedCard & { keyWork: T };
  authenticate<T>(slotId: string, pin: string, withKey?: (access: CardKeyAccess) => T): VerifiedCard & { keyWork?: T } {
    const pkcs11 = this.#pkcs11();
    const policy = this.#o.policy();
    const slot = pkcs11.C_GetSlotList(true).find((s) => Buffer.from(s).toString('hex') === slotId);
    if (!slot) throw new EnclaveError('card_unavailable', 'There is no card in that reader any more. Insert your card and try again.');
    const token = pkcs11.C_GetTokenInfo(slot);
    if (token.flags & CKF_USER_PIN_LOCKED) throw new EnclaveError('card_pin_locked', "This card's PIN is locked after too many wrong PINs. Contact IT to unblock it.");
    const session = pkcs11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
    try {
      try {
        pkcs11.C_Login(session, pkcs11js.CKU_USER, pin);
      } catch (error) {
        const code = pkcs11Code(error);
        if (code === CKR.USER_ALREADY_LOGGED_IN) {
          // Another application logged the card in; our own signature below still proves the key.
        } else if (code === CKR.PIN_LOCKED) {
          throw new EnclaveError('card_pin_locked', "This card's PIN is locked after too many wrong PINs. Contact IT to unblock it.");
        } else if (code === CKR.PIN_INCORRECT || code === CKR.PIN_INVALID || code === CKR.PIN_LEN_RANGE) {
          throw new EnclaveError('card_pin_incorrect', `That PIN is not correct.${triesLeft(pkcs11, slot)}`);
        } else if (code === CKR.PIN_EXPIRED) {
          throw new EnclaveError('card_rejected', "This card's PIN has expired. Change it with your card tools or ask IT.");
        } else {
          throw new EnclaveError('card_unavailable', `The card refused the sign-in: ${(error as Error).message}`);
        }
      }
      const { certificate, key } = findCertificateAndKey(pkcs11, session);
      // The card proves it holds the certificate's key by signing something it has never seen.
      const challenge = randomBytes(32);
      const { mechanism, hash } = signingMechanism(certificate);
      pkcs11.C_SignInit(session, { mechanism }, key);
      const signature = pkcs11.C_Sign(session, challenge, Buffer.alloc(1024));
      const ok = verifySignature(hash, challenge, { key: certificate.publicKey, ...(certificate.publicKey.asymmetricKeyType === 'ec' ? { dsaEncoding: 'ieee-p1363' as const } : {}) }, signature);
      if (!ok) throw new EnclaveError('card_rejected', "The card's signature does not match its certificate; the card may be damaged or not genuine.");
      const checked = checkCardCertificate(Buffer.from(certificate.raw), this.#trust(policy), policy, new Date(this.#o.now()));
      const verified = { ...checked, slotId, tokenSerial: token.serialNumber.trim() };
      if (!withKey) return verified;
      const keyWork = withKey({
        certificateSha256: checked.sha256,
        publicKey: certificate.publicKey,
        decrypt: (blob, hash) => decryptOnCard(pkcs11, session, key, blob, hash),
        sign: (data) => {
          pkcs11.C_SignInit(session, { mechanism }, key);
          return pkcs11.C_Sign(session, data, Buffer.alloc(1024));
        },
      });
      return { ...verified, keyWork };
    } finally {
      try {
        pkcs11.C_Logout(session);
      } catch {
        // Not logged in (a wrong PIN), or the card was pulled.
      }
      try {
        pkcs11.C_CloseSession(session);
      } catch {
        // The card was pulled: the session is gone already.
      }
    }
  }

  #trust(policy: SmartCardPolicy): { cas: X509Certificate[]; crls: Buffer[] } {
    // Regular files only, each under its cap: a FIFO or a device here must not stall sign-in.
    const load = (path: string, setting: string, maxBytes: number): Buffer => {
      try {
        return this.#o.readFile ? this.#o.readFile(path) : readLimitedFileSync(path, { maxBytes });
      } catch (error) {
        const why = error instanceof UnreadableFileError ? `it ${error.problem}` : (error as Error).message;
        throw new EnclaveError('card_unavailable', `${path} (${setting}) cannot be read: ${why}. Contact IT.`);
      }
    };
    return {
      cas: policy.caFiles.flatMap((path) => certificatesFromPem(load(path, 'smartCard.caFiles', FILE_SIZE_LIMITS.pem).toString('utf8'))),
      crls: policy.crlFiles.map((path) => load(path, 'smartCard.crlFiles', FILE_SIZE_LIMITS.crl)),
    };
  }

  close(): void {
    const library = this.#library;
    this.#library = null;
    if (!library) return;
    try {
      if (library.ownsInitialize) library.pkcs11.C_Finalize();
    } catch {
      // Already finalized.
    }
    try {
      library.pkcs11.close();
    } catch {
      // Already unloaded.
    }
  }
}

function triesLeft(pkcs11: pkcs11js.PKCS11, slot: Handle): string {
  try {
    const flags = pkcs11.C_GetTokenInfo(slot).flags;
    if (flags & CKF_USER_PIN_LOCKED) return ' The card has now locked its PIN; contact IT.';
    if (flags & CKF_USER_PIN_FINAL_TRY) return ' One try is left before the card locks.';
    if (flags & CKF_USER_PIN_COUNT_LOW) return ' Few tries are left before the card locks.';
  } catch {
    // The card was pulled.
  }
  return '';
}

/** The PIV authentication certificate and the private key with the same CKA_ID. */
function findCertificateAndKey(pkcs11: pkcs11js.PKCS11, session: Handle): { certificate: X509Certificate; key: Handle } {
  const find = (template: Template): Handle[] => {
    pkcs11.C_FindObjectsInit(session, template);
    try {
      return pkcs11.C_FindObjects(session, 16);
    } finally {
      pkcs11.C_FindObjectsFinal(session);
    }
  };
  for (const handle of find([{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE }])) {
    const [value, id] = pkcs11.C_GetAttributeValue(session, handle, [{ type: pkcs11js.CKA_VALUE }, { type: pkcs11js.CKA_ID }]);
    if (!Buffer.isBuffer(value?.value) || !Buffer.isBuffer(id?.value)) continue;
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(value.value);
    } catch {
      continue;
    }
    const [key] = find([
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
      { type: pkcs11js.CKA_ID, value: id.value },
    ]);
    if (key) return { certificate, key };
  }
  throw new EnclaveError('card_rejected', 'The card holds no certificate with a matching private key for sign-in.');
}

function signingMechanism(certificate: X509Certificate): { mechanism: number; hash: string } {
  const type = certificate.publicKey.asymmetricKeyType;
  if (type === 'rsa') return { mechanism: pkcs11js.CKM_SHA256_RSA_PKCS, hash: 'sha256' };
  if (type === 'ec') return { mechanism: pkcs11js.CKM_ECDSA_SHA256, hash: 'sha256' };
  throw new EnclaveError('card_rejected', `The card's key type (${type ?? 'unknown'}) is not supported for sign-in.`);
}

/** RSA-OAEP (MGF1 with the same hash, no label) by the card's private key. */
function decryptOnCard(pkcs11: pkcs11js.PKCS11, session: Handle, key: Handle, blob: Buffer, hash: 'sha256' | 'sha1'): Buffer {
  const parameter: pkcs11js.RsaOAEP = {
    type: pkcs11js.CK_PARAMS_RSA_OAEP,
    hashAlg: hash === 'sha256' ? pkcs11js.CKM_SHA256 : pkcs11js.CKM_SHA_1,
    mgf: hash === 'sha256' ? pkcs11js.CKG_MGF1_SHA256 : pkcs11js.CKG_MGF1_SHA1,
    source: CKZ_DATA_SPECIFIED,
  };
  pkcs11.C_DecryptInit(session, { mechanism: pkcs11js.CKM_RSA_PKCS_OAEP, parameter }, key);
  return pkcs11.C_Decrypt(session, blob, Buffer.alloc(512));
}
