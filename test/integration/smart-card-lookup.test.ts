// Smart cards with a directory lookup account (directory.lookupAccount): the
// card's owner is found in the real Samba AD by UPN, with today's roles and
// account state, without ever having signed in here with a password. Its own
// file: one smart-card lab per process.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createCore, type Core } from '../../src/main/core/index.js';
import { policyFromDocument } from '../../src/main/policy/index.js';
import { call } from '../support/core.js';
import { directoryPolicyDocument } from '../support/directory-policy.js';
import type { SambaDcInfo } from '../support/samba-dc.js';
import { createSmartCardLab, type SmartCardKey, type SmartCardLab } from '../support/smart-card.js';
import { tempDir } from '../support/temp.js';
import { approvedTestModel } from '../support/test-model.js';

let dc: SambaDcInfo;
let lab: SmartCardLab;
let model: { path: string; sha256: string };
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  dc = inject('sambaDc');
  model = await approvedTestModel();
  // The "admin" card carries the disabled AD user's UPN here.
  lab = await createSmartCardLab({ upns: { clinician: dc.users.clinician.upn, admin: dc.users.disabled.upn } });
  process.env['SOFTHSM2_CONF'] = lab.softhsmConf;
}, 120_000);
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  for (const card of ['clinician', 'admin'] as SmartCardKey[]) await lab.remove(card);
});
afterAll(async () => {
  await lab?.destroy();
});

async function start(lookupPassword: string, now?: () => number, directory: Record<string, unknown> = {}): Promise<Core> {
  const dir = tempDir();
  cleanups.push(dir.remove);
  const passwordFile = join(dir.path, 'lookup-password');
  writeFileSync(passwordFile, `${lookupPassword}\n`, { mode: 0o600 });
  const document = directoryPolicyDocument(dc, model, { lookupAccount: dc.administrator.upn, lookupPasswordFile: passwordFile, ...directory });
  const policy = policyFromDocument({ ...document, smartCard: { enabled: true, pkcs11Module: lab.modulePath, caFiles: [lab.caFile], crlFiles: [lab.crlFile] } }, 'lookup test policy');
  const core = await createCore({ dataDir: dir.path, databaseKey: randomBytes(32), policy, version: 'test', log: () => undefined, ...(now ? { now } : {}) });
  cleanups.push(() => core.close());
  return core;
}

async function cardSignIn(core: Core, card: SmartCardKey) {
  await lab.insert(card);
  const reader = (await call(core, 'auth.cards', {})).readers.find((r) => r.card?.label === lab.cards[card].tokenLabel)!;
  return core.handle({ id: 1, method: 'auth.signInCard', input: { slotId: reader.slotId, pin: lab.cards[card].pin } });
}

describe('smart card with a directory lookup account', () => {
  it('signs in a card whose owner never signed in here, with roles from the directory', async () => {
    const core = await start(dc.administrator.password);
    expect(await cardSignIn(core, 'clinician')).toMatchObject({
      ok: true,
      output: { state: 'active', user: { username: dc.users.clinician.upn.toLowerCase(), roles: ['clinician'], authMethod: 'smart-card' } },
    });
  });

  it('refuses a valid card whose directory account is disabled', async () => {
    const core = await start(dc.administrator.password);
    expect(await cardSignIn(core, 'admin')).toMatchObject({ ok: false, error: { code: 'account_disabled' } });
  });

  it("a card lookup does not keep an old password's offline verifier alive: its age counts from the last password sign-in", async () => {
    const DAY = 86_400_000;
    const { clinician } = dc.users;
    let now = Date.now();
    const core = await start(dc.administrator.password, () => now, { offlineSignInDays: 3 });
    await call(core, 'auth.signIn', { username: clinician.username, password: clinician.password });
    await call(core, 'auth.signOut', {});
    const verifier = () => (core.store.writer.prepare('SELECT password_hash FROM accounts WHERE username = ?').get(clinician.upn.toLowerCase()) as { password_hash: string | null }).password_hash;
    expect(verifier()).not.toBeNull();
    now += 2 * DAY;
    expect(await cardSignIn(core, 'clinician')).toMatchObject({ ok: true, output: { state: 'active' } });
    await call(core, 'auth.signOut', {});
    await lab.remove('clinician');
    expect(verifier()).not.toBeNull();
    // Four days after the password was last typed (offlineSignInDays 3), two after the card's lookup: the verifier is gone.
    // (Days kept short: the test CRL's nextUpdate is a week away.)
    now += 2 * DAY;
    expect(await cardSignIn(core, 'clinician')).toMatchObject({ ok: true, output: { state: 'active' } });
    expect(verifier()).toBeNull();
  });

  it('a lookup account the directory refuses is a message for IT, not a sign-in', async () => {
    const core = await start('not the lookup password');
    expect(await cardSignIn(core, 'clinician')).toMatchObject({
      ok: false,
      error: { code: 'directory_unreachable', message: expect.stringMatching(/refused the lookup account .* \(directory\.lookupAccount\)/) },
    });
  });
});
