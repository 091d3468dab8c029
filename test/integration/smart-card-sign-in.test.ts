// Smart-card sign-in through the real core: SoftHSM2 tokens holding PIV-style
// certificates from a test CA (test/support/smart-card.ts), the real Samba AD
// DC for the accounts the cards map to, and the checks a domain controller
// makes at smart-card logon: PIN, challenge signature, chain, EKU, UPN, CRL.
import { randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createCore, type Core } from '../../src/main/core/index.js';
import { policyFromDocument } from '../../src/main/policy/index.js';
import { privateTextOf } from '../support/audit-internals.js';
import { call, callError, nextEvent } from '../support/core.js';
import { leaks, siemRenderings } from '../support/phi.js';
import { directoryPolicyDocument } from '../support/directory-policy.js';
import type { SambaDcInfo } from '../support/samba-dc.js';
import { createSmartCardLab, type SmartCardKey, type SmartCardLab } from '../support/smart-card.js';
import { signedCrl } from '../support/card-chain.js';
import { tempDir } from '../support/temp.js';
import { approvedTestModel } from '../support/test-model.js';

let dc: SambaDcInfo;
let lab: SmartCardLab;
let model: { path: string; sha256: string };
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  dc = inject('sambaDc');
  model = await approvedTestModel();
  lab = await createSmartCardLab({
    upns: {
      clinician: dc.users.clinician.upn,
      admin: dc.users.admin.upn,
      revoked: dc.users.clinician.upn,
      expired: dc.users.clinician.upn,
      otherCa: dc.users.clinician.upn,
      noEku: dc.users.clinician.upn,
    },
  });
  // SoftHSM2 reads its configuration when the module initialises.
  process.env['SOFTHSM2_CONF'] = lab.softhsmConf;
}, 120_000);
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  for (const card of Object.keys(lab.cards) as SmartCardKey[]) {
    await lab.remove(card);
    await lab.unblockPin(card);
  }
});
afterAll(async () => {
  await lab?.destroy();
});

async function start(smartCard: Record<string, unknown> = {}, now?: () => number, session?: Record<string, unknown>): Promise<Core> {
  const dir = tempDir();
  cleanups.push(dir.remove);
  const document = {
    ...directoryPolicyDocument(dc, model),
    ...(session ? { session } : {}),
    smartCard: { enabled: true, pkcs11Module: lab.modulePath, caFiles: [lab.caFile], crlFiles: [lab.crlFile], ...smartCard },
  };
  const core = await createCore({
    dataDir: dir.path,
    databaseKey: randomBytes(32),
    policy: policyFromDocument(document, 'smart-card test policy'),
    version: 'test',
    log: () => undefined,
    ...(now ? { now } : {}),
  });
  cleanups.push(() => core.close());
  return core;
}

/** The account a card maps to must have signed in here once with its password. */
async function knownUser(core: Core, key: 'clinician' | 'admin'): Promise<void> {
  const user = dc.users[key];
  await call(core, 'auth.signIn', { username: user.username, password: user.password });
  await call(core, 'auth.signOut', {});
}

async function slotOf(core: Core, card: SmartCardKey): Promise<string> {
  const status = await call(core, 'auth.cards', {});
  const reader = status.readers.find((r) => r.card?.label === lab.cards[card].tokenLabel);
  if (!reader) throw new Error(`card ${card} is not in a reader: ${JSON.stringify(status)}`);
  return reader.slotId;
}

async function cardSignIn(core: Core, card: SmartCardKey, pin = lab.cards[card].pin) {
  await lab.insert(card);
  return core.handle({ id: 1, method: 'auth.signInCard', input: { slotId: await slotOf(core, card), pin } });
}

describe('smart-card sign-in', () => {
  it("PIN, challenge and certificate checks pass: the card's UPN signs its directory account in", async () => {
    const core = await start();
    await knownUser(core, 'clinician');
    const response = await cardSignIn(core, 'clinician');
    expect(response).toMatchObject({ ok: true, output: { state: 'active', user: { username: dc.users.clinician.upn.toLowerCase(), roles: ['clinician'], authMethod: 'smart-card' } } });
  });

  it('a card whose owner never signed in here is refused with what to do', async () => {
    const core = await start();
    const response = await cardSignIn(core, 'clinician');
    expect(response).toMatchObject({ ok: false, error: { code: 'no_role', message: expect.stringMatching(/is not known on this workstation yet\. Sign in once with your user name and password/) } });
  });

  it('a wrong PIN says how many tries the card has left, until the card locks its PIN', async () => {
    expect(lab.maxPinTries).toBe(3);
    const core = await start();
    await knownUser(core, 'clinician');
    expect(await cardSignIn(core, 'clinician', '000000')).toMatchObject({
      ok: false,
      error: { code: 'card_pin_incorrect', message: 'That PIN is not correct. Few tries are left before the card locks.' },
    });
    expect(await cardSignIn(core, 'clinician', '000000')).toMatchObject({
      ok: false,
      error: { code: 'card_pin_incorrect', message: 'That PIN is not correct. One try is left before the card locks.' },
    });
    expect(await cardSignIn(core, 'clinician', '000000')).toMatchObject({ ok: false, error: { code: 'card_pin_incorrect', message: expect.stringMatching(/The card has now locked its PIN/) } });
    expect(await cardSignIn(core, 'clinician')).toMatchObject({ ok: false, error: { code: 'card_pin_locked' } });
  });

  it('Enclave counts wrong PINs itself, for tokens that never lock', async () => {
    const core = await start({}, undefined, { maxFailedSignIns: 2, failedSignInLockoutSeconds: 60 });
    await knownUser(core, 'clinician');
    for (let i = 0; i < 2; i++) expect(await cardSignIn(core, 'clinician', '000000')).toMatchObject({ ok: false, error: { code: 'card_pin_incorrect' } });
    expect(await cardSignIn(core, 'clinician')).toMatchObject({
      ok: false,
      error: { code: 'too_many_attempts', message: expect.stringMatching(/^Too many wrong PINs\. Try again in \d+ seconds\.$/) },
    });
    // The card's label (set by its issuer, often the holder's name) is recorded by keyed token, as a smart-card attempt; the label stays here.
    const failures = (core.store.writer.prepare("SELECT seq, record FROM audit_events WHERE action = 'auth.login' ORDER BY seq").all() as { seq: number; record: string }[])
      .map((r) => ({ seq: r.seq, record: JSON.parse(r.record) as { event: { outcome: string; reason?: string }; user?: { name: string; auth_method?: string } } }))
      .filter((r) => r.record.event.outcome === 'failure');
    expect(failures.map((f) => [f.record.event.reason, f.record.user])).toEqual([
      ['bad_pin', { name: expect.stringMatching(/^hmac-sha256:[0-9a-f]{64}$/), auth_method: 'smart-card' }],
      ['bad_pin', { name: expect.stringMatching(/^hmac-sha256:[0-9a-f]{64}$/), auth_method: 'smart-card' }],
      ['too_many_attempts', { name: expect.stringMatching(/^hmac-sha256:[0-9a-f]{64}$/), auth_method: 'smart-card' }],
    ]);
    expect(privateTextOf(core.store.reader, failures[0]!.seq)).toEqual({ user_name: `card ${lab.cards.clinician.tokenLabel}` });
    const everything = (core.store.writer.prepare('SELECT record FROM audit_events').all() as { record: string }[]).flatMap((r) => [r.record, ...siemRenderings(r.record)]);
    expect(leaks(everything, [lab.cards.clinician.tokenLabel])).toEqual([]);
  });

  it.each([
    ['revoked', /has been revoked/],
    ['expired', /expired on/],
    ['otherCa', /not issued by your institution's CA/],
    ['noEku', /lacks the extended key usage 1\.3\.6\.1\.4\.1\.311\.20\.2\.2/],
    ['noUpn', /no user principal name/],
  ] as const)('refuses the %s card with a plain reason, audited', async (card, message) => {
    const core = await start();
    await knownUser(core, 'clinician');
    const response = await cardSignIn(core, card);
    expect(response).toMatchObject({ ok: false, error: { code: 'card_rejected', message: expect.stringMatching(message) } });
    const last = (core.store.writer.prepare('SELECT record FROM audit_events ORDER BY seq DESC LIMIT 1').get() as { record: string }).record;
    expect(JSON.parse(last)).toMatchObject({ event: { action: 'auth.login', outcome: 'failure', reason: 'card_rejected' } });
  });

  it('a certificate that is not valid yet (a workstation clock far behind) is refused', async () => {
    const core = await start({}, () => Date.parse('2001-01-01T00:00:00Z'));
    await knownUser(core, 'clinician');
    expect(await cardSignIn(core, 'clinician')).toMatchObject({ ok: false, error: { code: 'card_rejected', message: expect.stringMatching(/is not valid until \d{4}-/) } });
  });

  it("a CRL past its nextUpdate: refused by default, accepted with a warning within the policy's grace", async () => {
    const strict = await start({ crlFiles: [lab.staleCrlFile] });
    await knownUser(strict, 'clinician');
    expect(await cardSignIn(strict, 'clinician')).toMatchObject({ ok: false, error: { code: 'card_rejected', message: expect.stringMatching(/CRL .* expired on .*nextUpdate/) } });
    await lab.remove('clinician');
    // One core per process holds the card library, as in the app.
    await strict.close();

    const lenient = await start({ crlFiles: [lab.staleCrlFile], staleCrl: 'warn', staleCrlGraceHours: 72 });
    await knownUser(lenient, 'clinician');
    expect(await cardSignIn(lenient, 'clinician')).toMatchObject({ ok: true, output: { state: 'active' } });
  });

  it('a CRL dated in the future, or without nextUpdate, is refused naming the CA whose CRL it is', async () => {
    const ca = new X509Certificate(readFileSync(lab.caFile));
    const dir = tempDir();
    cleanups.push(dir.remove);
    const now = Date.now();
    const crls = {
      future: signedCrl({ issuer: ca, issuerKeyFile: lab.caKeyFile, thisUpdate: new Date(now + 86_400_000), nextUpdate: new Date(now + 8 * 86_400_000) }),
      noNextUpdate: signedCrl({ issuer: ca, issuerKeyFile: lab.caKeyFile, thisUpdate: new Date(now - 3_600_000), nextUpdate: null }),
    };
    const expected = {
      future: /^The CRL for C=US, O=Enclave Test Hospital, CN=Enclave Test Smart Card CA is dated .* \(its thisUpdate\), later than this workstation's clock allows/,
      noNextUpdate: /^The CRL for C=US, O=Enclave Test Hospital, CN=Enclave Test Smart Card CA has no nextUpdate/,
    };
    for (const kind of ['future', 'noNextUpdate'] as const) {
      const file = join(dir.path, `${kind}.crl`);
      writeFileSync(file, crls[kind]);
      const core = await start({ crlFiles: [file] });
      await knownUser(core, 'clinician');
      // Before the fix both CRLs were taken as current, and the card signed in.
      expect(await cardSignIn(core, 'clinician'), kind).toMatchObject({ ok: false, error: { code: 'card_rejected', message: expect.stringMatching(expected[kind]) } });
      await lab.remove('clinician');
      // One core per process holds the card library, as in the app.
      await core.close();
    }
  });

  it("pulling the card locks within two seconds; only the card unlocks; another person's card ends the session", async () => {
    const core = await start();
    await knownUser(core, 'clinician');
    await knownUser(core, 'admin');
    expect(await cardSignIn(core, 'clinician')).toMatchObject({ ok: true });
    const locked = nextEvent(core, 'session.changed', (s) => s.state === 'locked', 10_000);
    const pulledAt = Date.now();
    await lab.remove('clinician');
    expect(await locked).toMatchObject({ state: 'locked', reason: 'card_removed' });
    expect(Date.now() - pulledAt).toBeLessThan(2_000);
    expect((await callError(core, 'auth.unlock', { password: dc.users.clinician.password })).code).toBe('card_unavailable');

    expect(await cardSignIn(core, 'clinician')).toMatchObject({ ok: true, output: { state: 'active', user: { username: dc.users.clinician.upn.toLowerCase() } } });
    await call(core, 'auth.lock', {});
    expect(await cardSignIn(core, 'admin')).toMatchObject({ ok: true, output: { state: 'active', user: { username: dc.users.admin.upn.toLowerCase() } } });
    const reasons = (core.store.writer.prepare('SELECT record FROM audit_events ORDER BY seq').all() as { record: string }[])
      .map((r) => JSON.parse(r.record) as { event: { action: string; reason?: string } })
      .filter((r) => r.event.action === 'auth.logout')
      .map((r) => r.event.reason);
    expect(reasons).toContain('other_user');
  });

  it("without the directory, a card signs in only within smartCard.offlineMaxAgeDays of its owner's last online sign-in here", async () => {
    const DAY = 86_400_000;
    let now = Date.now();
    // No lookup account in this policy: the card maps to the account and roles cached at the last password sign-in.
    const core = await start({ offlineMaxAgeDays: 3 }, () => now);
    await knownUser(core, 'clinician');
    now += 2 * DAY;
    expect(await cardSignIn(core, 'clinician')).toMatchObject({ ok: true, output: { state: 'active' } });
    await call(core, 'auth.signOut', {});
    await lab.remove('clinician');
    now += 2 * DAY;
    expect(await cardSignIn(core, 'clinician')).toMatchObject({
      ok: false,
      error: { code: 'directory_unreachable', message: expect.stringMatching(/within 3 days of its owner's last sign-in here/) },
    });
    const last = (core.store.writer.prepare('SELECT record FROM audit_events ORDER BY seq DESC LIMIT 1').get() as { record: string }).record;
    expect(JSON.parse(last)).toMatchObject({ event: { action: 'auth.login', outcome: 'failure', reason: 'card_account_stale' } });
    // A password sign-in while the network works makes the card good again.
    await lab.remove('clinician');
    await knownUser(core, 'clinician');
    expect(await cardSignIn(core, 'clinician')).toMatchObject({ ok: true, output: { state: 'active' } });
  });

  it('a PKCS#11 module path that does not exist is a clear message, not a crash', async () => {
    const core = await start({ pkcs11Module: '/nonexistent/opensc-pkcs11.so' });
    const status = await call(core, 'auth.cards', {});
    expect(status).toMatchObject({ enabled: true, readers: [], problem: expect.stringMatching(/\/nonexistent\/opensc-pkcs11\.so \(smartCard\.pkcs11Module\) cannot be loaded/) });
    expect((await callError(core, 'auth.signInCard', { slotId: '00', pin: '123456' })).code).toBe('card_unavailable');
  });
});
