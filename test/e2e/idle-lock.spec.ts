// The core locks an idle session by itself (HIPAA automatic logoff); the
// window must follow its session.changed event without any user action.
import { ACCOUNT, createFirstAccount, expect, expectEvaluationBanner, test } from './fixtures.js';

// Five seconds of inactivity.
test.use({ policyOverrides: { session: { idleLockSeconds: 5 } } });

test('an idle session locks on its own, and unlocks with the password', async ({ app }) => {
  const { page } = app;
  await createFirstAccount(page);
  await expect(page.getByRole('heading', { name: 'Choose a model' })).toBeVisible();

  // No input from here on: the core's idle timer locks the session.
  await expect(page.getByRole('heading', { name: 'Locked' })).toBeVisible({ timeout: 15_000 });
  await expect(page.getByText('locked after a period of inactivity')).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Choose a model' })).toHaveCount(0);
  await expectEvaluationBanner(page);

  await page.getByLabel('Password', { exact: true }).fill(ACCOUNT.password);
  await page.getByRole('button', { name: 'Unlock' }).click();
  await expect(page.getByRole('heading', { name: 'Choose a model' })).toBeVisible();
});
