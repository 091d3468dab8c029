// A clinician's day in one test: first run, test model, a streamed answer, a
// stopped answer, coming back to a session, locking, deleting a session, and
// the audit check.
import { mkdirSync } from 'node:fs';
import { ACCOUNT, answers, createFirstAccount, expect, expectEvaluationBanner, generateTestModel, promptBox, test } from './fixtures.js';

const SHOTS = 'test-results/screenshots';

// Long enough answers (about a token per millisecond on the test model) that Stop lands mid-way.
test.use({ policyOverrides: { inference: { maxResponseTokens: 3000 } } });

test('first run, streamed chat, stop, return to a session, lock and unlock, delete a session, audit intact', async ({ app }) => {
  const { page } = app;
  mkdirSync(SHOTS, { recursive: true });

  // --- First run: the evaluation account. ---
  await expectEvaluationBanner(page);
  await expect(page.getByText('exists only in evaluation mode')).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/01-first-run.png` });
  await createFirstAccount(page);

  // --- No model yet: generate the random-weight test model. ---
  await expectEvaluationBanner(page);
  await expect(page.getByText('random weights: its output is noise')).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/02-model-setup.png` });
  await generateTestModel(page);

  const header = page.getByRole('banner');
  await expect(header).toContainText(ACCOUNT.displayName);
  await expect(header).toContainText('Clinician');
  await expect(header.getByRole('definition').first()).toContainText('Test');

  // --- A new session and a streamed answer. ---
  await page.getByRole('button', { name: 'New session' }).first().click();
  await expect(page.getByRole('note', { name: 'Test model notice' })).toContainText('random weights');
  await expect(page.getByText('0 / 16,000 characters')).toBeVisible();

  // Record, in the page, whether answer text was on screen while the answer
  // was still being generated (busy, and past its "waiting" placeholder).
  await page.evaluate(() => {
    const w = window as unknown as { __streamedChars: number };
    w.__streamedChars = 0;
    new MutationObserver(() => {
      const live = document.querySelector('[role="log"] article[aria-label^="Answer"][aria-busy="true"]');
      if (!live || live.querySelector('[role="status"][aria-label="Waiting for the answer"]')) return;
      const body = live.lastElementChild?.textContent ?? '';
      w.__streamedChars = Math.max(w.__streamedChars, body.length);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });

  const firstPrompt = 'Summarise the discharge plan for a test patient.';
  await promptBox(page).fill(firstPrompt);
  await promptBox(page).press('Enter');
  await expect(page.getByRole('article', { name: 'Prompt' }).last()).toContainText(firstPrompt);
  await expect(promptBox(page)).toHaveValue('');
  // Done when Send is back and the answer is no longer busy.
  await expect(page.getByRole('button', { name: 'Send' })).toBeVisible({ timeout: 120_000 });
  const first = answers(page).last();
  await expect(first).not.toHaveAttribute('aria-busy', 'true');
  await expect.poll(() => page.evaluate(() => (window as unknown as { __streamedChars: number }).__streamedChars)).toBeGreaterThan(0);
  await expect(first).not.toContainText('Stopped');
  const firstAnswerText = (await first.innerText()).trim();
  expect(firstAnswerText.length).toBeGreaterThan(0);
  // The device is known once the model has loaded.
  await expect(header).toContainText(/CPU|GPU/);
  await page.screenshot({ path: `${SHOTS}/03-chat.png` });

  // --- A second prompt, stopped mid-way. ---
  await promptBox(page).fill('Now list the follow-up appointments.\nInclude the clinic names.');
  await page.getByRole('button', { name: 'Send' }).click();
  const stop = page.getByRole('button', { name: 'Stop' });
  await expect(stop).toBeVisible();
  // Mid-way: once some of the answer is on screen.
  await page.evaluate(() => ((window as unknown as { __streamedChars: number }).__streamedChars = 0));
  await page.waitForFunction(() => (window as unknown as { __streamedChars: number }).__streamedChars > 0, undefined, { polling: 'raf' });
  await page.screenshot({ path: `${SHOTS}/04a-streaming.png` });
  await stop.click();
  const stopped = answers(page).last();
  await expect(stopped).toContainText('Stopped', { timeout: 60_000 });
  await expect(page.getByRole('button', { name: 'Send' })).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/04-stopped.png` });

  // --- Another session, then back to the first one; and after a reload. ---
  const sessions = page.getByRole('navigation', { name: 'Sessions' });
  await page.getByRole('button', { name: 'New session' }).first().click();
  await expect(page.getByText('No messages yet')).toBeVisible();
  const items = sessions.getByRole('listitem');
  await expect(items).toHaveCount(2);
  // Newest first: the earlier session is the second.
  await items.nth(1).getByRole('button').click();
  await expect(page.getByRole('article', { name: 'Prompt' }).first()).toContainText(firstPrompt);
  await expect(answers(page)).toHaveCount(2);
  await expect(answers(page).last()).toContainText('Stopped');

  await app.reload();
  await expectEvaluationBanner(page);
  await expect(sessions.getByRole('listitem')).toHaveCount(2);
  await sessions.getByRole('listitem').nth(1).getByRole('button').click();
  await expect(page.getByRole('article', { name: 'Prompt' }).first()).toContainText(firstPrompt);
  await expect(answers(page).first()).toContainText(firstAnswerText.slice(-20));
  await expect(answers(page).last()).toContainText('Stopped');

  // --- Lock; a wrong password is refused specifically; the right one unlocks. ---
  await page.getByRole('button', { name: 'Lock' }).click();
  await expect(page.getByRole('heading', { name: 'Locked' })).toBeVisible();
  await expect(page.getByText(ACCOUNT.displayName, { exact: true })).toBeVisible();
  await expectEvaluationBanner(page);
  // Nothing of the conversation stays on screen while locked.
  await expect(page.getByRole('log', { name: 'Conversation' })).toHaveCount(0);
  await page.getByLabel('Password', { exact: true }).fill('not the password at all');
  await page.getByRole('button', { name: 'Unlock' }).click();
  const alert = page.getByRole('alert');
  await expect(alert).toBeVisible();
  await expect(alert).toContainText('That password is not correct.');
  await page.screenshot({ path: `${SHOTS}/05-locked.png` });
  await page.getByLabel('Password', { exact: true }).fill(ACCOUNT.password);
  await page.getByRole('button', { name: 'Unlock' }).click();
  // Back where we were.
  await expect(page.getByRole('article', { name: 'Prompt' }).first()).toContainText(firstPrompt);

  // --- Delete a session: asked first (Escape keeps it), then deleted from the keyboard. ---
  const deleteButton = page.getByRole('button', { name: 'Delete session' });
  await deleteButton.click();
  const confirm = page.getByRole('alertdialog', { name: 'Delete this session?' });
  await expect(confirm).toContainText('cannot be undone');
  await expect(confirm.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(confirm).toHaveCount(0);
  await expect(sessions.getByRole('listitem')).toHaveCount(2);
  await deleteButton.focus();
  await page.keyboard.press('Enter');
  await expect(confirm.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await page.keyboard.press('Shift+Tab');
  await expect(confirm.getByRole('button', { name: 'Delete for good' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(sessions.getByRole('listitem')).toHaveCount(1);
  await expect(page.getByRole('heading', { name: 'No session open' })).toBeVisible();
  // Its title (the first prompt) and its messages are gone from the screen, and after a reload.
  await expect(page.getByText(firstPrompt)).toHaveCount(0);
  await app.reload();
  await expectEvaluationBanner(page);
  await expect(sessions.getByRole('listitem')).toHaveCount(1);
  await expect(page.getByText(firstPrompt)).toHaveCount(0);

  // --- Audit. ---
  await page.getByRole('button', { name: 'Audit' }).click();
  const result = page.getByRole('status', { name: 'Audit result' });
  await expect(result).toContainText(/Audit intact — \d+ events, head [0-9a-f]{12}/);
  await page.screenshot({ path: `${SHOTS}/06-audit.png` });

  if (app.keyFile) {
    const cli = await app.verifyAuditWithCli();
    expect(cli.code, cli.output).toBe(0);
    expect(cli.report?.ok).toBe(true);
    expect(cli.report?.eventsChecked).toBeGreaterThan(0);
  }
});
