// Directory sign-in through the real core against a real Samba AD domain
// controller on loopback (test/support/samba-global-setup.ts): roles from
// nested groups, AD's refusals as plain messages, hostile names, several DCs,
// untrusted certificates, offline sign-in and a different person at the lock.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Core } from '../../src/main/core/index.js';
import { sha256File } from '../../src/main/inference/index.js';
import { exportAuditBundle, privateTextOf } from '../support/audit-internals.js';
import { call, callError } from '../support/core.js';
import { bundleTexts, leaks, siemRenderings } from '../support/phi.js';
import { startDirectoryCore, type DirectoryCoreOptions } from '../support/directory-policy.js';
import { Attribute, Change } from 'ldapts';
import { attachSambaDc, UF_NORMAL_ACCOUNT, unicodePwd, withAdmin, type SambaDc } from '../support/samba-dc.js';
import { withTlsVerificationOffInEnvironment } from '../support/insecure-tls-env.js';
import { testModelPath } from '../support/test-model.js';

let dc: SambaDc;
let modelSha256: string;
let modelPath: string;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  dc = attachSambaDc(inject('sambaDc'));
  modelPath = await testModelPath();
  modelSha256 = await sha256File(modelPath);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await dc.unlock('lockable').catch(() => undefined);
});

/** A port where nothing listens: an unreachable domain controller. */
const DEAD_DC = 'ldaps://127.0.0.1:1';

const start = (options: Pick<DirectoryCoreOptions, 'directory' | 'dataDir' | 'key' | 'now' | 'acceptableUse'> = {}) =>
  startDirectoryCore(dc.info(), { path: modelPath, sha256: modelSha256 }, cleanups, options);

function loginEvents(core: Core): { outcome: string; reason?: string; user?: { id?: string; name: string; auth_method?: string } }[] {
  return (core.store.writer.prepare('SELECT record FROM audit_events ORDER BY seq').all() as { record: string }[])
    .map((r) => JSON.parse(r.record) as { event: { action: string; outcome: string; reason?: string }; user?: { id?: string; name: string; auth_method?: string } })
    .filter((r) => r.event.action === 'auth.login')
    .map((r) => ({ outcome: r.event.outcome, ...(r.event.reason ? { reason: r.event.reason } : {}), ...(r.user ? { user: r.user } : {}) }));
}

describe('directory sign-in against Samba AD', () => {
  it('signs a clinician in by name, DOMAIN\\name and UPN, with roles from the group and the objectGUID as id', async () => {
    const core = await start();
    const { clinician } = dc.users;
    for (const typed of [clinician.username, `${dc.netbiosDomain}\\${clinician.username}`, clinician.upn.toUpperCase()]) {
      const session = await call(core, 'auth.signIn', { username: typed, password: clinician.password });
      expect(session).toMatchObject({ state: 'active', user: { username: clinician.upn.toLowerCase(), displayName: clinician.displayName, roles: ['clinician'], authMethod: 'directory-password' } });
      await call(core, 'auth.signOut', {});
    }
    const ids = new Set(loginEvents(core).map((e) => e.user?.id));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('maps nested, compliance and administrator groups to roles, and refuses a user in no mapped group', async () => {
    const core = await start();
    const roles = async (key: 'researcher' | 'compliance' | 'admin') => {
      const user = dc.users[key];
      const session = await call(core, 'auth.signIn', { username: user.username, password: user.password });
      await call(core, 'auth.signOut', {});
      return session.state === 'active' ? session.user.roles : [];
    };
    expect(await roles('researcher')).toEqual(['researcher']);
    expect(await roles('compliance')).toEqual(['compliance']);
    expect(await roles('admin')).toEqual(['administrator']);

    const { noGroups } = dc.users;
    const refused = await callError(core, 'auth.signIn', { username: noGroups.username, password: noGroups.password });
    expect(refused).toEqual({ code: 'no_role', message: `Your account (${noGroups.upn.toLowerCase()}) is not in any group that may use Enclave. Ask IT to add you to the right group.` });
    expect(loginEvents(core).at(-1)).toMatchObject({ outcome: 'failure', reason: 'no_role' });
    expect((await call(core, 'app.status', {})).session.state).toBe('signed-out');
  });

  it("turns AD's refusals into plain messages, each audited with its reason", async () => {
    const core = await start();
    const cases: [string, string, string, RegExp, string][] = [
      [dc.users.clinician.username, 'not the password', 'bad_credentials', /user name or password is not correct/, 'bad_password'],
      ['nobody-by-this-name', 'whatever it is', 'bad_credentials', /user name or password is not correct/, 'bad_password'],
      [dc.users.disabled.username, dc.users.disabled.password, 'account_disabled', /account is disabled/, 'account_disabled'],
      [dc.users.mustChange.username, dc.users.mustChange.password, 'password_expired', /must change your password/, 'password_must_change'],
      [dc.users.accountExpired.username, dc.users.accountExpired.password, 'account_expired', /account has expired/, 'account_expired'],
    ];
    for (const [username, password, code, message, reason] of cases) {
      const error = await callError(core, 'auth.signIn', { username, password });
      expect(error.code, username).toBe(code);
      expect(error.message).toMatch(message);
      // AD answers a wrong password and an unknown name alike, so a name that no account here has is recorded by keyed token
      // (it may be a password typed into the wrong field); the other refusals come only for a name AD matched to an account.
      const name = code === 'bad_credentials' ? expect.stringMatching(/^hmac-sha256:[0-9a-f]{64}$/) : username;
      expect(loginEvents(core).at(-1)).toMatchObject({ outcome: 'failure', reason, user: { name } });
    }
    expect((await call(core, 'app.status', {})).session.state).toBe('signed-out');
  });

  it('says when AD has locked the account', async () => {
    const core = await start();
    const { lockable } = dc.users;
    try {
      for (let i = 0; i < dc.info().lockoutThreshold; i++) await callError(core, 'auth.signIn', { username: lockable.username, password: `wrong ${i}` });
      const locked = await callError(core, 'auth.signIn', { username: lockable.username, password: lockable.password });
      expect(locked).toMatchObject({ code: 'account_locked', message: expect.stringMatching(/locked after too many wrong passwords/) });
    } finally {
      await dc.unlock('lockable');
    }
  });

  it('hostile user names are escaped: they sign nobody in and match nobody else', async () => {
    const core = await start();
    const password = dc.users.clinician.password;
    for (const hostile of ['*', `${dc.users.clinician.username})(|(sAMAccountName=*`, `*)(objectClass=*`, `*@${dc.upnSuffix}`, `CN=${dc.users.clinician.displayName},CN=Users,${dc.baseDn}`]) {
      const error = await callError(core, 'auth.signIn', { username: hostile, password });
      expect(error.code, hostile).toBe('bad_credentials');
    }
    expect(loginEvents(core).every((e) => e.outcome === 'failure')).toBe(true);
  });

  it('refuses an empty-looking password without asking the DC (an LDAP unauthenticated bind)', async () => {
    const core = await start();
    expect((await callError(core, 'auth.signIn', { username: dc.users.clinician.username, password: '' })).code).toBe('invalid_input');
  });
});

describe('the account signed in is the account that bound', () => {
  /**
   * Two accounts AD allows side by side: sAMAccountName jdoe (UPN under the
   * realm), and another whose UPN is jdoe@ the policy's alternative suffix.
   * A bare "jdoe" binds as jdoe@<upnSuffix>, the other account, and today's
   * lookup by sAMAccountName then returns the first one.
   */
  async function twoJdoes(): Promise<{ suffix: string; jdoe: { dn: string; password: string }; impostor: { dn: string; password: string } }> {
    const suffix = 'hospital.example';
    const jdoe = { dn: `CN=John Doe,CN=Users,${dc.baseDn}`, password: 'Jdoe-Pa55word!' };
    const impostor = { dn: `CN=Mallory Impostor,CN=Users,${dc.baseDn}`, password: 'Mallory-Pa55word!' };
    const account = (sam: string, upn: string, password: string) => [
      new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'user'] }),
      new Attribute({ type: 'sAMAccountName', values: [sam] }),
      new Attribute({ type: 'userPrincipalName', values: [upn] }),
      new Attribute({ type: 'displayName', values: [sam] }),
      new Attribute({ type: 'unicodePwd', values: [unicodePwd(password)] }),
      new Attribute({ type: 'userAccountControl', values: [String(UF_NORMAL_ACCOUNT)] }),
    ];
    await withAdmin(dc, async (admin) => {
      await admin.add(jdoe.dn, account('jdoe', `jdoe@${dc.upnSuffix}`, jdoe.password));
      await admin.add(impostor.dn, account('mallory', `jdoe@${suffix}`, impostor.password));
      await admin.modify(dc.groups.clinicians, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [jdoe.dn] }) }));
    });
    cleanups.push(() =>
      withAdmin(dc, async (admin) => {
        await admin.del(jdoe.dn);
        await admin.del(impostor.dn);
      }),
    );
    return { suffix, jdoe, impostor };
  }

  it('refuses a bare name whose bind signs in another account (a UPN under the alternative suffix), and audits it', async () => {
    const { suffix, jdoe, impostor } = await twoJdoes();
    const core = await start({ directory: { upnSuffix: suffix, netbiosDomain: '' } });
    // Mallory's password, John Doe's name: before the fix this signed Mallory in as John Doe, a clinician.
    const refused = await callError(core, 'auth.signIn', { username: 'jdoe', password: impostor.password });
    expect(refused).toMatchObject({ code: 'account_restricted', message: expect.stringMatching(/belongs to a different directory account/) });
    expect((await call(core, 'app.status', {})).session.state).toBe('signed-out');
    expect(loginEvents(core).at(-1)).toMatchObject({ outcome: 'failure', reason: 'bound_account_mismatch' });
    // The same refusal guards emergency access, which binds the same way.
    expect(await callError(core, 'auth.breakGlass', { username: 'jdoe', password: impostor.password, reason: 'Records needed for a patient in the emergency department' })).toMatchObject({
      code: 'account_restricted',
    });
    // John Doe himself, by a name that binds him, still signs in as himself.
    const session = await call(core, 'auth.signIn', { username: `jdoe@${dc.upnSuffix}`, password: jdoe.password });
    expect(session).toMatchObject({ state: 'active', user: { username: `jdoe@${dc.upnSuffix}`, roles: ['clinician'] } });
  });

  it('refuses DOMAIN\\name when policy names no NetBIOS domain, and says what to type', async () => {
    const core = await start({ directory: { netbiosDomain: '' } });
    const { clinician } = dc.users;
    for (const typed of [`${dc.netbiosDomain}\\${clinician.username}`, `OTHER\\${clinician.username}`]) {
      const refused = await callError(core, 'auth.signIn', { username: typed, password: clinician.password });
      expect(refused).toEqual({ code: 'invalid_input', message: 'This workstation does not accept DOMAIN\\name (directory.netbiosDomain is not set). Type your user name as name or name@domain.' });
    }
    expect((await call(core, 'app.status', {})).session.state).toBe('signed-out');
    expect((await call(core, 'auth.signIn', { username: clinician.username, password: clinician.password })).state).toBe('active');
  });
});

describe('domain controllers: order, time limits, trust', () => {
  it('tries the next DC when the first refuses the connection or does not answer in time', async () => {
    // Accepts the connection and says nothing, like a hung DC.
    const accepted = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      accepted.add(socket);
      // Read (and ignore) what arrives, so the hang-up is seen.
      socket.resume();
      socket.on('close', () => accepted.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => silent.close(resolve)));
    const silentPort = (silent.address() as net.AddressInfo).port;
    const core = await start({ directory: { servers: [DEAD_DC, `ldaps://127.0.0.1:${silentPort}`, dc.ldapsUrl], timeoutSeconds: 1 } });
    const { clinician } = dc.users;
    const started = Date.now();
    expect((await call(core, 'auth.signIn', { username: clinician.username, password: clinician.password })).state).toBe('active');
    expect(Date.now() - started).toBeLessThan(15_000);
    // Enclave hung up on the silent DC rather than leaving the connection open.
    await expect.poll(() => accepted.size, { timeout: 5000 }).toBe(0);
  });

  it('signs in over StartTLS on 389', async () => {
    const core = await start({ directory: { servers: [dc.ldapUrl], startTls: true } });
    const { clinician } = dc.users;
    expect((await call(core, 'auth.signIn', { username: clinician.username, password: clinician.password })).state).toBe('active');
  });

  it("refuses a DC whose certificate is not from the policy's CA, naming it, without sending the password or signing in offline", async () => {
    const { clinician } = dc.users;
    const first = await start();
    await call(first, 'auth.signIn', { username: clinician.username, password: clinician.password });
    await first.close();
    const core = await start({ dataDir: first.dataDir, key: first.key, directory: { caFile: dc.untrustedCaFile } });
    const error = await callError(core, 'auth.signIn', { username: clinician.username, password: clinician.password });
    expect(error.code).toBe('directory_untrusted');
    expect(error.message).toContain(`${dc.ldapsUrl}: its certificate is not issued by a trusted CA`);
    expect(loginEvents(core).at(-1)).toMatchObject({ outcome: 'failure', reason: 'directory_untrusted' });
  });

  it('still refuses an untrusted DC over LDAPS and StartTLS with NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment', async () => {
    const { clinician } = dc.users;
    for (const directory of [{ servers: [dc.ldapsUrl] }, { servers: [dc.ldapUrl], startTls: true }]) {
      const core = await start({ directory: { ...directory, caFile: dc.untrustedCaFile } });
      const error = await withTlsVerificationOffInEnvironment(() => callError(core, 'auth.signIn', { username: clinician.username, password: clinician.password }));
      expect(error, directory.servers[0]).toMatchObject({ code: 'directory_untrusted', message: expect.stringContaining(`${directory.servers[0]}: its certificate is not issued by a trusted CA`) });
      expect((await call(core, 'app.status', {})).session.state).toBe('signed-out');
    }
  });

  it('a DC that will not take a password over plain LDAP is a clear refusal, not offline mode', async () => {
    const core = await start({ directory: { servers: [dc.ldapUrl], startTls: false, allowUnencryptedLab: true } });
    const error = await callError(core, 'auth.signIn', { username: dc.users.clinician.username, password: dc.users.clinician.password });
    expect(error.code).toBe('directory_unreachable');
    expect(error.message).toMatch(/refused: .*[Ee]ncryption required/);
  });
});

describe('offline sign-in', () => {
  it("after an online sign-in, the same person signs in offline while no DC answers, for the policy's days only", async () => {
    const { clinician, researcher } = dc.users;
    const online = await start();
    await call(online, 'auth.signIn', { username: clinician.username, password: clinician.password });
    await online.close();

    let now = Date.now();
    const offline = await start({ dataDir: online.dataDir, key: online.key, directory: { servers: [DEAD_DC], offlineSignInDays: 7 }, now: () => now });
    const session = await call(offline, 'auth.signIn', { username: clinician.username, password: clinician.password });
    expect(session).toMatchObject({ state: 'active', user: { username: clinician.upn.toLowerCase(), roles: ['clinician'], authMethod: 'directory-password-offline' } });
    await call(offline, 'auth.signOut', {});

    expect(await callError(offline, 'auth.signIn', { username: clinician.username, password: 'not the password' })).toMatchObject({ code: 'bad_credentials' });
    const stranger = await callError(offline, 'auth.signIn', { username: researcher.username, password: researcher.password });
    expect(stranger).toMatchObject({
      code: 'directory_unreachable',
      message: expect.stringMatching(/No domain controller answered \(ldaps:\/\/127\.0\.0\.1:1: connection refused\)\. Signing in offline works only within 7 days/),
    });

    now += 8 * 86_400_000;
    expect((await callError(offline, 'auth.signIn', { username: clinician.username, password: clinician.password })).code).toBe('directory_unreachable');
    expect(loginEvents(offline).map((e) => e.reason ?? e.user?.auth_method)).toEqual([
      'directory-password',
      'directory-password-offline',
      'bad_password_offline',
      'directory_unreachable',
      'directory_unreachable',
    ]);
  });
});

describe('the lock', () => {
  it('the same person signing in at the lock unlocks; a different person ends the first session', async () => {
    const core = await start();
    const { clinician, admin } = dc.users;
    await call(core, 'auth.signIn', { username: clinician.username, password: clinician.password });
    const chat = await call(core, 'chat.create', {});
    await call(core, 'auth.lock', {});
    const again = await call(core, 'auth.signIn', { username: clinician.upn, password: clinician.password });
    expect(again).toMatchObject({ state: 'active', user: { username: clinician.upn.toLowerCase() } });
    expect((await call(core, 'chat.list', {})).map((c) => c.id)).toContain(chat.id);
    // Unlock with the password works for directory users too (checked against this session's verifier).
    await call(core, 'auth.lock', {});
    expect((await callError(core, 'auth.unlock', { password: 'nope' })).code).toBe('bad_credentials');
    expect((await call(core, 'auth.unlock', { password: clinician.password })).state).toBe('active');

    await call(core, 'auth.lock', {});
    const other = await call(core, 'auth.signIn', { username: admin.username, password: admin.password });
    expect(other).toMatchObject({ state: 'active', user: { username: admin.upn.toLowerCase(), roles: ['administrator'] } });
    const actions = (core.store.writer.prepare('SELECT record FROM audit_events ORDER BY seq').all() as { record: string }[]).map(
      (r) => JSON.parse(r.record) as { event: { action: string; reason?: string } },
    );
    expect(actions.slice(-3).map((a) => `${a.event.action}${a.event.reason ? `:${a.event.reason}` : ''}`)).toEqual(['auth.lock:user', 'auth.logout:other_user', 'auth.login']);
  });
});

/** The private text kept for each event of this action, in order. */
function privateTexts(core: Core, action: string): Record<string, string>[] {
  const seqs = core.store.writer.prepare('SELECT seq FROM audit_events WHERE action = ? ORDER BY seq').all(action) as { seq: number }[];
  return seqs.map(({ seq }) => privateTextOf(core.store.reader, seq));
}

/** Every record as stored and as each SIEM format renders it. */
function allRenderings(core: Core): string[] {
  return (core.store.writer.prepare('SELECT record FROM audit_events ORDER BY seq').all() as { record: string }[]).flatMap((r) => [r.record, ...siemRenderings(r.record)]);
}

/** An export bundle of everything, written straight from the store. */
function exportAll(core: Core & { dataDir: string }): string {
  const out = join(core.dataDir, `bundle-${randomBytes(4).toString('hex')}`);
  const seal = { maxEvents: 1000, institution: 'test', hostId: core.store.getMeta('host.id')!, hostName: 'test', now: Date.now };
  core.store.transaction((db) => exportAuditBundle(db, {}, out, { exportedBy: 'test', now: Date.now(), seal }));
  return out;
}

describe('a user name typed at sign-in', () => {
  it('that names no account (a password typed as the user name) is recorded by keyed token, never as typed; a known account is named', async () => {
    const core = await start();
    const typed = 'Winter2026!Sunshine';
    expect((await callError(core, 'auth.signIn', { username: typed, password: 'anything at all' })).code).toBe('bad_credentials');
    const { clinician } = dc.users;
    await call(core, 'auth.signIn', { username: clinician.username, password: clinician.password });
    await call(core, 'auth.signOut', {});
    expect((await callError(core, 'auth.signIn', { username: clinician.username, password: 'not the password' })).code).toBe('bad_credentials');
    const failures = loginEvents(core).filter((e) => e.outcome === 'failure');
    expect(failures.map((f) => f.user?.name)).toEqual([expect.stringMatching(/^hmac-sha256:[0-9a-f]{64}$/), clinician.upn.toLowerCase()]);
    expect(privateTexts(core, 'auth.login').find((t) => t.user_name)).toEqual({ user_name: typed });
    expect(leaks(allRenderings(core), [typed])).toEqual([]);
    expect(leaks(bundleTexts(exportAll(core)), [typed])).toEqual([]);
  });
});

describe('break-glass', () => {
  function breakGlassEvents(core: Core): { outcome: string; reason?: string; detail?: Record<string, unknown> }[] {
    return (core.store.writer.prepare('SELECT record FROM audit_events ORDER BY seq').all() as { record: string }[])
      .map((r) => JSON.parse(r.record) as { event: { action: string; outcome: string; reason?: string }; enclave?: { detail?: Record<string, unknown> } })
      .filter((r) => r.event.action === 'auth.breakglass')
      .map((r) => ({ outcome: r.event.outcome, ...(r.event.reason ? { reason: r.event.reason } : {}), ...(r.enclave?.detail ? { detail: r.enclave.detail } : {}) }));
  }
  const REASON = 'Code blue in ED bay 3; the usual sign-in is failing';

  it('a break-glass group member gets a flagged, time-limited session with the stated reason audited', async () => {
    let now = Date.now();
    const core = await start({ now: () => now });
    const { breakGlass } = dc.users;
    const session = await call(core, 'auth.breakGlass', { username: breakGlass.username, password: breakGlass.password, reason: REASON });
    expect(session).toMatchObject({ state: 'active', user: { authMethod: 'break-glass', roles: expect.arrayContaining(['clinician']) }, breakGlass: { expiresAt: now + 60 * 60_000 } });
    // The stated reason may name a patient: the record (and so the SIEM) gets its length and keyed hash; the text stays here.
    expect(breakGlassEvents(core)).toEqual([
      { outcome: 'success', reason: 'emergency_access', detail: { stated_reason_hmac: expect.stringMatching(/^[0-9a-f]{64}$/), stated_reason_chars: REASON.length, expires_at: now + 60 * 60_000 } },
    ]);
    expect(privateTexts(core, 'auth.breakglass')).toEqual([{ stated_reason: REASON }]);
    // The lock keeps the flag; unlocking brings it back. The reason is never sent to the screen, locked (app.status is public) or not.
    await call(core, 'auth.lock', {});
    const locked = await call(core, 'app.status', {});
    expect(locked.session).toMatchObject({ state: 'locked', breakGlass: { expiresAt: now + 60 * 60_000 } });
    expect(JSON.stringify(locked)).not.toContain(REASON);
    const unlocked = await call(core, 'auth.unlock', { password: breakGlass.password });
    expect(unlocked).toMatchObject({ state: 'active', breakGlass: { expiresAt: now + 60 * 60_000 } });
    expect(JSON.stringify([session, unlocked])).not.toContain(REASON);
    // Nowhere outside this workstation: no record, no SIEM message, no export bundle.
    expect(leaks(allRenderings(core), [REASON])).toEqual([]);
    const bundle = exportAll(core);
    expect(leaks(bundleTexts(bundle), [REASON])).toEqual([]);
    // Past its end the session is over, whatever the timers did.
    now += 61 * 60_000;
    expect((await callError(core, 'chat.list', {})).code).toBe('not_signed_in');
    expect((await call(core, 'app.status', {})).session.state).toBe('signed-out');
  });

  it("is never held up by policy's acceptable-use statement, which a normal directory sign-in asks first", async () => {
    const core = await start({ acceptableUse: { text: 'Use Enclave for patient care and approved research only.' } });
    const { breakGlass, clinician } = dc.users;
    // An emergency: the statement is not asked, and nothing is refused for it.
    const emergency = await call(core, 'auth.breakGlass', { username: breakGlass.username, password: breakGlass.password, reason: REASON });
    expect(emergency).toMatchObject({ state: 'active', breakGlass: expect.anything() });
    expect(emergency).not.toHaveProperty('attestation');
    expect(await call(core, 'chat.list', {})).toEqual([]);
    await call(core, 'auth.signOut', {});
    // A directory sign-in asks it, and nothing else is allowed until it is answered.
    expect(await call(core, 'auth.signIn', { username: clinician.username, password: clinician.password })).toMatchObject({
      state: 'active',
      attestation: { text: 'Use Enclave for patient care and approved research only.', lastAcceptedAt: null },
    });
    expect((await callError(core, 'chat.list', {})).code).toBe('attestation_required');
    expect(await call(core, 'auth.attest', { accept: true })).not.toHaveProperty('attestation');
    expect(await call(core, 'chat.list', {})).toEqual([]);
  });

  it('is refused to someone outside the break-glass groups, for too short a reason, and where policy does not enable it', async () => {
    const core = await start();
    const { clinician, breakGlass } = dc.users;
    expect(await callError(core, 'auth.breakGlass', { username: clinician.username, password: clinician.password, reason: REASON })).toMatchObject({
      code: 'forbidden',
      message: expect.stringMatching(/not in a group allowed emergency access/),
    });
    expect(breakGlassEvents(core).at(-1)).toMatchObject({
      outcome: 'failure',
      reason: 'not_break_glass_member',
      detail: { stated_reason_hmac: expect.stringMatching(/^[0-9a-f]{64}$/), stated_reason_chars: REASON.length },
    });
    expect(privateTexts(core, 'auth.breakglass').at(-1)).toEqual({ stated_reason: REASON });
    expect((await callError(core, 'auth.breakGlass', { username: breakGlass.username, password: breakGlass.password, reason: 'urgent' })).code).toBe('invalid_input');
    expect((await callError(core, 'auth.breakGlass', { username: breakGlass.username, password: 'wrong password', reason: REASON })).code).toBe('bad_credentials');
    expect((await call(core, 'app.status', {})).breakGlassEnabled).toBe(true);
  });

  it('works while the DCs are down, against the last online sign-in within breakGlass.offlineMaxAgeDays, when offline sign-in no longer does', async () => {
    const { breakGlass } = dc.users;
    const online = await start();
    await call(online, 'auth.signIn', { username: breakGlass.username, password: breakGlass.password });
    await online.close();
    // Past offline sign-in's 7 days (the default), within emergency access's 14 (see sign-in-hardening.test.ts for the end of those).
    const later = Date.now() + 10 * 86_400_000;
    const offline = await start({ dataDir: online.dataDir, key: online.key, directory: { servers: [DEAD_DC] }, now: () => later });
    expect((await callError(offline, 'auth.signIn', { username: breakGlass.username, password: breakGlass.password })).code).toBe('directory_unreachable');
    const session = await call(offline, 'auth.breakGlass', { username: breakGlass.username, password: breakGlass.password, reason: REASON });
    expect(session).toMatchObject({ state: 'active', user: { authMethod: 'break-glass-offline' }, breakGlass: { expiresAt: expect.any(Number) } });
    expect(leaks(allRenderings(offline), [REASON])).toEqual([]);
  });
});
