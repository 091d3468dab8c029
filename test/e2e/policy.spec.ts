// Managed policy as people see it: a workstation whose policy is broken stays
// locked and says what IT must fix, then recovers by itself once it is fixed;
// an administrator sees every effective value and where it came from.
import { writeFileSync } from 'node:fs';
import { createFirstAccount, expect, test, testPolicyText } from './fixtures.js';

test.describe('a policy that does not validate', () => {
  test.use({ policyText: JSON.stringify({ mode: 'managed', session: { idleLockSeconds: 'soon' } }) });

  test('locks Enclave with the key, the source and the problem, and lifts once IT fixes the file', async ({ app }) => {
    const { page } = app;
    await expect(page.getByRole('heading', { name: 'Enclave is locked: policy error' })).toBeVisible();
    const problems = page.getByRole('list', { name: 'Policy problems' });
    await expect(problems).toContainText('session.idleLockSeconds');
    await expect(problems).toContainText(/expected number/i);
    await expect(problems).toContainText(app.policyFile);
    await expect(page.getByLabel('User name')).toHaveCount(0);

    writeFileSync(app.policyFile, testPolicyText());
    await expect(page.getByRole('heading', { name: 'Create the evaluation account' })).toBeVisible({ timeout: 15_000 });
  });
});

test('an administrator sees each effective value and its source, and a changed policy without a restart', async ({ app }) => {
  const { page } = app;
  await createFirstAccount(page);
  await page.getByRole('button', { name: 'About' }).click();
  const table = page.getByRole('table', { name: 'Effective policy' });
  const idleRow = table.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'session.idleLockSeconds' }) });
  await expect(idleRow).toContainText('900');
  await expect(idleRow).toContainText(app.policyFile);
  await expect(table.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'directory.timeoutSeconds' }) })).toContainText('default');

  writeFileSync(app.policyFile, testPolicyText({ session: { idleLockSeconds: 600 } }));
  await expect(idleRow).toContainText('600', { timeout: 15_000 });

  // A broken edit is refused whole; the previous policy stays and everyone is told.
  writeFileSync(app.policyFile, '{ "session": ');
  await expect(page.getByRole('status', { name: 'Policy notice' })).toContainText('could not be applied', { timeout: 15_000 });
  await expect(page.getByRole('list', { name: 'Refused policy problems' })).toContainText('not valid JSON');
  await expect(idleRow).toContainText('600');
});
