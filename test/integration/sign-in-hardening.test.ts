// Sign-in that cannot be talked around (issue 13), through the real core
// against the real Samba AD DC: lockout per account whatever form of the
// name is typed, kept across restarts and doubling; unlock checked against
// AD; too many failed unlocks sign the session out; break-glass kept over a
// sign-in at the lock; offline verifiers that expire; scrypt's cost raised.
import { randomBytes, scryptSync } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Core } from '../../src/main/core/index.js';
import { sha256File } from '../../src/main/inference/index.js';
import { call, callError, EVAL_USER } from '../support/core.js';
import { startDirectoryCore, type DirectoryCoreOptions } from '../support/directory-policy.js';
import { attachSambaDc, type SambaDc } from '../support/samba-dc.js';
import { testModelPath } from '../support/test-model.js';
import { startWithPolicy } from '../support/workload-core.js';

let dc: SambaDc;
let model: { path: string; sha256: string };
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  dc = attachSambaDc(inject('sambaDc'));
  const path = await testModelPath();
  model = { path, sha256: await sha256File(path) };
  // The accounts these tests change in AD start as populated (a DC shared with an earlier run may hold their last state).
  await dc.resetPassword('rotated', dc.users.rotated.password);
  await dc.setDisabled('suspended', false);
  await dc.setGroupMember('admins', 'rotated', false);
  await dc.setGroupMember('clinicians', 'rotated', true);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await dc.resetPassword('rotated', dc.users.rotated.password).catch(() => undefined);
  await dc.setDisabled('suspended', false).catch(() => undefined);
});

const DEAD_DC = 'ldaps://127.0.0.1:1';
const DAY = 86_400_000;

const start = (options: DirectoryCoreOptions = {}) => startDirectoryCore(dc.info(), model, cleanups, options);

interface Event {
  action: string;
  outcome: string;
  reason?: string;
  detail?: Record<string, unknown>;
}

function events(core: Core, action?: string): Event[] {
  return (core.store.writer.prepare('SELECT record FROM audit_events ORDER BY seq').all() as { record: string }[])
    .map((r) => JSON.parse(r.record) as { event: { action: string; outcome: string; reason?: string }; enclave?: { detail?: Record<string, unknown> } })
    .filter((r) => !action || r.event.action === action)
    .map((r) => ({ action: r.event.action, outcome: r.event.outcome, ...(r.event.reason ? { reason: r.event.reason } : {}), ...(r.enclave?.detail ? { detail: r.enclave.detail } : {}) }));
}

function verifierOf(core: Core, upn: string): string | null {
  return (core.store.writer.prepare('SELECT password_hash FROM accounts WHERE username = ?').get(upn.toLowerCase()) as { password_hash: string | null } | undefined)?.password_hash ?? null;
}

async function signedInOnce(core: Core, user: { username: string; password: string }): Promise<void> {
  await call(core, 'auth.signIn', { username: user.username, password: user.password });
  await call(core, 'auth.signOut', {});
}

describe('lockout', () => {
  it('counts one account whatever form of its name is typed, and a restart does not reset it', async () => {
    const { clinician } = dc.users;
    const core = await start({ session: { maxFailedSignIns: 4, failedSignInLockoutSeconds: 600 } });
    await signedInOnce(core, clinician);
    const forms = [clinician.username, `${dc.netbiosDomain}\\${clinician.username}`, clinician.upn.toUpperCase(), ` ${clinician.username.toUpperCase()} `];
    for (const form of forms) expect((await callError(core, 'auth.signIn', { username: form, password: 'not the password' })).code, form).toBe('bad_credentials');
    // The fourth failure, whichever spelling, started the lockout: the right password is refused now, under any spelling.
    expect(events(core, 'auth.login').at(-1)).toMatchObject({ outcome: 'failure', detail: { lockout_started_seconds: 600 } });
    expect(await callError(core, 'auth.signIn', { username: clinician.upn, password: clinician.password })).toMatchObject({ code: 'too_many_attempts' });

    await core.close();
    const again = await start({ dataDir: core.dataDir, key: core.key, session: { maxFailedSignIns: 4, failedSignInLockoutSeconds: 600 } });
    expect(await callError(again, 'auth.signIn', { username: clinician.username, password: clinician.password })).toMatchObject({
      code: 'too_many_attempts',
      message: expect.stringMatching(/Try again in \d+ seconds/),
    });
  });

  it('throttles a name no account here has under every spelling of it', async () => {
    const core = await start({ session: { maxFailedSignIns: 4, failedSignInLockoutSeconds: 600 } });
    const forms = ['ghost', `${dc.netbiosDomain.toLowerCase()}\\Ghost`, `GHOST@${dc.upnSuffix}`, ' ghost\u200b '];
    for (const form of forms) expect((await callError(core, 'auth.signIn', { username: form, password: 'Guess-1-Again!' })).code, form).toBe('bad_credentials');
    expect(await callError(core, 'auth.signIn', { username: 'Ghost', password: 'Guess-2-Again!' })).toMatchObject({ code: 'too_many_attempts' });
    // The lockout table keeps a keyed hash, never the typed name (often a password typed into the wrong field).
    const keys = (core.store.writer.prepare('SELECT key FROM sign_in_lockouts').all() as { key: string }[]).map((r) => r.key);
    expect(keys).toEqual([expect.stringMatching(/^name:[0-9a-f]{64}$/)]);
  });

  it('a burst of guesses sent at once gets no more tries than guesses one after another', async () => {
    const { researcher } = dc.users;
    const core = await start({ session: { maxFailedSignIns: 3, failedSignInLockoutSeconds: 600 } });
    await signedInOnce(core, researcher);
    const burst = await Promise.all(Array.from({ length: 12 }, (_, i) => callError(core, 'auth.signIn', { username: researcher.username, password: `guess ${i}` })));
    const codes = burst.map((e) => e.code);
    expect(codes.filter((c) => c === 'bad_credentials')).toHaveLength(3);
    expect(codes.filter((c) => c === 'too_many_attempts')).toHaveLength(9);
  });

  it('each lockout in a row lasts twice as long as the one before, up to the cap; a successful sign-in starts again', async () => {
    const { clinician } = dc.users;
    let now = Date.now();
    const core = await start({ session: { maxFailedSignIns: 2, failedSignInLockoutSeconds: 60, failedSignInLockoutMaxSeconds: 200 }, now: () => now });
    const lockOut = async (): Promise<unknown> => {
      for (let i = 0; i < 2; i++) await callError(core, 'auth.signIn', { username: clinician.username, password: `wrong ${i}` });
      return events(core, 'auth.login').at(-1)?.detail?.['lockout_started_seconds'];
    };
    expect(await lockOut()).toBe(60);
    now += 59_000;
    expect((await callError(core, 'auth.signIn', { username: clinician.username, password: clinician.password })).code).toBe('too_many_attempts');
    now += 2_000;
    expect(await lockOut()).toBe(120);
    now += 121_000;
    expect(await lockOut()).toBe(200);
    now += 201_000;
    expect(await lockOut()).toBe(200);
    now += 201_000;
    await signedInOnce(core, clinician);
    expect(await lockOut()).toBe(60);
  });
});

describe('unlock at the lock screen', () => {
  it('checks the password against AD: a password changed since sign-in is the one that unlocks', async () => {
    const { rotated } = dc.users;
    const core = await start();
    await call(core, 'auth.signIn', { username: rotated.username, password: rotated.password });
    const verifierBefore = verifierOf(core, rotated.upn);
    await call(core, 'auth.lock', {});
    const changed = 'Newer-8-Lantern!';
    await dc.resetPassword('rotated', changed);
    try {
      expect((await callError(core, 'auth.unlock', { password: rotated.password })).code).toBe('bad_credentials');
      expect(await call(core, 'auth.unlock', { password: changed })).toMatchObject({ state: 'active', user: { username: rotated.upn.toLowerCase() } });
      // The offline verifier was replaced by one of the new password.
      expect(verifierOf(core, rotated.upn)).not.toBe(verifierBefore);
    } finally {
      await dc.resetPassword('rotated', rotated.password);
    }
  });

  it('takes the roles AD gives now; a person no longer in any mapped group does not unlock', async () => {
    const { rotated } = dc.users;
    const core = await start();
    await call(core, 'auth.signIn', { username: rotated.username, password: rotated.password });
    try {
      await call(core, 'auth.lock', {});
      await dc.setGroupMember('admins', 'rotated', true);
      expect(await call(core, 'auth.unlock', { password: rotated.password })).toMatchObject({ state: 'active', user: { roles: expect.arrayContaining(['clinician', 'administrator']) } });
      await call(core, 'auth.lock', {});
      await dc.setGroupMember('admins', 'rotated', false);
      // Signing in again at the lock is an unlock too, with the roles of now.
      expect(await call(core, 'auth.signIn', { username: rotated.username, password: rotated.password })).toMatchObject({ state: 'active', user: { roles: ['clinician'] } });
      await call(core, 'auth.lock', {});
      await dc.setGroupMember('clinicians', 'rotated', false);
      expect(await callError(core, 'auth.unlock', { password: rotated.password })).toMatchObject({
        code: 'no_role',
        message: expect.stringMatching(/no longer in a group.*You have been signed out\./),
      });
      expect((await call(core, 'app.status', {})).session.state).toBe('signed-out');
    } finally {
      await dc.setGroupMember('admins', 'rotated', false);
      await dc.setGroupMember('clinicians', 'rotated', true);
    }
  });

  it('a disabled account does not unlock: the session is signed out', async () => {
    const { suspended } = dc.users;
    const core = await start();
    await call(core, 'auth.signIn', { username: suspended.username, password: suspended.password });
    await call(core, 'chat.create', {});
    await call(core, 'auth.lock', {});
    await dc.setDisabled('suspended', true);
    try {
      expect(await callError(core, 'auth.unlock', { password: suspended.password })).toMatchObject({
        code: 'account_disabled',
        message: expect.stringMatching(/disabled.*You have been signed out\./),
      });
      expect((await call(core, 'app.status', {})).session.state).toBe('signed-out');
      expect(events(core).slice(-2)).toMatchObject([
        { action: 'auth.unlock', outcome: 'failure', reason: 'account_disabled' },
        { action: 'auth.logout', outcome: 'success', reason: 'unlock_refused' },
      ]);
    } finally {
      await dc.setDisabled('suspended', false);
    }
  });

  it('too many wrong passwords at the lock sign the session out, so a full sign-in is needed', async () => {
    const { clinician } = dc.users;
    const core = await start({ session: { maxFailedSignIns: 3, failedSignInLockoutSeconds: 5 } });
    await call(core, 'auth.signIn', { username: clinician.username, password: clinician.password });
    await call(core, 'auth.lock', {});
    expect((await callError(core, 'auth.unlock', { password: 'wrong 1' })).code).toBe('bad_credentials');
    expect((await callError(core, 'auth.unlock', { password: 'wrong 2' })).code).toBe('bad_credentials');
    expect(await callError(core, 'auth.unlock', { password: 'wrong 3' })).toMatchObject({ code: 'not_signed_in', message: expect.stringMatching(/signed out/) });
    expect((await call(core, 'app.status', {})).session.state).toBe('signed-out');
    expect((await callError(core, 'auth.unlock', { password: clinician.password })).code).toBe('not_signed_in');
    expect(
      events(core)
        .filter((e) => e.action === 'auth.logout')
        .at(-1),
    ).toMatchObject({ outcome: 'success', reason: 'too_many_unlock_failures' });
  });

  it('wrong passwords typed by signing in as the locked person count toward signing the session out too', async () => {
    const { clinician } = dc.users;
    const core = await start({ session: { maxFailedSignIns: 2, failedSignInLockoutSeconds: 5 } });
    await call(core, 'auth.signIn', { username: clinician.username, password: clinician.password });
    await call(core, 'auth.lock', {});
    expect((await callError(core, 'auth.unlock', { password: 'wrong 1' })).code).toBe('bad_credentials');
    expect((await callError(core, 'auth.signIn', { username: clinician.upn, password: 'wrong 2' })).code).toBe('bad_credentials');
    await expect.poll(async () => (await call(core, 'app.status', {})).session.state).toBe('signed-out');
  });

  it('falls back to the offline verifier only while no DC answers', async () => {
    const { clinician } = dc.users;
    const online = await start();
    await signedInOnce(online, clinician);
    await online.close();
    const offline = await start({ dataDir: online.dataDir, key: online.key, directory: { servers: [DEAD_DC] } });
    expect((await call(offline, 'auth.signIn', { username: clinician.username, password: clinician.password })).state).toBe('active');
    await call(offline, 'auth.lock', {});
    expect((await callError(offline, 'auth.unlock', { password: 'not it' })).code).toBe('bad_credentials');
    expect((await call(offline, 'auth.unlock', { password: clinician.password })).state).toBe('active');
    expect(events(offline, 'auth.unlock').at(-1)).toMatchObject({ outcome: 'success', reason: 'directory_unreachable' });
  });
});

describe('break-glass', () => {
  const REASON = 'Code blue in ED bay 3; the usual sign-in is failing';

  it('signing in again at the lock keeps the break-glass marker and its end, and the session still ends on time', async () => {
    const { breakGlass } = dc.users;
    let now = Date.now();
    const core = await start({ now: () => now });
    const session = await call(core, 'auth.breakGlass', { username: breakGlass.username, password: breakGlass.password, reason: REASON });
    const expiresAt = now + 60 * 60_000;
    expect(session).toMatchObject({ breakGlass: { expiresAt } });
    await call(core, 'auth.lock', {});
    const again = await call(core, 'auth.signIn', { username: breakGlass.username, password: breakGlass.password });
    expect(again).toMatchObject({ state: 'active', user: { authMethod: 'break-glass', roles: expect.arrayContaining(['clinician']) }, breakGlass: { expiresAt } });
    now = expiresAt + 1;
    expect((await call(core, 'app.status', {})).session.state).toBe('signed-out');
    await expect.poll(() => events(core, 'auth.logout').at(-1)?.reason).toBe('break_glass_expired');
  });

  it('offline emergency access works only within breakGlass.offlineMaxAgeDays of the last online sign-in', async () => {
    const { breakGlass } = dc.users;
    const online = await start();
    await signedInOnce(online, breakGlass);
    await online.close();
    const signedInAt = Date.now();
    let now = signedInAt + 10 * DAY;
    const offline = await start({ dataDir: online.dataDir, key: online.key, directory: { servers: [DEAD_DC], offlineSignInDays: 7 }, breakGlass: { offlineMaxAgeDays: 14 }, now: () => now });
    expect((await callError(offline, 'auth.signIn', { username: breakGlass.username, password: breakGlass.password })).code).toBe('directory_unreachable');
    // Past offline sign-in's 7 days, the break-glass member's verifier is kept for emergency access's 14.
    expect(verifierOf(offline, breakGlass.upn)).not.toBeNull();
    expect((await call(offline, 'auth.breakGlass', { username: breakGlass.username, password: breakGlass.password, reason: REASON })).state).toBe('active');
    await call(offline, 'auth.signOut', {});
    now = signedInAt + 15 * DAY;
    expect(await callError(offline, 'auth.breakGlass', { username: breakGlass.username, password: breakGlass.password, reason: REASON })).toMatchObject({
      code: 'bad_credentials',
      message: expect.stringMatching(/within 14 days/),
    });
    expect(events(offline, 'auth.breakglass').at(-1)).toMatchObject({ outcome: 'failure', reason: 'offline_verifier_expired' });
    expect(verifierOf(offline, breakGlass.upn)).toBeNull();
  });
});

describe('offline verifiers', () => {
  it('are deleted once older than directory.offlineSignInDays, at start', async () => {
    const { clinician } = dc.users;
    const online = await start({ directory: { offlineSignInDays: 7 } });
    await signedInOnce(online, clinician);
    expect(verifierOf(online, clinician.upn)).toMatch(/^scrypt\$131072\$8\$1\$/);
    await online.close();
    const week = await start({ dataDir: online.dataDir, key: online.key, directory: { offlineSignInDays: 7 }, now: () => Date.now() + 6 * DAY });
    expect(verifierOf(week, clinician.upn)).not.toBeNull();
    await week.close();
    const later = await start({ dataDir: online.dataDir, key: online.key, directory: { offlineSignInDays: 7 }, now: () => Date.now() + 8 * DAY });
    expect(verifierOf(later, clinician.upn)).toBeNull();
  });

  it('are never stored when offlineSignInDays is 0, and one stored before goes', async () => {
    const { clinician, researcher } = dc.users;
    const before = await start({ directory: { offlineSignInDays: 7 } });
    await signedInOnce(before, clinician);
    await before.close();
    const none = await start({ dataDir: before.dataDir, key: before.key, directory: { offlineSignInDays: 0 }, breakGlass: { offlineMaxAgeDays: 0 } });
    expect(verifierOf(none, clinician.upn)).toBeNull();
    await signedInOnce(none, researcher);
    expect(verifierOf(none, researcher.upn)).toBeNull();
    // Unlock still works, against AD.
    await call(none, 'auth.signIn', { username: researcher.username, password: researcher.password });
    await call(none, 'auth.lock', {});
    expect((await call(none, 'auth.unlock', { password: researcher.password })).state).toBe('active');
    expect(verifierOf(none, researcher.upn)).toBeNull();
  });
});

describe('password hashing cost', () => {
  /** A hash as the previous release wrote it: scrypt N=2^15, r=8, p=1. */
  function oldHash(password: string): string {
    const salt = randomBytes(16);
    const key = scryptSync(password.normalize('NFKC'), salt, 32, { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    return ['scrypt', 1 << 15, 8, 1, salt.toString('base64'), key.toString('base64')].join('$');
  }

  it('an offline verifier at the old cost still signs in offline and is upgraded to N=2^17 by it', async () => {
    const { clinician } = dc.users;
    const online = await start();
    await signedInOnce(online, clinician);
    online.store.writer.prepare('UPDATE accounts SET password_hash = ? WHERE username = ?').run(oldHash(clinician.password), clinician.upn.toLowerCase());
    await online.close();
    const offline = await start({ dataDir: online.dataDir, key: online.key, directory: { servers: [DEAD_DC] } });
    expect(verifierOf(offline, clinician.upn)).toMatch(/^scrypt\$32768\$/);
    expect((await call(offline, 'auth.signIn', { username: clinician.username, password: clinician.password })).state).toBe('active');
    expect(verifierOf(offline, clinician.upn)).toMatch(/^scrypt\$131072\$8\$1\$/);
  });

  it('an evaluation password hashed at the old cost still signs in and unlocks, and either upgrades it', async () => {
    const core = await startWithPolicy(cleanups, model, ['clinician']);
    const setOld = () => core.store.writer.prepare('UPDATE accounts SET password_hash = ? WHERE username = ?').run(oldHash(EVAL_USER.password), EVAL_USER.username);
    expect(verifierOf(core, EVAL_USER.username)).toMatch(/^scrypt\$131072\$/);
    setOld();
    await call(core, 'auth.lock', {});
    expect((await call(core, 'auth.unlock', { password: EVAL_USER.password })).state).toBe('active');
    expect(verifierOf(core, EVAL_USER.username)).toMatch(/^scrypt\$131072\$8\$1\$/);
    await call(core, 'auth.signOut', {});
    setOld();
    expect((await call(core, 'auth.signIn', { username: EVAL_USER.username, password: EVAL_USER.password })).state).toBe('active');
    expect(verifierOf(core, EVAL_USER.username)).toMatch(/^scrypt\$131072\$8\$1\$/);
  });
});
