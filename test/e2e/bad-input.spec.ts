// What a careless or hostile page can do, and what the user sees when input is refused.
import { mkdirSync } from 'node:fs';
import { ACCOUNT, answers, createFirstAccount, expect, expectEvaluationBanner, promptBox, setUpWorkspace, test } from './fixtures.js';

const SHOTS = 'test-results/screenshots';
mkdirSync(SHOTS, { recursive: true });

// Sign-in lockout after a few wrong passwords, so the test need not type five.
test.use({ policyOverrides: { session: { maxFailedSignIns: 3, failedSignInLockoutSeconds: 60 } } });

test('a wrong password at sign-in shows the specific error, then too many attempts', async ({ app }) => {
  const { page } = app;
  await createFirstAccount(page);
  await expectEvaluationBanner(page);
  await page.getByRole('button', { name: 'Sign out' }).click();

  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await expectEvaluationBanner(page);
  await page.getByLabel('User name').fill(ACCOUNT.username);
  await page.getByLabel('Password', { exact: true }).fill('wrong password, twelve+');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('The user name or password is not correct.');
  // The password box is cleared for the next try; the user name stays.
  await expect(page.getByLabel('Password', { exact: true })).toHaveValue('');
  await expect(page.getByLabel('User name')).toHaveValue(ACCOUNT.username);
  await page.screenshot({ path: `${SHOTS}/10-sign-in-error.png` });

  for (let attempt = 2; attempt <= 3; attempt += 1) {
    await page.getByLabel('Password', { exact: true }).fill(`wrong password ${attempt}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('button', { name: 'Sign in' })).toBeEnabled();
  }
  // Locked out now, even with the right password.
  await page.getByLabel('Password', { exact: true }).fill(ACCOUNT.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText(/Too many wrong passwords\. Try again in \d+ seconds\./);
  await expectEvaluationBanner(page);
});

test('an oversized prompt is refused with the policy limit, and nothing is lost', async ({ app }) => {
  const { page } = app;
  await setUpWorkspace(page);
  await page.getByRole('button', { name: 'New session' }).first().click();
  await expectEvaluationBanner(page);

  const limit = await page.evaluate(async () => {
    const status = await window.enclave!.call('app.status', {});
    return status.ok ? status.output.limits.maxPromptChars : -1;
  });
  expect(limit).toBe(16_000);
  const tooLong = 'Patient history line. '.repeat(Math.ceil((limit + 500) / 22)).slice(0, limit + 1);
  await promptBox(page).fill(tooLong);
  await expect(page.getByText('16,001 / 16,000 characters — 1 over the limit')).toBeVisible();
  await page.getByRole('button', { name: 'Send' }).click();

  const alert = page.getByRole('alert');
  await expect(alert).toContainText('16,001 characters');
  await expect(alert).toContainText('the limit set by policy is 16,000');
  // Nothing lost: the whole prompt is still in the box, and nothing was added to the conversation.
  await expect(promptBox(page)).toHaveValue(tooLong);
  await expect(page.getByRole('article', { name: 'Prompt' })).toHaveCount(0);
  await expect(answers(page)).toHaveCount(0);
  await page.screenshot({ path: `${SHOTS}/11-prompt-too-long.png` });

  // Trimmed to the limit, it goes through.
  await promptBox(page).fill(tooLong.slice(0, 200));
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('alert')).toHaveCount(0);
  await expect(page.getByRole('article', { name: 'Prompt' })).toHaveCount(1);
  await expect(page.getByRole('button', { name: 'Send' })).toBeVisible({ timeout: 60_000 });
});

test('a malformed call is refused as invalid_input; calls while locked are refused as locked', async ({ app }) => {
  const { page } = app;
  await setUpWorkspace(page);
  await page.getByRole('button', { name: 'New session' }).first().click();

  const malformed = await page.evaluate(() => window.enclave!.call('chat.send', { sessionId: 'x', text: 5 } as never));
  expect(malformed.ok).toBe(false);
  if (!malformed.ok) {
    expect(malformed.error.code).toBe('invalid_input');
    expect(malformed.error.message.length).toBeGreaterThan(0);
  }
  const unknown = await page.evaluate(() => window.enclave!.call('fs.readFile' as never, {} as never));
  expect(unknown.ok ? null : unknown.error.code).toBe('unknown_call');

  await page.getByRole('button', { name: 'Lock' }).click();
  await expect(page.getByRole('heading', { name: 'Locked' })).toBeVisible();
  await expectEvaluationBanner(page);

  const whileLocked = await page.evaluate(async () => {
    const bridge = window.enclave!;
    const results = await Promise.all([bridge.call('chat.list', {}), bridge.call('model.status', {}), bridge.call('audit.verify', {}), bridge.call('chat.create', {})]);
    return results.map((r) => (r.ok ? 'ok' : r.error.code));
  });
  expect(whileLocked).toEqual(['locked', 'locked', 'locked', 'locked']);
  // The lock screen is still what the user sees.
  await expect(page.getByRole('heading', { name: 'Locked' })).toBeVisible();

  await page.getByLabel('Password', { exact: true }).fill(ACCOUNT.password);
  await page.getByRole('button', { name: 'Unlock' }).click();
  await expect(page.getByRole('button', { name: 'New session' }).first()).toBeVisible();
  const afterUnlock = await page.evaluate(async () => {
    const r = await window.enclave!.call('chat.list', {});
    return r.ok ? r.output.length : r.error.code;
  });
  expect(afterUnlock).toBe(1);
});
