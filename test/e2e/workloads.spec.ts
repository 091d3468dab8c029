// Workloads: a user sees only the workloads policy opens to their roles, each
// with its description, and a new session uses the one picked; the audit names
// the workload and the model behind each prompt; and answers in several
// sessions take turns with the model, a waiting one saying so and stoppable.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from '@playwright/test';
import { approvedTestModel } from '../support/test-model.js';
import { repoRoot } from './browser-target.js';
import { answers, createFirstAccount, expect, promptBox, test } from './fixtures.js';

const SHOTS = 'test-results/screenshots';

const WORKLOADS = [
  { id: 'research', name: 'Research questions', description: 'De-identified cohort questions.', model: 'test', roles: ['researcher'] },
  { id: 'notes', name: 'Clinical notes', description: 'Draft and summarise clinical notes.', model: 'test', roles: ['clinician'] },
  { id: 'letters', name: 'Discharge letters', description: 'Write a discharge letter from the notes.', model: 'test', maxTokens: 8 },
];

/** The evaluation policy with the approved test model, the evaluation account's roles, and the workloads given. */
async function workloadPolicy({
  roles,
  workloads = WORKLOADS,
  model: modelSettings = {},
  otherModels = [],
  inference = {},
}: {
  roles: string[];
  workloads?: object[];
  /** Settings of the test model (e.g. contextSize). */
  model?: object;
  otherModels?: object[];
  inference?: object;
}): Promise<string> {
  const model = await approvedTestModel();
  const shipped = JSON.parse(readFileSync(join(repoRoot, 'resources/policy/evaluation.json'), 'utf8')) as { inference: object };
  return JSON.stringify({
    ...shipped,
    roles: { evaluationAccount: roles },
    inference: {
      ...shipped.inference,
      ...inference,
      models: [{ id: 'test', name: 'Test model', path: model.path, sha256: model.sha256, ...modelSettings }, ...otherModels],
      workloads,
    },
  });
}

/** Picks a workload and starts a session with it. */
async function startSession(page: Page, workloadId: string, workloadName: string) {
  await page.getByLabel('Workload for new sessions').selectOption(workloadId);
  await page.getByRole('button', { name: 'New session' }).first().click();
  await expect(page.getByText(new RegExp(`^${workloadName} · Started `))).toBeVisible();
}

/** Sends a prompt and waits for the whole answer: Send is back and the answer is no longer busy. */
async function sendAndWait(page: Page, prompt: string) {
  await promptBox(page).fill(prompt);
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('article', { name: 'Prompt' }).last()).toContainText(prompt);
  await expect(page.getByRole('button', { name: 'Send' })).toBeVisible({ timeout: 120_000 });
  await expect(answers(page).last()).not.toHaveAttribute('aria-busy', 'true');
}

/** A fact (dt) of a details list, by its exact term: its value (dd). */
function fact(within: Locator, term: string): Locator {
  return within.locator('dt', { hasText: new RegExp(`^${term}$`) }).locator('xpath=following-sibling::dd[1]');
}

test.describe('a clinician', () => {
  test.use({ policyText: async ({}, use) => use(await workloadPolicy({ roles: ['clinician'] })) });

  test('picks among the workloads open to clinicians, and the session uses the one picked', async ({ app }) => {
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

    await sendAndWait(page, 'Draft the discharge letter.');
    await expect(answers(page)).toHaveCount(1);
    const sessions = await page.evaluate(async () => {
      const result = await window.enclave!.call('chat.list', {});
      return result.ok ? result.output.map((s) => s.workloadId) : result.error.code;
    });
    expect(sessions).toEqual(['letters']);
    // The model has loaded: the header says where it runs (the test machine has no GPU to speak of).
    await expect(page.getByRole('banner').getByRole('definition').nth(1)).toHaveText(/^(CPU \(\d+ threads?\)|GPU \((CUDA|Vulkan|Metal)\).* \d+\/\d+ layers)/);
  });
});

test.describe('a clinician who is also the compliance officer', () => {
  test.use({ policyText: async ({}, use) => use(await workloadPolicy({ roles: ['clinician', 'compliance'] })) });

  test("sees the prompt's workload and model, with its hash, in the audit", async ({ app }) => {
    const { page } = app;
    mkdirSync(SHOTS, { recursive: true });
    const model = await approvedTestModel();
    await createFirstAccount(page);

    await startSession(page, 'letters', 'Discharge letters');
    await sendAndWait(page, 'Draft the discharge letter.');
    const sessionId = await page.evaluate(async () => {
      const result = await window.enclave!.call('chat.list', {});
      return result.ok ? (result.output[0]?.id ?? null) : result.error.code;
    });
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);

    // Audit in the header opens the compliance officer's audit log in place of the chat.
    await page.getByRole('banner').getByRole('button', { name: 'Audit', exact: true }).click();
    await expect(page.getByRole('heading', { name: 'Audit log', level: 1 })).toBeVisible();
    const filters = page.getByRole('search', { name: 'Filter audit events' });
    await filters.getByLabel('Action', { exact: true }).selectOption('ai.prompt');
    await filters.getByRole('button', { name: 'Search' }).click();
    await expect(page.getByRole('status', { name: 'Result count' })).toContainText('1 of 1 event');
    const rows = page.getByRole('table', { name: 'Audit events' }).locator('tbody').getByRole('row');
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toContainText('Prompt sent to the model');
    await rows.first().click();

    const detail = page.getByRole('region', { name: /^Event \d+: Prompt sent to the model$/ });
    await expect(detail).toBeVisible();
    await expect(fact(detail, 'Session')).toHaveText(String(sessionId));
    await expect(fact(detail, 'Workload')).toHaveText('letters');
    await expect(fact(detail, 'Model')).toHaveText(`test SHA-256 ${model.sha256.slice(0, 12)}…`);
    // The record itself says the same, with the whole hash.
    const record = detail.getByLabel('Full record', { exact: true });
    await expect(record).toContainText('"workload": "letters"');
    await expect(record).toContainText(`"sha256": "${model.sha256}"`);
    await page.screenshot({ path: `${SHOTS}/workloads-audit-model.png` });
  });
});

test.describe('answers in several sessions', () => {
  // Answers long enough (2,000 tokens) that the first is still being written while the others are sent.
  test.use({
    policyText: async ({}, use) =>
      use(
        await workloadPolicy({
          roles: ['clinician'],
          model: { contextSize: 4096 },
          inference: { maxResponseTokens: 4000 },
          workloads: [{ id: 'notes', name: 'Clinical notes', model: 'test', maxTokens: 2000 }],
        }),
      ),
  });

  test('wait their turn for the model, say how many are ahead, and Stop ends one while it waits', async ({ app }) => {
    const { page } = app;
    mkdirSync(SHOTS, { recursive: true });
    await createFirstAccount(page);
    const newSession = page.getByRole('button', { name: 'New session' }).first();
    const sidebar = page.getByRole('navigation', { name: 'Sessions' });
    const session = (tag: string) => sidebar.getByRole('listitem').filter({ has: page.getByText(tag, { exact: true }) });
    const waitingLine = page.getByRole('status', { name: 'Waiting for the answer' });

    // The first session's answer is being written…
    await newSession.click();
    await promptBox(page).fill('Summarise the ward round notes.');
    await promptBox(page).press('Enter');
    await expect(page.getByRole('button', { name: 'Stop' })).toBeVisible();
    await expect(session('Answering')).toHaveCount(1);

    // …so the second session's waits, one answer behind it…
    await newSession.click();
    await expect(page.getByText('No messages yet. Type a prompt below.')).toBeVisible();
    await expect(page.getByText('Another session is answering; yours will wait its turn.')).toBeVisible();
    await promptBox(page).fill('Draft a referral letter.');
    await promptBox(page).press('Enter');
    await expect(waitingLine).toHaveText('Waiting for the model — 1 answer ahead');

    // …and a third's two behind.
    await newSession.click();
    await expect(page.getByText('No messages yet. Type a prompt below.')).toBeVisible();
    await promptBox(page).fill('List the follow-up appointments.');
    await promptBox(page).press('Enter');
    await expect(waitingLine).toHaveText('Waiting for the model — 2 answers ahead');
    await expect(session('Waiting')).toHaveCount(2);
    await page.screenshot({ path: `${SHOTS}/workloads-queue-waiting.png` });

    // Stop on a waiting answer: it ends at once as a stopped answer with no text.
    await page.getByRole('button', { name: 'Stop' }).click();
    const stopped = answers(page).last();
    await expect(stopped).toContainText('Stopped');
    await expect(stopped).toContainText('Stopped before any text.');
    await expect(stopped).not.toHaveAttribute('aria-busy', 'true');
    await expect(page.getByRole('button', { name: 'Send' })).toBeVisible();
    await page.screenshot({ path: `${SHOTS}/workloads-queue-stopped.png` });

    // The others go on: the second stops waiting once the first is written, and is written whole.
    // (Not timed against the first answer: it may be done by now.)
    const sessionTitled = (title: string) => sidebar.getByRole('listitem').filter({ hasText: title }).getByRole('button');
    await sessionTitled('Draft a referral letter.').click();
    await expect(page.getByRole('article', { name: 'Prompt' }).last()).toContainText('Draft a referral letter.');
    await expect(page.getByText('Waiting for the model')).toHaveCount(0, { timeout: 120_000 });
    await expect(page.getByRole('button', { name: 'Send' })).toBeVisible({ timeout: 120_000 });
    const second = answers(page).last();
    await expect(second).not.toHaveAttribute('aria-busy', 'true');
    await expect(second).not.toContainText('Stopped');
    expect((await second.locator('.message-body').innerText()).trim().length).toBeGreaterThan(0);

    await sessionTitled('Summarise the ward round notes.').click();
    await expect(page.getByRole('article', { name: 'Prompt' }).last()).toContainText('Summarise the ward round notes.');
    await expect(answers(page).last()).not.toHaveAttribute('aria-busy', 'true');
    await expect(answers(page).last()).not.toContainText('Stopped');
    await expect(session('Waiting')).toHaveCount(0);
    await expect(session('Answering')).toHaveCount(0);
  });
});

test.describe('a model set to a GPU backend this machine cannot start', () => {
  // The test machine has no CUDA driver: the engine falls back to the CPU and says why.
  test.use({ policyText: async ({}, use) => use(await workloadPolicy({ roles: ['clinician'], inference: { gpu: 'cuda' } })) });

  test('runs on the CPU, and the header says it fell back and why', async ({ app }) => {
    const { page } = app;
    mkdirSync(SHOTS, { recursive: true });
    await createFirstAccount(page);
    await startSession(page, 'notes', 'Clinical notes');
    await sendAndWait(page, 'Summarise the ward round notes.');

    const device = page.getByRole('banner').getByRole('definition').nth(1);
    await expect(device).toContainText(/^CPU \(\d+ threads?\)/);
    const badge = device.getByRole('note');
    await expect(badge).toHaveText('CPU fallback');
    await expect(badge).toHaveAttribute('title', /^The CUDA backend could not start \(.+\); running on the CPU\. Answers may be slower\.$/);
    await page.screenshot({ path: `${SHOTS}/workloads-cpu-fallback.png` });
  });
});

test.describe('a workload whose model file is missing', () => {
  test.use({
    policyText: async ({}, use) =>
      use(
        await workloadPolicy({
          roles: ['clinician'],
          otherModels: [{ id: 'gone', name: 'Letters model', path: '/nonexistent/enclave-letters.gguf', sha256: '0'.repeat(64) }],
          workloads: [
            { id: 'letters', name: 'Discharge letters', description: 'Write a discharge letter from the notes.', model: 'gone' },
            { id: 'notes', name: 'Clinical notes', description: 'Draft and summarise clinical notes.', model: 'test' },
          ],
        }),
      ),
  });

  test('cannot be picked, says why, and the default skips it', async ({ app }) => {
    const { page } = app;
    mkdirSync(SHOTS, { recursive: true });
    await createFirstAccount(page);

    const picker = page.getByLabel('Workload for new sessions');
    await expect(picker.getByRole('option')).toHaveText(['Discharge letters (unavailable)', 'Clinical notes']);
    const refused = picker.getByRole('option', { name: 'Discharge letters (unavailable)' });
    await expect(refused).toBeDisabled();
    // Why, on hover: the core's reason for the workload, in words a clinician can act on.
    await expect(refused).toHaveAttribute('title', /^The model for this workload was refused: its file is missing or cannot be read\. Ask IT\.$/);
    // Policy lists it first, but the first usable one is the default.
    await expect(picker).toHaveValue('notes');
    await expect(page.getByRole('note', { name: 'Workload unavailable' })).toHaveCount(0);
    // And as visible text under the picker, without opening the list.
    await expect(page.getByText('Discharge letters is unavailable: The model for this workload was refused: its file is missing or cannot be read. Ask IT.')).toBeVisible();
    await page.screenshot({ path: `${SHOTS}/workloads-unavailable.png` });

    await page.getByRole('button', { name: 'New session' }).first().click();
    await expect(page.getByText(/^Clinical notes · Started /)).toBeVisible();
  });
});
