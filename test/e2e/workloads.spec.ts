// The workload picker: a user sees only the workloads policy opens to their
// roles, each with its description, and a new session uses the one picked.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { approvedTestModel } from '../support/test-model.js';
import { repoRoot } from './browser-target.js';
import { answers, createFirstAccount, expect, promptBox, test } from './fixtures.js';

const SHOTS = 'test-results/screenshots';

test.use({
  policyText: async ({}, use) => {
    const model = await approvedTestModel();
    const shipped = JSON.parse(readFileSync(join(repoRoot, 'resources/policy/evaluation.json'), 'utf8')) as { inference: object };
    await use(
      JSON.stringify({
        ...shipped,
        roles: { evaluationAccount: ['clinician'] },
        inference: {
          ...shipped.inference,
          models: [{ id: 'test', name: 'Test model', path: model.path, sha256: model.sha256 }],
          workloads: [
            { id: 'research', name: 'Research questions', description: 'De-identified cohort questions.', model: 'test', roles: ['researcher'] },
            { id: 'notes', name: 'Clinical notes', description: 'Draft and summarise clinical notes.', model: 'test', roles: ['clinician'] },
            { id: 'letters', name: 'Discharge letters', description: 'Write a discharge letter from the notes.', model: 'test', maxTokens: 8 },
          ],
        },
      }),
    );
  },
});

test('a clinician picks among the workloads open to clinicians, and the session uses the one picked', async ({ app }) => {
  const { page } = app;
  mkdirSync(SHOTS, { recursive: true });
  await createFirstAccount(page);

  const picker = page.getByLabel('Workload for new sessions');
  await expect(picker).toBeVisible();
  // The researchers' workload is not offered; the clinician's first one is the default.
  await expect(picker.getByRole('option')).toHaveText(['Clinical notes', 'Discharge letters']);
  await expect(picker).toHaveValue('notes');
  await expect(page.getByText('Draft and summarise clinical notes.')).toBeVisible();

  await picker.selectOption('letters');
  await expect(page.getByText('Write a discharge letter from the notes.')).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/workloads-picker.png` });
  await page.getByRole('button', { name: 'New session' }).first().click();
  await expect(page.getByText(/^Discharge letters · Started /)).toBeVisible();

  await promptBox(page).fill('Draft the discharge letter.');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('article', { name: 'Prompt' }).last()).toContainText('Draft the discharge letter.');
  // Done when Send is back and the answer is no longer busy.
  await expect(page.getByRole('button', { name: 'Send' })).toBeVisible({ timeout: 120_000 });
  await expect(answers(page)).toHaveCount(1);
  await expect(answers(page).last()).not.toHaveAttribute('aria-busy', 'true');
  const sessions = await page.evaluate(async () => {
    const result = await window.enclave!.call('chat.list', {});
    return result.ok ? result.output.map((s) => s.workloadId) : result.error.code;
  });
  expect(sessions).toEqual(['letters']);
});
