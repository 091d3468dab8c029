// What a clinician does with answers and sessions, as they would: copy an
// answer (audited, refused where policy turns copying off), regenerate it,
// edit the last prompt and send it again, report a problem with an answer,
// stop an answer with Escape, rename, search and delete sessions; each screen
// checked with axe in light, dark and 200% zoom.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { approvedTestModel } from '../support/test-model.js';
import { expectAccessibleInEveryMode, setViewMode } from './a11y.js';
import { repoRoot } from './browser-target.js';
import { answers, createFirstAccount, expect, promptBox, setUpWorkspace, test } from './fixtures.js';

/** Sends a prompt and waits for the whole answer: Send is back and the answer is no longer busy. */
async function sendAndWait(page: Page, prompt: string) {
  await promptBox(page).fill(prompt);
  await promptBox(page).press('Enter');
  await expect(page.getByRole('article', { name: 'Prompt' }).last()).toContainText(prompt);
  await expect(page.getByRole('button', { name: 'Send' })).toBeVisible({ timeout: 120_000 });
  await expect(answers(page).last()).not.toHaveAttribute('aria-busy', 'true');
}

/** The core's copy of the open session's messages, read through the same bridge the renderer uses. */
async function storedMessages(page: Page, sessionId: string) {
  return page.evaluate(async (id) => {
    const result = await window.enclave!.call('chat.open', { sessionId: id });
    if (!result.ok) throw new Error(result.error.message);
    return result.output.messages;
  }, sessionId);
}

async function openSessionId(page: Page): Promise<string> {
  const id = await page.evaluate(async () => {
    const result = await window.enclave!.call('chat.list', {});
    return result.ok ? (result.output[0]?.id ?? null) : null;
  });
  if (!id) throw new Error('no session');
  return id;
}

test.describe('answers', () => {
  // Long enough answers (about a token per millisecond on the test model) that Escape lands mid-way.
  test.use({ policyOverrides: { inference: { maxResponseTokens: 3000 } } });

  test('copy, regenerate, edit and resend, report, and Escape stops', async ({ app }, testInfo) => {
    const { page } = app;
    if (app.target === 'browser') await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(page.url()).origin });
    await setUpWorkspace(page);
    await page.getByRole('button', { name: 'New session' }).first().click();
    await expect(promptBox(page)).toBeFocused();
    await sendAndWait(page, 'Summarise the discharge plan.');
    const sessionId = await openSessionId(page);

    // Answers are numbered, with their time; the log takes keyboard focus.
    await expect(answers(page)).toHaveCount(1);
    await expect(answers(page).first()).toHaveAttribute('aria-label', /^Answer 1, \S/);
    const log = page.getByRole('log', { name: 'Conversation' });
    await expect(log).toHaveAttribute('tabindex', '0');
    await expect(page.getByRole('status').filter({ hasText: 'Answer finished' })).toHaveCount(1);
    await expectAccessibleInEveryMode(page, testInfo, 'chat-conversation');

    // --- Copy: the core allows it (and audits it), then the clipboard has the answer as stored. ---
    await answers(page).last().getByRole('button', { name: 'Copy answer' }).click();
    await expect(answers(page).last().getByRole('status')).toHaveText('Answer copied.');
    const [stored] = (await storedMessages(page, sessionId)).filter((m) => m.role === 'assistant');
    if (app.target === 'browser') expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(stored?.content);

    // --- Regenerate: the answer is replaced, not added. ---
    const firstAnswerId = await answers(page).last().getAttribute('data-message-id');
    await answers(page).last().getByRole('button', { name: 'Regenerate' }).click();
    await expect(promptBox(page)).toBeFocused();
    await expect(page.getByRole('button', { name: 'Send' })).toBeVisible({ timeout: 120_000 });
    await expect(answers(page)).toHaveCount(1);
    await expect(answers(page).last()).not.toHaveAttribute('aria-busy', 'true');
    await expect(answers(page).last()).not.toHaveAttribute('data-message-id', firstAnswerId ?? '');
    expect((await storedMessages(page, sessionId)).filter((m) => m.role === 'assistant').map((m) => m.id)).not.toContain(firstAnswerId);

    // --- Edit the last prompt and send it again: one prompt, the new text, a new answer. ---
    await page.getByRole('article', { name: 'Prompt' }).last().getByRole('button', { name: 'Edit' }).click();
    const editor = page.getByRole('textbox', { name: 'Change your last message' });
    await expect(editor).toBeFocused();
    await editor.fill('Summarise the discharge plan in three lines.');
    await page.getByRole('button', { name: 'Save and ask again' }).click();
    await expect(promptBox(page)).toBeFocused();
    await expect(page.getByRole('button', { name: 'Send' })).toBeVisible({ timeout: 120_000 });
    await expect(page.getByRole('article', { name: 'Prompt' })).toHaveCount(1);
    await expect(page.getByRole('article', { name: 'Prompt' })).toContainText('in three lines');
    await expect(answers(page)).toHaveCount(1);
    const messages = await storedMessages(page, sessionId);
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(messages[0]?.content).toBe('Summarise the discharge plan in three lines.');

    // --- Report a problem: a dialog, a category, and the text is not sent. ---
    const reportButton = answers(page).last().getByRole('button', { name: 'Report a problem with this answer' });
    await reportButton.click();
    const dialog = page.getByRole('dialog', { name: 'Report a problem with this answer' });
    await expect(dialog).toBeVisible();
    await expectAccessibleInEveryMode(page, testInfo, 'chat-report-dialog');
    await dialog.getByRole('radio', { name: 'It contains another patient’s data' }).check();
    await dialog.getByRole('button', { name: 'Submit report' }).click();
    await expect(dialog.getByRole('status')).toContainText('Reported');
    await expect(dialog.getByRole('status')).toContainText('was not sent');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await expect(dialog).toBeHidden();
    await expect(reportButton).toBeFocused();
    // Escape closes it unsent, focus back on the opener too.
    await reportButton.press('Enter');
    await expect(dialog).toBeVisible();
    await page.keyboard.press('Escape');
    await expect(dialog).toBeHidden();
    await expect(reportButton).toBeFocused();

    // --- Escape stops the answer being written; focus goes to the prompt. ---
    await promptBox(page).fill('List every follow-up appointment in detail.');
    await promptBox(page).press('Enter');
    const live = answers(page).last();
    await expect(live).toHaveAttribute('aria-busy', 'true');
    await expect(live.getByRole('status', { name: 'Waiting for the answer' })).toHaveCount(0, { timeout: 120_000 });
    // At 200% zoom of 1280x720 (640x360 CSS px) Stop is still on screen.
    await setViewMode(page, 'zoom200');
    await expect(page.getByRole('button', { name: 'Stop' })).toBeInViewport();
    await testInfo.attach('streaming-zoom200.png', { body: await page.screenshot(), contentType: 'image/png' });
    await setViewMode(page, 'light');
    await promptBox(page).press('Escape');
    await expect(page.getByRole('button', { name: 'Send' })).toBeVisible({ timeout: 60_000 });
    await expect(answers(page).last()).toContainText('Stopped');
    await expect(promptBox(page)).toBeFocused();
  });
});

test.describe('sessions', () => {
  test('rename, search finds a message and opens it, delete', async ({ app }, testInfo) => {
    const { page } = app;
    await setUpWorkspace(page);
    const sidebar = page.getByRole('navigation', { name: 'Sessions' });

    // Two sessions; the first prompt of the first names something to find later.
    await page.getByRole('button', { name: 'New session' }).first().click();
    await sendAndWait(page, 'Plan for the **zebrafish** allergy clinic.');
    await page.getByRole('button', { name: 'New session' }).first().click();
    await sendAndWait(page, 'Draft a letter to the GP.');

    // The first session's title (from its prompt) shows without markdown.
    await expect(sidebar.getByRole('button', { name: /^Plan for the zebrafish allergy clinic\./ })).toBeVisible();

    // --- Rename: Escape cancels, Enter saves. ---
    await page.getByRole('button', { name: 'Rename' }).click();
    const name = page.getByRole('textbox', { name: 'Session name' });
    await expect(name).toBeFocused();
    await name.fill('Not this');
    await name.press('Escape');
    await expect(page.getByRole('heading', { level: 2, name: 'Draft a letter to the GP.' })).toBeVisible();
    await expect(page.getByRole('button', { name: 'Rename' })).toBeFocused();
    await page.getByRole('button', { name: 'Rename' }).click();
    await name.fill('GP letter, bed 4');
    await name.press('Enter');
    await expect(page.getByRole('heading', { level: 2, name: 'GP letter, bed 4' })).toBeVisible();
    await expect(sidebar.getByRole('button', { name: /^GP letter, bed 4/ })).toBeVisible();

    // --- Search: the hit has the match marked; choosing it opens the session at the message. ---
    const search = page.getByRole('searchbox', { name: 'Search your sessions' });
    await search.fill('zebrafish');
    const results = page.getByRole('region', { name: 'Search results' });
    await expect(results.getByRole('listitem')).not.toHaveCount(0);
    await expect(results.locator('mark').first()).toHaveText(/zebrafish/i);
    await expectAccessibleInEveryMode(page, testInfo, 'chat-search-results');
    await results.getByRole('button').filter({ hasText: 'Prompt' }).first().click();
    await expect(page.getByRole('heading', { level: 2, name: /^Plan for the zebrafish allergy clinic\./ })).toBeVisible();
    await expect(page.getByRole('article', { name: 'Prompt 1' })).toBeFocused();
    await search.fill('');

    // --- Delete (with the confirmation): gone from the list. ---
    await page.getByRole('button', { name: 'Delete session' }).click();
    await page.getByRole('button', { name: 'Delete for good' }).click();
    await expect(page.getByRole('heading', { name: 'No session open' })).toBeVisible();
    await expect(sidebar.getByRole('listitem')).toHaveCount(1);
    await expect(sidebar.getByRole('button', { name: /zebrafish/ })).toHaveCount(0);
  });
});

test.describe('copy turned off by policy', () => {
  test.use({
    policyText: async ({}, use) => {
      const model = await approvedTestModel();
      const shipped = JSON.parse(readFileSync(join(repoRoot, 'resources/policy/evaluation.json'), 'utf8')) as { inference: object };
      await use(
        JSON.stringify({
          ...shipped,
          inference: {
            ...shipped.inference,
            maxResponseTokens: 16,
            models: [{ id: 'test', name: 'Test model', path: model.path, sha256: model.sha256 }],
            workloads: [{ id: 'notes', name: 'Clinical notes', model: 'test', allowCopy: false }],
          },
        }),
      );
    },
  });

  test('offers no copy, and the core refuses one', async ({ app }) => {
    const { page } = app;
    await createFirstAccount(page);
    await page.getByRole('button', { name: 'New session' }).first().click();
    await sendAndWait(page, 'Summarise the notes.');
    await expect(answers(page).last().getByRole('button', { name: 'Report a problem with this answer' })).toBeVisible();
    await expect(page.getByRole('button', { name: /^Copy/ })).toHaveCount(0);
    const sessionId = await openSessionId(page);
    const [answer] = (await storedMessages(page, sessionId)).filter((m) => m.role === 'assistant');
    const refusal = await page.evaluate(
      async ({ sessionId: id, messageId }) => {
        const result = await window.enclave!.call('chat.copy', { sessionId: id, messageId, part: 'answer', chars: 10 });
        return result.ok ? null : result.error.code;
      },
      { sessionId, messageId: answer?.id ?? '' },
    );
    expect(refusal).toBe('copy_disabled');
  });
});
