// A password changed in AD since the person's chats were wrapped here: the
// renderer asks once, plainly, and both answers work (the previous password
// opens the earlier chats; starting fresh leaves them locked in the list).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { directoryPolicyDocument } from '../support/directory-policy.js';
import { attachSambaDc, sambaDcInfoFromEnv, type SambaDcInfo } from '../support/samba-dc.js';
import { testModelPath } from '../support/test-model.js';
import { expect, promptBox, test } from './fixtures.js';

const MESSAGE =
  'Your password has changed since you last used Enclave on this workstation. Type your previous password to open your earlier chats, or start fresh (earlier chats on this workstation stay locked and are deleted by the retention schedule).';
const NEW_PASSWORD = 'Fresh-9-Damson!';

function dcInfo(): SambaDcInfo {
  const info = sambaDcInfoFromEnv();
  if (!info) throw new Error('No Samba DC: the Playwright global setup (test/e2e/global-setup.ts) did not run.');
  return info;
}

test.use({
  policyText: async ({}, use) => {
    const modelPath = await testModelPath();
    const sha256 = createHash('sha256').update(readFileSync(modelPath)).digest('hex');
    const document = directoryPolicyDocument(dcInfo(), { path: modelPath, sha256 }, { timeoutSeconds: 3 });
    await use(JSON.stringify({ ...document, inference: { ...(document['inference'] as Record<string, unknown>), maxResponseTokens: 8 } }));
  },
});

async function signIn(page: Page, password: string): Promise<void> {
  await page.getByLabel('User name').fill(dcInfo().users.researcher.username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** Signs in with today's password, writes one prompt, signs out; then AD changes the password. */
async function chatThenPasswordChange(page: Page, prompt: string): Promise<void> {
  const { researcher } = dcInfo().users;
  await signIn(page, researcher.password);
  await page.getByRole('button', { name: 'New session' }).first().click();
  await promptBox(page).fill(prompt);
  await promptBox(page).press('Enter');
  await expect(page.getByRole('button', { name: 'Send' })).toBeVisible({ timeout: 120_000 });
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await attachSambaDc(dcInfo()).resetPassword('researcher', NEW_PASSWORD);
}

test.afterEach(async () => {
  await attachSambaDc(dcInfo()).resetPassword('researcher', dcInfo().users.researcher.password);
});

test('after a password change the previous password opens the earlier chats; a wrong one says so', async ({ app }) => {
  const { page } = app;
  await chatThenPasswordChange(page, 'Earlier question about cohort nine');
  await signIn(page, NEW_PASSWORD);
  await expect(page.getByRole('heading', { name: 'Your earlier chats' })).toBeVisible();
  await expect(page.getByText(MESSAGE)).toBeVisible();

  await page.getByLabel('Previous password').fill('Not-7-Mine!');
  await page.getByRole('button', { name: 'Open earlier chats' }).click();
  await expect(page.getByRole('alert')).toHaveText('That is not your previous password. Try again, or start fresh.');

  await page.getByLabel('Previous password').fill(dcInfo().users.researcher.password);
  await page.getByRole('button', { name: 'Open earlier chats' }).click();
  const sessions = page.getByRole('navigation', { name: 'Sessions' });
  await expect(sessions).toContainText('Earlier question about cohort nine');
  await expect(sessions).not.toContainText('Locked chat');
  await expect(page.getByText(MESSAGE)).toHaveCount(0);
});

test('start fresh: the earlier chats are listed as locked, and opening one says why', async ({ app }) => {
  const { page } = app;
  await chatThenPasswordChange(page, 'Earlier question about cohort ten');
  await signIn(page, NEW_PASSWORD);
  await expect(page.getByText(MESSAGE)).toBeVisible();
  await page.getByRole('button', { name: 'Start fresh' }).click();

  const sessions = page.getByRole('navigation', { name: 'Sessions' });
  await expect(sessions).toContainText('Locked chat');
  await expect(sessions).not.toContainText('cohort ten');
  await sessions.getByRole('button', { name: /Locked chat/ }).click();
  await expect(page.getByRole('alert')).toContainText('This chat is locked');
  // Asked once: signing in again goes straight to the workspace.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn(page, NEW_PASSWORD);
  await expect(sessions).toContainText('Locked chat');
  await expect(page.getByText(MESSAGE)).toHaveCount(0);
});
