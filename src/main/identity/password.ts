// Password hashing (evaluation passwords and directory offline verifiers):
// scrypt (RFC 7914) from Node's crypto. Hashes made at an older cost still
// verify; needsRehash says when one should be replaced at the next sign-in.
import { randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';

interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** The cost of new hashes: N=2^17, r=8 (128 MiB of memory per hash). */
export const PASSWORD_HASH_PARAMS: Readonly<ScryptParams> = { N: 1 << 17, r: 8, p: 1 };
const KEY_BYTES = 32;

/**
 * Bounds on the parameters a stored hash may name. A hash is read from the
 * database, which a person with the key could edit: an absurd N or r must not
 * make a sign-in allocate gigabytes or run for minutes.
 */
const LIMITS = { minN: 1 << 14, maxN: 1 << 20, maxR: 32, maxP: 16 } as const;

function scrypt(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  // scrypt needs 128 * N * r bytes (plus 128 * r * p for its first pass); Node refuses above maxmem, so leave twice that.
  const maxmem = 2 * 128 * params.r * (params.N + params.p);
  return new Promise((resolve, reject) => {
    scryptCallback(password.normalize('NFKC'), salt, KEY_BYTES, { ...params, maxmem }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** `scrypt$N$r$p$salt$hash` (salt and hash base64). */
export async function hashPassword(password: string, params: ScryptParams = PASSWORD_HASH_PARAMS): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), key.toString('base64')].join('$');
}

function parse(stored: string): (ScryptParams & { salt: Buffer; hash: Buffer }) | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = parts.slice(1, 4).map((part) => (/^[0-9]{1,8}$/.test(part) ? Number(part) : NaN)) as [number, number, number];
  const powerOfTwo = Number.isInteger(N) && N > 1 && (N & (N - 1)) === 0;
  if (!powerOfTwo || N < LIMITS.minN || N > LIMITS.maxN || !(r >= 1 && r <= LIMITS.maxR) || !(p >= 1 && p <= LIMITS.maxP)) return null;
  return { N, r, p, salt: Buffer.from(parts[4]!, 'base64'), hash: Buffer.from(parts[5]!, 'base64') };
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parse(stored);
  if (!parsed || parsed.hash.length !== KEY_BYTES || parsed.salt.length === 0) return false;
  const actual = await scrypt(password, parsed.salt, parsed);
  return timingSafeEqual(actual, parsed.hash);
}

/** Whether a hash that just verified was made at a lower cost than new ones: it is replaced at the sign-in (or unlock) that proved the password. */
export function needsRehash(stored: string): boolean {
  const parsed = parse(stored);
  return !parsed || parsed.N < PASSWORD_HASH_PARAMS.N || parsed.r < PASSWORD_HASH_PARAMS.r || parsed.p < PASSWORD_HASH_PARAMS.p;
}

/** A hash to check against when the user does not exist, at the cost of new hashes, so both paths take the same time. */
export const DUMMY_PASSWORD_HASH = `scrypt$${PASSWORD_HASH_PARAMS.N}$${PASSWORD_HASH_PARAMS.r}$${PASSWORD_HASH_PARAMS.p}$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=`;
