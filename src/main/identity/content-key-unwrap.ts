// Opening a person's chat keys (see content-keys.ts for the rules): with a
// smart card, inside its logged-in session, and with a password, one scrypt
// per salt. Also the formats both sides share: what a card signs for a
// wrapping, the bounds on stored parameters, a key's check value.
import { createHmac, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { contentKeys as keyRows, type ReadableDb } from '../store/index.js';
import { CONTENT_KEY_BYTES, derivePasswordKey, keyCheck, keyCheckMatches, OAEP_HASHES, open, seal, wrapAad, wrapForCard, type KdfParams, type OaepHash } from './content-crypto.js';
import { verifyCardSignature, type CardKeyAccess } from './smart-card.js';

type WrapRow = keyRows.WrapRow;

/** What a card opened while it was logged in (the card session closes before the person is known). */
export interface CardUnwrapped {
  certificateSha256: string;
  publicKey: KeyObject;
  /** The OAEP hash this card decrypts with; null: it decrypts with none (it cannot hold chat keys). */
  oaepHash: OaepHash | null;
  opened: { keyId: string; userId: string; key: Buffer }[];
  damagedWraps: number;
  /** Wrappings made and signed by the card while it was in: for the keys the ring held then (of `heldFor`), and for `candidate`. */
  signedWraps: Map<string, SignedCardWrap>;
  heldFor: string | null;
  /** A new key for new chats, should the sign-in hold none. */
  candidate: { keyId: string; key: Buffer } | null;
}

export interface SignedCardWrap {
  wrapped: Buffer;
  signature: Buffer;
}

/** What the card signs for a wrapping: a fixed label (never a bare challenge), the key id, the certificate, the wrapped bytes. */
export function cardWrapSigned(keyId: string, certificateSha256: string, wrapped: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`enclave card wrap v1\n${keyId}\n${certificateSha256}\n`, 'utf8'), wrapped]);
}

export interface PasswordKek {
  salt: Buffer;
  kek: Buffer;
  params: KdfParams;
}

/** The keys the ring holds now, and whose they are. */
export interface HeldKeys {
  userId: string | null;
  keys: ReadonlyMap<string, Buffer>;
}

/** Password salts tried per sign-in or recovery, newest first. */
export const MAX_PASSWORD_SALTS_TRIED = 8;

/** Bounds on stored scrypt parameters: a row written by anyone else must not make a sign-in take gigabytes. */
export function kdfParams(text: string): KdfParams | null {
  try {
    const p = JSON.parse(text) as Partial<KdfParams>;
    if (p.name !== 'scrypt' || !Number.isInteger(p.N) || !Number.isInteger(p.r) || !Number.isInteger(p.p)) return null;
    if (p.N! < 1 << 14 || p.N! > 1 << 18 || (p.N! & (p.N! - 1)) !== 0 || p.r! < 1 || p.r! > 8 || p.p! < 1 || p.p! > 2) return null;
    return { name: 'scrypt', N: p.N!, r: p.r!, p: p.p! };
  } catch {
    return null;
  }
}

export function oaepParams(text: string): OaepHash | null {
  try {
    const p = JSON.parse(text) as { name?: unknown; hash?: unknown };
    return p.name === 'rsa-oaep' && (OAEP_HASHES as readonly unknown[]).includes(p.hash) ? (p.hash as OaepHash) : null;
  } catch {
    return null;
  }
}

/** HMAC of the key id under the key: an unwrapped key is the key of that id, not another one swapped in. */
export function contentKeyCheck(key: Buffer, keyId: string): Buffer {
  return createHmac('sha256', key).update(`enclave content key ${keyId}`).digest();
}

export function isKeyOf(key: Buffer, keyId: string, stored: Buffer): boolean {
  const actual = contentKeyCheck(key, keyId);
  return key.length === CONTENT_KEY_BYTES && actual.length === stored.length && timingSafeEqual(actual, stored);
}

/** A password wrapping of `key` under the password key `kek`. */
export function passwordWrap(keyId: string, key: Buffer, kek: PasswordKek, createdAt: number): keyRows.NewWrap {
  return {
    id: uuidv7(),
    keyId,
    kind: 'password',
    cardSha256: null,
    params: JSON.stringify(kek.params),
    salt: kek.salt,
    kekCheck: keyCheck(kek.kek),
    wrapped: seal(kek.kek, key, wrapAad(keyId)),
    signature: null,
    createdAt,
  };
}

/**
 * Inside the card's logged-in session: opens every key wrapped to this
 * certificate, and finds the OAEP hash the card decrypts with (by a test
 * decryption when nothing was wrapped to it yet). Every key it opens or
 * makes is handed to `stage` (the ring zeroes what no sign-in takes up).
 */
export function unwrapWithCard(db: ReadableDb, access: CardKeyAccess, held: HeldKeys, now: () => number, stage: (key: Buffer) => void): CardUnwrapped {
  const opened: CardUnwrapped['opened'] = [];
  let damagedWraps = 0;
  let oaepHash: OaepHash | null = null;
  for (const row of keyRows.wrapsForCard(db, access.certificateSha256)) {
    const hash = oaepParams(row.params);
    // Only a wrapping this card signed is opened: one planted by anyone else is damage.
    const signed = row.signature !== null && verifyCardSignature(access.publicKey, cardWrapSigned(row.key_id, access.certificateSha256, row.wrapped), row.signature);
    let key: Buffer | null = null;
    try {
      key = hash && signed ? access.decrypt(row.wrapped, hash) : null;
    } catch {
      key = null;
    }
    if (key && isKeyOf(key, row.key_id, row.key_check)) {
      opened.push({ keyId: row.key_id, userId: row.user_id, key });
      stage(key);
      oaepHash = hash;
    } else {
      key?.fill(0);
      damagedWraps++;
    }
  }
  if (!oaepHash) {
    for (const hash of OAEP_HASHES) {
      const probe = randomBytes(CONTENT_KEY_BYTES);
      try {
        const back = access.decrypt(wrapForCard(access.publicKey, probe, hash), hash);
        const same = back.equals(probe);
        back.fill(0);
        if (same) {
          oaepHash = hash;
          break;
        }
      } catch {
        // This card does not do OAEP with this hash: the next one.
      } finally {
        probe.fill(0);
      }
    }
  }
  // Wrappings the commit may need, made and signed now while the card is in: for the keys held
  // (the same person unlocking with the card), and for a new key should the sign-in hold none.
  const signedWraps = new Map<string, SignedCardWrap>();
  let candidate: CardUnwrapped['candidate'] = null;
  if (oaepHash) {
    const hash = oaepHash;
    const signWrap = (keyId: string, key: Buffer): void => {
      const wrapped = wrapForCard(access.publicKey, key, hash);
      signedWraps.set(keyId, { wrapped, signature: access.sign(cardWrapSigned(keyId, access.certificateSha256, wrapped)) });
    };
    const wrappedAlready = new Set(opened.map((entry) => entry.keyId));
    for (const [keyId, key] of held.keys) if (!wrappedAlready.has(keyId)) signWrap(keyId, key);
    candidate = { keyId: uuidv7({ msecs: now() }), key: randomBytes(CONTENT_KEY_BYTES) };
    stage(candidate.key);
    signWrap(candidate.keyId, candidate.key);
  }
  return { certificateSha256: access.certificateSha256, publicKey: access.publicKey, oaepHash, opened, damagedWraps, signedWraps, heldFor: held.userId, candidate };
}

/** Tries the password on the person's password wrappings (one scrypt per salt) whose key `wanted` accepts. */
export async function openWithPassword(
  db: ReadableDb,
  userId: string,
  password: string,
  wanted: (keyId: string) => boolean,
): Promise<{ opened: Map<string, Buffer>; matched: PasswordKek[]; damaged: boolean }> {
  const bySalt = new Map<string, WrapRow[]>();
  for (const row of keyRows.passwordWrapsOfUser(db, userId)) {
    if (!wanted(row.key_id) || !row.salt || !row.kek_check) continue;
    const group = `${row.salt.toString('hex')}/${row.params}`;
    bySalt.set(group, [...(bySalt.get(group) ?? []), row]);
  }
  const opened = new Map<string, Buffer>();
  const matched: PasswordKek[] = [];
  let damaged = false;
  // One scrypt per salt: the newest few only (a salt per password never recovered), so rows added by anyone cannot make a sign-in take minutes.
  for (const rows of [...bySalt.values()].reverse().slice(0, MAX_PASSWORD_SALTS_TRIED)) {
    const first = rows[0]!;
    const params = kdfParams(first.params);
    if (!params) {
      damaged = true;
      continue;
    }
    const kek = await derivePasswordKey(password, first.salt!, params);
    if (!rows.some((row) => keyCheckMatches(kek, row.kek_check!))) {
      // Not this password (an earlier one): not damage.
      kek.fill(0);
      continue;
    }
    matched.push({ salt: first.salt!, kek, params });
    for (const row of rows) {
      try {
        const key = open(kek, row.wrapped, wrapAad(row.key_id));
        if (isKeyOf(key, row.key_id, row.key_check) && !opened.has(row.key_id)) opened.set(row.key_id, key);
        else {
          if (!opened.has(row.key_id)) damaged = true;
          key.fill(0);
        }
      } catch {
        damaged = true;
      }
    }
  }
  return { opened, matched, damaged };
}
