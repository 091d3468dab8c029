// A keyboard-only walk through a clinician's first day: first run (account,
// test model), a prompt, Stop, copy the answer, lock and unlock, and the audit
// log (which shows the copy), with nothing but page.keyboard. Every step keeps
// a screenshot with the results.
import type { Locator, Page, TestInfo } from '@playwright/test';
import { ACCOUNT, answers, expect, promptBox, test } from './fixtures.js';

test.use({ policyOverrides: { inference: { maxResponseTokens: 3000 } } });

/** Presses Tab (or Shift+Tab) until the target has focus; fails if it is not reached. */
async function tabTo(page: Page, target: Locator, { back = false, max = 60 } = {}): Promise<void> {
  await expect(target).toBeVisible();
  for (let i = 0; i < max; i++) {
    if (await target.evaluate((el) => el === document.activeElement)) return;
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
  }
  await expect(target, 'reached with Tab').toBeFocused();
}

async function shot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  await testInfo.attach(`${name}.png`, { body: await page.screenshot(), contentType: 'image/png' });
}

test('keyboard only: first run, a prompt, Stop, copy, lock and unlock, audit log', async ({ app }, testInfo) => {
  const { page } = app;
  if (app.target === 'browser') await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(page.url()).origin });
  const kb = page.keyboard;

  // --- First run: the evaluation account. ---
  await expect(page.getByRole('heading', { name: 'Create the evaluation account' })).toBeVisible();
  for (const [label, value] of [
    ['User name', ACCOUNT.username],
    ['Display name', ACCOUNT.displayName],
    ['Password', ACCOUNT.password],
    ['Confirm password', ACCOUNT.password],
  ] as const) {
    await tabTo(page, page.getByLabel(label, { exact: true }));
    await kb.type(value);
  }
  await shot(page, testInfo, '01-first-run');
  await tabTo(page, page.getByRole('button', { name: 'Create account' }));
  await kb.press('Enter');

  // --- The test model. ---
  const generate = page.getByRole('button', { name: 'Generate test model' });
  await tabTo(page, generate);
  await shot(page, testInfo, '02-model-setup');
  await kb.press('Enter');
  const newSession = page.getByRole('button', { name: 'New session' }).first();
  await expect(newSession).toBeVisible({ timeout: 120_000 });

  // --- A session and a prompt; Stop mid-answer. ---
  await tabTo(page, newSession);
  await kb.press('Enter');
  await tabTo(page, promptBox(page));
  await kb.type('Summarise the plan for a test patient.');
  await kb.press('Enter');
  const stop = page.getByRole('button', { name: 'Stop' });
  await expect(stop).toBeVisible();
  // Mid-way: once some of the answer is on screen (the model has loaded and is writing).
  await page.waitForFunction(
    () => {
      const live = document.querySelector('[role="log"] article[aria-label^="Answer"][aria-busy="true"]');
      if (!live || live.querySelector('[role="status"][aria-label="Waiting for the answer"]')) return false;
      return (live.lastElementChild?.textContent ?? '').length > 0;
    },
    undefined,
    { polling: 'raf' },
  );
  await shot(page, testInfo, '03-streaming');
  await tabTo(page, stop);
  await kb.press('Enter');
  await expect(answers(page).last()).toContainText('Stopped', { timeout: 60_000 });
  await expect(page.getByRole('button', { name: 'Send' })).toBeVisible();
  await shot(page, testInfo, '04-stopped');

  // --- Copy the (stopped) answer: the core allows and audits it, the clipboard has the stored text. ---
  const stopped = answers(page).last();
  await tabTo(page, stopped.getByRole('button', { name: 'Copy answer' }), { back: true });
  await kb.press('Enter');
  await expect(stopped.getByRole('status')).toHaveText('Answer copied.');
  if (app.target === 'browser') {
    const stored = await page.evaluate(async () => {
      const list = await window.enclave!.call('chat.list', {});
      if (!list.ok || !list.output[0]) return null;
      const open = await window.enclave!.call('chat.open', { sessionId: list.output[0].id });
      return open.ok ? (open.output.messages.filter((m) => m.role === 'assistant').at(-1)?.content ?? null) : null;
    });
    expect(stored).toBeTruthy();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(stored);
  }
  await shot(page, testInfo, '05-copied');

  // --- Lock with the shortcut; unlock with the password. ---
  await kb.press('Control+Shift+L');
  await expect(page.getByRole('heading', { name: 'Locked' })).toBeVisible();
  await tabTo(page, page.getByLabel('Password', { exact: true }));
  await kb.type(ACCOUNT.password);
  await shot(page, testInfo, '06-locked');
  await kb.press('Enter');
  await expect(answers(page).last()).toContainText('Stopped');

  // --- The audit log (the evaluation account holds every role). ---
  const audit = page.getByRole('button', { name: 'Audit' });
  await tabTo(page, audit, { back: true });
  await kb.press('Enter');
  await expect(page.getByRole('heading', { name: 'Audit log', level: 1 })).toBeVisible();
  // The copy is in the audit log (what and how long, never the text).
  await expect(page.getByRole('table', { name: 'Audit events' })).toContainText('Text copied from a chat');
  await shot(page, testInfo, '07-audit-log');
});
