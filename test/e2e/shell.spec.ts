// The application shell: text size (zoom keys and the Display dialog) and
// theme, kept per person; the shortcuts and their help sheet; the skip link;
// the layout at 200% zoom and at 1280x720; and the shell's screens checked
// with axe in light, dark and 200% zoom.
import type { Page } from '@playwright/test';
import { expectAccessibleInEveryMode } from './a11y.js';
import { ACCOUNT, answers, expect, promptBox, setUpWorkspace, test } from './fixtures.js';

// Answers long enough (about a token per millisecond on the test model) to still be streaming when checked.
test.use({ policyOverrides: { inference: { maxResponseTokens: 3000 } } });

/** The root font size in CSS px: 16 at 100%; the person's text size scales it and every rem with it. */
function rootFontSize(page: Page): Promise<number> {
  return page.evaluate(() => parseFloat(getComputedStyle(document.documentElement).fontSize));
}

function bodyBackground(page: Page): Promise<string> {
  return page.evaluate(() => getComputedStyle(document.body).backgroundColor);
}

async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
}

async function signIn(page: Page): Promise<void> {
  await page.getByLabel('User name').fill(ACCOUNT.username);
  await page.getByLabel('Password', { exact: true }).fill(ACCOUNT.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
}

async function answerOnce(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'New session' }).first().click();
  await promptBox(page).fill('Draft a discharge summary.');
  await promptBox(page).press('Enter');
  await expect(page.getByRole('button', { name: 'Stop' })).toBeVisible();
  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(page.getByRole('button', { name: 'Send' })).toBeVisible({ timeout: 120_000 });
  await expect(answers(page)).toHaveCount(1);
}

test('zoom keys change the text size; it is kept with the person across sign-out and sign-in', async ({ app }) => {
  const { page } = app;
  await setUpWorkspace(page);
  expect(await rootFontSize(page)).toBe(16);

  await page.keyboard.press('Control+Equal');
  await expect.poll(() => rootFontSize(page)).toBeCloseTo(17.6);
  await page.keyboard.press('Control+Equal');
  await expect.poll(() => rootFontSize(page)).toBe(20);
  await page.keyboard.press('Control+Minus');
  await expect.poll(() => rootFontSize(page)).toBeCloseTo(17.6);
  await page.keyboard.press('Control+Equal');
  await expect.poll(() => rootFontSize(page)).toBe(20);

  // The Display dialog shows the same size.
  await page.getByRole('button', { name: 'Display' }).click();
  await expect(page.getByRole('dialog', { name: 'Display' })).toContainText('125%');
  await page.getByRole('dialog', { name: 'Display' }).getByRole('button', { name: 'Close' }).click();

  // Signed out, the next person sees the defaults; signed in again, the person's size is back.
  await signOut(page);
  await expect.poll(() => rootFontSize(page)).toBe(16);
  await signIn(page);
  await expect.poll(() => rootFontSize(page)).toBe(20);

  await page.keyboard.press('Control+Digit0');
  await expect.poll(() => rootFontSize(page)).toBe(16);
  await signOut(page);
  await signIn(page);
  expect(await rootFontSize(page)).toBe(16);
});

test('the theme applies at once and is kept with the person; System follows the computer', async ({ app }) => {
  const { page } = app;
  await page.emulateMedia({ colorScheme: 'light' });
  await setUpWorkspace(page);
  const light = await bodyBackground(page);

  await page.getByRole('button', { name: 'Display' }).click();
  const dialog = page.getByRole('dialog', { name: 'Display' });
  await dialog.getByRole('radio', { name: 'Dark' }).check();
  await expect.poll(() => bodyBackground(page)).toBe('rgb(18, 22, 28)');
  await expect.poll(() => page.evaluate(() => getComputedStyle(document.documentElement).colorScheme)).toBe('dark');
  await dialog.getByRole('button', { name: 'Close' }).click();

  await signOut(page);
  await expect.poll(() => bodyBackground(page)).toBe(light);
  await signIn(page);
  await expect.poll(() => bodyBackground(page)).toBe('rgb(18, 22, 28)');

  // System: the computer's scheme, whichever it is.
  await page.getByRole('button', { name: 'Display' }).click();
  await dialog.getByRole('radio', { name: 'Same as the computer' }).check();
  await expect.poll(() => bodyBackground(page)).toBe(light);
  await page.emulateMedia({ colorScheme: 'dark' });
  await expect.poll(() => bodyBackground(page)).toBe('rgb(18, 22, 28)');
  await page.emulateMedia({ colorScheme: 'light' });
});

test('the help sheet lists the shortcuts that work now, and focus returns to its opener; Ctrl+Shift+L locks', async ({ app }) => {
  const { page } = app;
  await setUpWorkspace(page);

  const opener = page.getByRole('button', { name: 'Shortcuts' });
  await opener.focus();
  await page.keyboard.press('Enter');
  const sheet = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await expect(sheet).toBeVisible();
  for (const name of ['Lock Enclave', 'Larger text', 'Smaller text', 'Text size 100%', 'Show this list']) await expect(sheet.getByRole('term').filter({ hasText: name })).toHaveCount(1);
  await page.keyboard.press('Escape');
  await expect(sheet).toHaveCount(0);
  await expect(opener).toBeFocused();

  // F1 opens it from anywhere; its Close button gives focus back too.
  const newSession = page.getByRole('button', { name: 'New session' }).first();
  await newSession.focus();
  await page.keyboard.press('F1');
  await expect(sheet).toBeVisible();
  await sheet.getByRole('button', { name: 'Close' }).click();
  await expect(newSession).toBeFocused();

  await page.keyboard.press('Control+Shift+L');
  await expect(page.getByRole('heading', { name: 'Locked' })).toBeVisible();
});

test('new session and focus prompt from the keyboard (commands registered by the chat)', async ({ app }) => {
  const { page } = app;
  await setUpWorkspace(page);
  const sessions = page.getByRole('navigation', { name: 'Sessions' }).getByRole('listitem');
  const before = await sessions.count();
  await page.keyboard.press('Control+Shift+O');
  await expect(sessions).toHaveCount(before + 1);
  await page.getByRole('button', { name: 'Display' }).focus();
  await page.keyboard.press('Control+Slash');
  await expect(promptBox(page)).toBeFocused();
});

test('the skip link is the first stop and leads into the main content', async ({ app }) => {
  const { page } = app;
  await setUpWorkspace(page);
  // From the top of a freshly shown window.
  await app.reload();
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
  await page.keyboard.press('Tab');
  const skip = page.getByRole('link', { name: 'Skip to main content' });
  await expect(skip).toBeFocused();
  await expect(skip).toBeInViewport();
  await page.keyboard.press('Enter');
  expect(await page.evaluate(() => document.activeElement?.closest('main') !== null)).toBe(true);
  expect(await page.getByRole('main').count()).toBe(1);
});

test('at 200% zoom (640x360) Stop and the composer stay on screen while an answer streams', async ({ app }, testInfo) => {
  const { page } = app;
  await setUpWorkspace(page);
  await page.setViewportSize({ width: 640, height: 360 });
  await page.getByRole('button', { name: 'New session' }).first().click();
  await promptBox(page).fill('Write a long discharge letter.');
  await promptBox(page).press('Enter');
  const stop = page.getByRole('button', { name: 'Stop' });
  await expect(stop).toBeVisible();
  await testInfo.attach('streaming-640x360.png', { body: await page.screenshot({ path: testInfo.outputPath('streaming-640x360.png') }), contentType: 'image/png' });
  await expect(stop).toBeInViewport({ ratio: 1 });
  await expect(promptBox(page)).toBeInViewport({ ratio: 1 });
  // The conversation keeps a usable share of the height.
  const log = await page.getByRole('log', { name: 'Conversation' }).boundingBox();
  expect(log?.height ?? 0).toBeGreaterThan(80);
  await stop.click();
  await expect(page.getByRole('button', { name: 'Send' })).toBeVisible({ timeout: 120_000 });
});

test('at 1280x720 the header shows the model and device names whole', async ({ app }) => {
  const { page } = app;
  await page.setViewportSize({ width: 1280, height: 720 });
  await setUpWorkspace(page);
  await answerOnce(page);
  const header = page.getByRole('banner');
  await expect(header).toContainText(/CPU|GPU/);
  await expect(header).toContainText('Runs on this computer. Prompts never leave it.');
  const values = header.locator('.header-fact-value');
  await expect(values).toHaveCount(2);
  for (const value of await values.all()) {
    await expect(value).toBeInViewport({ ratio: 1 });
    const cut = await value.evaluate((el) => el.scrollWidth > el.clientWidth + 1 || getComputedStyle(el).textOverflow === 'ellipsis');
    expect(cut).toBe(false);
  }
  await expect(header.getByRole('definition').first()).toContainText('Ready');
});

test('axe: workspace (empty and with an answer), help sheet, Display, About and the lock screen in every mode', async ({ app }, testInfo) => {
  const { page } = app;
  await setUpWorkspace(page);
  await expectAccessibleInEveryMode(page, testInfo, 'workspace-empty');

  await answerOnce(page);
  await expectAccessibleInEveryMode(page, testInfo, 'workspace-answer');

  await page.keyboard.press('F1');
  await expect(page.getByRole('dialog', { name: 'Keyboard shortcuts' })).toBeVisible();
  await expectAccessibleInEveryMode(page, testInfo, 'shortcut-sheet');
  await page.keyboard.press('Escape');

  await page.getByRole('button', { name: 'Display' }).click();
  await expect(page.getByRole('dialog', { name: 'Display' })).toBeVisible();
  await expectAccessibleInEveryMode(page, testInfo, 'display-settings');
  await page.keyboard.press('Escape');

  const about = page.getByRole('button', { name: 'About', exact: true });
  await about.click();
  await expect(page.getByRole('heading', { name: 'About' })).toBeVisible();
  await expectAccessibleInEveryMode(page, testInfo, 'about');
  await page.getByRole('button', { name: 'Close about panel' }).click();
  await expect(about).toBeFocused();

  await page.getByRole('button', { name: 'Lock' }).click();
  await expect(page.getByRole('heading', { name: 'Locked' })).toBeVisible();
  await expectAccessibleInEveryMode(page, testInfo, 'lock-screen');
});

test('forced colours: the focus ring and the pressed state of a header button survive', async ({ app }) => {
  const { page } = app;
  await setUpWorkspace(page);
  await page.emulateMedia({ forcedColors: 'active' });
  const about = page.getByRole('button', { name: 'About', exact: true });
  await about.focus();
  await page.keyboard.press('Enter');
  await expect(about).toHaveAttribute('aria-pressed', 'true');
  const display = page.getByRole('button', { name: 'Display' });
  await display.focus();
  // A system-colour outline on the focused button, and one on the pressed one.
  const outline = (button: typeof display) => button.evaluate((el) => getComputedStyle(el).outlineStyle);
  await expect.poll(() => outline(display)).toBe('solid');
  expect(await outline(about)).toBe('solid');
  await page.emulateMedia({ forcedColors: 'none' });
});
