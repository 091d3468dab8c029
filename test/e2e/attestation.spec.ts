// Policy's acceptable-use statement: shown at the first sign-in before
// anything else, accepted once per interval, and declining signs out; both
// answers are audited (auth.attest, never the text).
import type { Page } from '@playwright/test';
import { ACCOUNT, createFirstAccount, expect, test } from './fixtures.js';
import { expectAccessibleInEveryMode } from './a11y.js';

const STATEMENT = [
  'Enclave is for patient care and approved research at this hospital only.',
  'Do not copy notes into any other tool, and check every answer before it enters the record.\nReport an answer that names another patient.',
];

test.use({ policyOverrides: { acceptableUse: { text: STATEMENT.join('\n\n'), intervalDays: 365 } } });

function statementHeading(page: Page) {
  return page.getByRole('heading', { name: 'Acceptable use', level: 1 });
}

async function signIn(page: Page): Promise<void> {
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await page.getByLabel('User name').fill(ACCOUNT.username);
  await page.getByLabel('Password', { exact: true }).fill(ACCOUNT.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

test('the first sign-in shows the statement; accepting opens the workspace, and the next sign-in does not ask again', async ({ app }, testInfo) => {
  const { page } = app;
  await createFirstAccount(page);

  await expect(statementHeading(page)).toBeVisible();
  await expect(statementHeading(page)).toBeFocused();
  // The text as policy wrote it: two paragraphs, the second keeping its line break, in a region the keyboard can scroll.
  const statement = page.getByRole('region', { name: 'Acceptable-use statement' });
  await expect(statement.locator('p')).toHaveText(STATEMENT);
  await page.keyboard.press('Tab');
  await expect(statement).toBeFocused();
  // Nothing of the workspace behind it.
  await expect(page.getByRole('heading', { name: 'Choose a model' })).toHaveCount(0);
  await expectAccessibleInEveryMode(page, testInfo, 'attestation');

  await page.getByRole('button', { name: 'I accept' }).click();
  await expect(page.getByRole('heading', { name: 'Choose a model' })).toBeVisible();

  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn(page);
  await expect(page.getByRole('heading', { name: 'Choose a model' })).toBeVisible();
  await expect(statementHeading(page)).toHaveCount(0);
});

test('declining signs out and is audited; the statement is asked again at the next sign-in', async ({ app }) => {
  const { page } = app;
  await createFirstAccount(page);
  await expect(statementHeading(page)).toBeVisible();
  await page.getByRole('button', { name: 'Decline and sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();

  await signIn(page);
  await expect(statementHeading(page)).toBeVisible();
  await page.getByRole('button', { name: 'I accept' }).click();
  await expect(page.getByRole('heading', { name: 'Choose a model' })).toBeVisible();

  // The evaluation account holds the compliance role: the audit says both answers, newest first, without the text.
  const events = await page.evaluate(async () => {
    const result = await window.enclave!.call('audit.search', { action: 'auth.attest' });
    return result.ok ? result.output.events.map((e) => ({ outcome: e.outcome, reason: e.reason, record: e.record })) : result.error.code;
  });
  expect(Array.isArray(events) ? events.map(({ outcome, reason }) => ({ outcome, reason })) : events).toEqual([
    { outcome: 'success', reason: null },
    { outcome: 'failure', reason: 'declined' },
  ]);
  for (const event of Array.isArray(events) ? events : []) expect(event.record).not.toContain('patient care');
});
