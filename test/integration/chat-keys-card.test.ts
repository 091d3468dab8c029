// A smart-card user's chats are sealed with a key the card unwraps (RSA-OAEP
// by the card's private key, logged in with the PIN): SoftHSM2 cards from the
// lab (test/support/smart-card.ts), accounts from the real Samba AD DC.
import { constants, createHmac, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createCore, DATABASE_FILE, type Core } from '../../src/main/core/index.js';
import { policyFromDocument } from '../../src/main/policy/index.js';
import { call, callError, chatWith, openablePrompts } from '../support/core.js';
import { allStoredValues, decryptedDatabaseBytes } from '../support/database-bytes.js';
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
  lab = await createSmartCardLab({ upns: { clinician: dc.users.clinician.upn, admin: dc.users.admin.upn } });
  process.env['SOFTHSM2_CONF'] = lab.softhsmConf;
}, 120_000);
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  for (const card of Object.keys(lab.cards) as SmartCardKey[]) await lab.remove(card);
});
afterAll(async () => {
  await lab?.destroy();
});

async function start(dataDir?: string, key = randomBytes(32)): Promise<Core & { dataDir: string; key: Buffer }> {
  if (!dataDir) {
    const dir = tempDir();
    cleanups.push(dir.remove);
    dataDir = dir.path;
  }
  const base = directoryPolicyDocument(dc, model);
  const document = {
    ...base,
    inference: { ...(base['inference'] as Record<string, unknown>), maxResponseTokens: 8 },
    smartCard: { enabled: true, pkcs11Module: lab.modulePath, caFiles: [lab.caFile], crlFiles: [lab.crlFile] },
  };
  const core = await createCore({ dataDir, databaseKey: Buffer.from(key), policy: policyFromDocument(document, 'card chat keys test policy'), version: 'test', log: () => undefined });
  cleanups.push(() => core.close());
  return Object.assign(core, { dataDir, key });
}

async function cardSignIn(core: Core, card: SmartCardKey = 'clinician') {
  await lab.insert(card);
  const status = await call(core, 'auth.cards', {});
  const slotId = status.readers.find((r) => r.card?.label === lab.cards[card].tokenLabel)!.slotId;
  return call(core, 'auth.signInCard', { slotId, pin: lab.cards[card].pin });
}

async function passwordSignIn(core: Core) {
  return call(core, 'auth.signIn', { username: dc.users.clinician.username, password: dc.users.clinician.password });
}

describe('chats of a smart-card user', () => {
  it('open with the card; the database key alone and the password alone do not open them; the lock screen links the two', async () => {
    const marker = `Cardamom-${randomBytes(5).toString('hex')}`;
    const core = await start();
    // The account must have signed in here once with its password (its chats under the password's key).
    await passwordSignIn(core);
    await chatWith(core, 'Typed after a password sign-in');
    await call(core, 'auth.signOut', {});

    // The card opens nothing yet: a key of its own for new chats, and the state says the earlier ones open with the password.
    expect(await cardSignIn(core)).toMatchObject({ state: 'active', user: { authMethod: 'smart-card' }, chatKeys: { earlierChatsOpenWith: ['password'], recoveryPending: false } });
    expect(await call(core, 'chat.list', {})).toMatchObject([{ locked: true }]);
    await chatWith(core, `Typed with the card ${marker}`);
    await call(core, 'auth.signOut', {});
    await lab.remove('clinician');

    // The card's chats are wrapped to the card: a password sign-in sees them locked.
    expect(await passwordSignIn(core)).toMatchObject({ chatKeys: { earlierChatsOpenWith: ['card'] } });
    expect(await openablePrompts(core)).toEqual(['Typed after a password sign-in']);
    const lockedOne = (await call(core, 'chat.list', {})).find((s) => s.locked)!;
    expect(await callError(core, 'chat.open', { sessionId: lockedOne.id })).toMatchObject({ code: 'chat_locked' });

    // Locked, then unlocked with the card at the lock screen: the session holds both keys, and each factor now opens both.
    await call(core, 'auth.lock', {});
    expect(await cardSignIn(core)).toMatchObject({ state: 'active', chatKeys: { earlierChatsOpenWith: [] } });
    expect(await openablePrompts(core)).toEqual([`Typed with the card ${marker}`, 'Typed after a password sign-in'].sort());
    await call(core, 'auth.signOut', {});
    await lab.remove('clinician');
    expect(await cardSignIn(core)).toMatchObject({ chatKeys: { earlierChatsOpenWith: [] } });
    expect(await openablePrompts(core)).toEqual([`Typed with the card ${marker}`, 'Typed after a password sign-in'].sort());
    await call(core, 'auth.signOut', {});
    await lab.remove('clinician');
    await passwordSignIn(core);
    expect(await openablePrompts(core)).toEqual([`Typed with the card ${marker}`, 'Typed after a password sign-in'].sort());
    await call(core, 'auth.signOut', {});
    // Both keys are wrapped to this card's certificate, and (linked at the lock screen) under the password.
    const wraps = core.store.writer.prepare('SELECT kind, card_sha256, params FROM content_key_wraps ORDER BY kind').all() as { kind: string; card_sha256: string | null; params: string }[];
    expect(wraps.map((w) => [w.kind, w.card_sha256])).toEqual([
      ['card', lab.cards.clinician.certSha256],
      ['card', lab.cards.clinician.certSha256],
      ['password', null],
      ['password', null],
    ]);
    // SoftHSM2 2.6 decrypts OAEP with SHA-1 only: the wrap records the hash the card took.
    expect(JSON.parse(wraps[0]!.params)).toMatchObject({ name: 'rsa-oaep' });
    await core.close();

    const path = join(core.dataDir, DATABASE_FILE);
    expect(allStoredValues(path, core.key)).not.toContain(marker);
    expect(decryptedDatabaseBytes(path, core.key).includes(Buffer.from(marker))).toBe(false);
  });

  it('a damaged card wrapping: the card still signs in, the chats read as locked, and nothing is deleted', async () => {
    const core = await start();
    await passwordSignIn(core);
    await call(core, 'auth.signOut', {});
    // The card gets a key of its own (never linked to the password's), so its one card wrapping is the only way in.
    await cardSignIn(core);
    const session = await chatWith(core, 'Behind the card');
    await call(core, 'auth.signOut', {});
    await lab.remove('clinician');
    const wrap = core.store.writer.prepare("SELECT id, wrapped FROM content_key_wraps WHERE kind = 'card'").get() as { id: string; wrapped: Buffer };
    const damaged = Buffer.from(wrap.wrapped);
    damaged[7]! ^= 0x40;
    core.store.writer.prepare('UPDATE content_key_wraps SET wrapped = ? WHERE id = ?').run(damaged, wrap.id);

    expect(await cardSignIn(core)).toMatchObject({ state: 'active', chatKeys: { damaged: true } });
    expect((await call(core, 'chat.list', {})).find((s) => s.id === session)).toMatchObject({ locked: true });
    await call(core, 'auth.signOut', {});
    await lab.remove('clinician');
    core.store.writer.prepare('UPDATE content_key_wraps SET wrapped = ? WHERE id = ?').run(wrap.wrapped, wrap.id);
    await cardSignIn(core);
    expect(await openablePrompts(core)).toEqual(['Behind the card']);
  });

  it("a key planted by someone with the database key (wrapped to the card's public key, not signed by the card) is never used", async () => {
    const core = await start();
    await passwordSignIn(core);
    await call(core, 'auth.signOut', {});
    await cardSignIn(core);
    await call(core, 'auth.signOut', {});
    await lab.remove('clinician');
    // The planted key: newer than the card's, wrapped to the public key in the card's certificate, with the card's
    // signature of another wrapping copied onto it (the only card signature an attacker can get from the database).
    const real = core.store.writer.prepare("SELECT w.params, w.signature, k.user_id FROM content_key_wraps w JOIN content_keys k ON k.id = w.key_id WHERE w.kind = 'card'").get() as {
      params: string;
      signature: Buffer;
      user_id: string;
    };
    const planted = randomBytes(32);
    const plantedId = '01ffffff-ffff-7fff-bfff-ffffffffffff';
    const hash = (JSON.parse(real.params) as { hash: 'sha1' | 'sha256' }).hash;
    core.store.writer
      .prepare('INSERT INTO content_keys (id, user_id, key_check, created_at) VALUES (?, ?, ?, ?)')
      .run(plantedId, real.user_id, createHmac('sha256', planted).update(`enclave content key ${plantedId}`).digest(), Date.now() + 60_000);
    core.store.writer
      .prepare("INSERT INTO content_key_wraps (id, key_id, kind, card_sha256, params, wrapped, signature, created_at) VALUES (?, ?, 'card', ?, ?, ?, ?, ?)")
      .run(
        '01ffffff-ffff-7fff-bfff-fffffffffffe',
        plantedId,
        lab.cards.clinician.certSha256,
        real.params,
        publicEncrypt({ key: createPublicKey(lab.cards.clinician.certPem), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, planted),
        real.signature,
        Date.now(),
      );

    expect(await cardSignIn(core)).toMatchObject({ chatKeys: { damaged: true } });
    const session = await call(core, 'chat.create', { title: 'After the plant' });
    const keyId = (core.store.writer.prepare('SELECT key_id FROM chat_sessions WHERE id = ?').get(session.id) as { key_id: string }).key_id;
    expect(keyId).not.toBe(plantedId);
  });
});
