// Smart-card sign-in in the window: a SoftHSM2 card with a PIV-style
// certificate in the test card reader (test/support/smart-card.ts), mapped to
// the real Samba AD DC's users. Wrong PIN, revoked card, removal locks, and
// only the card unlocks.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { directoryPolicyDocument } from '../support/directory-policy.js';
import { sambaDcInfoFromEnv, type SambaDcInfo } from '../support/samba-dc.js';
import { createSmartCardLab, type SmartCardLab } from '../support/smart-card.js';
import { testModelPath } from '../support/test-model.js';
import { expect, test } from './fixtures.js';

let lab: SmartCardLab;

function dcInfo(): SambaDcInfo {
  const info = sambaDcInfoFromEnv();
  if (!info) throw new Error('No Samba DC: the Playwright global setup (test/e2e/global-setup.ts) did not run.');
  return info;
}

test.beforeAll(async () => {
  const dc = dcInfo();
  lab = await createSmartCardLab({ upns: { clinician: dc.users.clinician.upn, revoked: dc.users.clinician.upn } });
  process.env['SOFTHSM2_CONF'] = lab.softhsmConf;
});
test.afterAll(async () => {
  await lab?.destroy();
});

test.use({
  policyText: async ({}, use) => {
    const modelPath = await testModelPath();
    const sha256 = createHash('sha256').update(readFileSync(modelPath)).digest('hex');
    const document = directoryPolicyDocument(dcInfo(), { path: modelPath, sha256 });
    await use(JSON.stringify({ ...document, smartCard: { enabled: true, pkcs11Module: lab.modulePath, caFiles: [lab.caFile], crlFiles: [lab.crlFile] } }));
  },
});

test('card and PIN sign in; a wrong PIN and a revoked card are refused; pulling the card locks; only the card unlocks', async ({ app }) => {
  const { page } = app;
  const { clinician } = dcInfo().users;
  // The card maps to an account that signed in here once with its password.
  await page.getByLabel('User name').fill(clinician.username);
  await page.getByLabel('Password', { exact: true }).fill(clinician.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out' }).click();

  await expect(page.getByRole('status', { name: 'Smart card' })).toHaveText('Insert your smart card to sign in with it.');
  await lab.insert('revoked');
  const cardForm = page.getByRole('form', { name: 'Smart card' });
  await expect(cardForm).toContainText(lab.cards.revoked.tokenLabel);
  await cardForm.getByLabel('PIN').fill(lab.cards.revoked.pin);
  await cardForm.getByRole('button', { name: 'Sign in with card' }).click();
  await expect(cardForm.getByRole('alert')).toContainText('has been revoked');
  await lab.remove('revoked');

  await lab.insert('clinician');
  await expect(cardForm).toContainText(lab.cards.clinician.tokenLabel);
  await cardForm.getByLabel('PIN').fill('999999');
  await cardForm.getByRole('button', { name: 'Sign in with card' }).click();
  await expect(cardForm.getByRole('alert')).toContainText('That PIN is not correct.');
  await cardForm.getByLabel('PIN').fill(lab.cards.clinician.pin);
  await cardForm.getByRole('button', { name: 'Sign in with card' }).click();
  await expect(page.getByLabel('Signed-in user')).toContainText(clinician.displayName);
  // The chats of the password sign-in are wrapped by the password, not the card: said plainly.
  await expect(page.getByRole('status', { name: 'Locked chats' })).toHaveText(
    'Some earlier chats on this workstation are locked in this sign-in: they open when you sign in with your password. New chats are kept under this sign-in.',
  );

  await lab.remove('clinician');
  await expect(page.getByRole('heading', { name: 'Locked' })).toBeVisible({ timeout: 5_000 });
  await expect(page.getByText('locked because the smart card was removed')).toBeVisible();
  await expect(page.getByLabel('Password', { exact: true })).toHaveCount(0);

  await lab.insert('clinician');
  const unlock = page.getByRole('form', { name: 'Smart card' });
  await unlock.getByLabel('PIN').fill(lab.cards.clinician.pin);
  await unlock.getByRole('button', { name: 'Sign in with card' }).click();
  await expect(page.getByLabel('Signed-in user')).toContainText(clinician.displayName);
});
