// The screens before the workspace, model setup, the audit search and the
// audit-delivery details pass axe (WCAG 2.1 A/AA and best practice) in light,
// dark and 200% zoom (test/e2e/a11y.ts), and focus lands somewhere sensible
// when a screen changes under the person.
import { expectAccessibleInEveryMode } from './a11y.js';
import { ACCOUNT, createFirstAccount, expect, test } from './fixtures.js';

test('first run, model setup, audit search with results and audit delivery details pass axe in every mode', async ({ app }, testInfo) => {
  const { page } = app;
  await expect(page.getByRole('heading', { name: 'Create the evaluation account' })).toBeVisible();
  await expect(page.getByRole('main')).toHaveCount(1);
  await expectAccessibleInEveryMode(page, testInfo, 'first-run');

  await createFirstAccount(page);
  const setupTitle = page.getByRole('heading', { name: 'Choose a model', level: 1 });
  await expect(setupTitle).toBeVisible();
  // Focus follows the screen change instead of falling to the page body.
  await expect(setupTitle).toBeFocused();
  await expectAccessibleInEveryMode(page, testInfo, 'model-setup');

  // The audit-delivery line: its button's name is its visible text, and the details open below it.
  const bar = page.getByRole('region', { name: 'Audit delivery' });
  const details = page.getByRole('group', { name: 'Audit delivery details' });
  const showDetails = async () => {
    if ((await details.count()) === 0) await bar.getByRole('button', { name: 'Details for IT' }).click();
    await expect(details).toBeVisible();
  };
  await showDetails();
  await expectAccessibleInEveryMode(page, testInfo, 'siem-details', showDetails);
  await page.keyboard.press('Escape');
  await expect(details).toHaveCount(0);
  await expect(bar.getByRole('button', { name: 'Details for IT' })).toBeFocused();

  // The audit search with results and one event open.
  await page.getByRole('button', { name: 'Audit', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Audit log', level: 1 })).toBeVisible();
  await expect(page.getByRole('status', { name: 'Audit result' })).toContainText('Audit intact');
  const rows = page.getByRole('table', { name: 'Audit events' }).locator('tbody tr');
  await expect(rows.first()).toBeVisible();
  await expectAccessibleInEveryMode(page, testInfo, 'audit-search');
  await rows.first().getByRole('button').click();
  await expect(page.getByRole('region', { name: /^Event \d+:/ })).toBeVisible();
  await expectAccessibleInEveryMode(page, testInfo, 'audit-event');
});

test.describe('a short idle time', () => {
  test.use({ policyOverrides: { session: { idleLockSeconds: 5 } } });

  test('the lock and sign-in screens pass axe in every mode', async ({ app }, testInfo) => {
    const { page } = app;
    await createFirstAccount(page);
    await expect(page.getByRole('heading', { name: 'Locked', level: 1 })).toBeVisible({ timeout: 20_000 });
    await expect(page.getByRole('main')).toHaveCount(1);
    await expectAccessibleInEveryMode(page, testInfo, 'lock');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page.getByRole('heading', { name: 'Sign in', level: 1 })).toBeVisible();
    await page.getByLabel('User name').fill(ACCOUNT.username);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect(page.getByRole('alert')).toBeVisible();
    await expectAccessibleInEveryMode(page, testInfo, 'sign-in-with-error');
  });
});

test.describe('an invalid policy', () => {
  test.use({ policyText: JSON.stringify({ mode: 'managed', session: { idleLockSeconds: 'soon' } }) });

  test('the policy error screen passes axe in every mode', async ({ app }, testInfo) => {
    const { page } = app;
    await expect(page.getByRole('heading', { name: 'Enclave is locked: policy error', level: 1 })).toBeVisible();
    await expect(page.getByRole('main')).toHaveCount(1);
    await expectAccessibleInEveryMode(page, testInfo, 'policy-error');
  });
});
