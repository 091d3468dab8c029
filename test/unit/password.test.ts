// Password hashes: today's cost, old hashes still verify, and a stored hash cannot make a check allocate or run without bound.
import { describe, expect, it } from 'vitest';
import { DUMMY_PASSWORD_HASH, hashPassword, needsRehash, PASSWORD_HASH_PARAMS, verifyPassword } from '../../src/main/identity/password.js';

describe('password hashes', () => {
  it('are made at N=2^17, r=8, p=1, and the dummy hash for unknown users costs the same', async () => {
    expect(PASSWORD_HASH_PARAMS).toEqual({ N: 131072, r: 8, p: 1 });
    const hash = await hashPassword('correct horse battery');
    expect(hash).toMatch(/^scrypt\$131072\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(await verifyPassword('correct horse battery', hash)).toBe(true);
    expect(await verifyPassword('correct horse batterz', hash)).toBe(false);
    expect(needsRehash(hash)).toBe(false);
    expect(DUMMY_PASSWORD_HASH.split('$').slice(1, 4)).toEqual(['131072', '8', '1']);
    expect(await verifyPassword('anything', DUMMY_PASSWORD_HASH)).toBe(false);
  });

  it('an old N=2^15 hash still verifies and is marked for upgrade', async () => {
    const old = await hashPassword('correct horse battery', { N: 1 << 15, r: 8, p: 1 });
    expect(await verifyPassword('correct horse battery', old)).toBe(true);
    expect(needsRehash(old)).toBe(true);
  });

  it('a stored hash naming an absurd cost, or malformed, is refused without running scrypt at it', async () => {
    const salt = 'AAAAAAAAAAAAAAAAAAAAAA==';
    const key = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
    for (const stored of [
      `scrypt$1073741824$8$1$${salt}$${key}`, // N=2^30: 128 GiB
      `scrypt$131072$1024$1$${salt}$${key}`,
      `scrypt$131072$8$1000$${salt}$${key}`,
      `scrypt$100000$8$1$${salt}$${key}`, // not a power of two
      `scrypt$1024$8$1$${salt}$${key}`, // below the floor
      `scrypt$131072$8$1$${salt}$AAAA`,
      `scrypt$131072$8$1$${salt}`,
      `bcrypt$131072$8$1$${salt}$${key}`,
      '',
    ]) {
      expect(await verifyPassword('x', stored), stored).toBe(false);
    }
  });
});
