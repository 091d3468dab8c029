// The pseudo-locale (en-XA) shows text that does not come from the string
// catalog: every catalog string there is accented, longer and wrapped in ⟦ ⟧,
// so an English letter left on screen is hard-coded text. This walks the
// screens before the workspace, model setup, the audit search and the audit
// delivery line in a pseudo-locale build, and asserts that every visible text
// and every aria-label, placeholder and title in them is pseudo-localised,
// except data: what is marked translate="no" (user names, codes, hashes, paths,
// the institution's name from policy, error texts as the core sends them),
// <time> (dates and times in the user's locale), <code>/<pre>, and in the
// workspace what the person and the model wrote (prompts, answers, session
// titles, search snippets) and the names policy gives (model, workload).
// Browser target: the spec builds out/renderer-pseudo itself. Electron target:
// run it with VITE_ENCLAVE_LOCALE=en-XA, so scripts/e2e.mjs builds the app in the pseudo-locale.
import type { Page } from '@playwright/test';
import { TEST_MODEL_NAME } from '../../src/main/inference/gguf/test-model.js';
import { en } from '../../src/renderer/src/i18n/en/index.js';
import { pseudoLocalize as L } from '../../src/renderer/src/i18n/pseudo.js';
import { ACCOUNT, expect, target, test } from './fixtures.js';
import { buildPseudoRenderer, PSEUDO_RENDERER_DIR } from './pseudo-build.js';

// Skipped on purpose only where it cannot check anything: an Electron app built in English
// (the pseudo-locale is chosen at build time, never at run time, so the packaged app has no switch).
test.skip(
  target === 'electron' && process.env['VITE_ENCLAVE_LOCALE'] !== 'en-XA',
  'the Electron target builds the app for the run: VITE_ENCLAVE_LOCALE=en-XA ENCLAVE_E2E_TARGET=electron npm run test:e2e -- test/e2e/pseudo-locale.spec.ts',
);
test.use({ rendererRoot: target === 'browser' ? PSEUDO_RENDERER_DIR : null });

test.beforeAll(async () => {
  test.setTimeout(300_000);
  if (target === 'browser') await buildPseudoRenderer();
});

/** Text from other areas (their helpers' catalogs): an accessible name in English or in the pseudo-locale. */
function either(text: string): RegExp {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^(${escape(text)}|${escape(L(text))})$`);
}

/**
 * Every visible text node and labelling attribute under the roots that is not
 * pseudo-localised, with where it is. Text inside ⟦ ⟧ may hold data (a time,
 * a name) put in by interpolation; outside them no ASCII letter may remain.
 */
async function englishLeftIn(page: Page, roots: string[], allowed: readonly string[], dataSelectors: readonly string[] = []): Promise<string[]> {
  return page.evaluate(
    ({ roots, allowed, dataSelectors }) => {
      const found: string[] = [];
      const exemptSelector = ['[translate="no"]', 'time', 'code', 'pre', 'script', 'style', '[aria-hidden="true"]', ...dataSelectors].join(', ');
      const exempt = (el: Element | null) => !!el?.closest(exemptSelector);
      const leftOver = (text: string) => {
        let rest = text
          .replace(/⟦[^⟧]*⟧/g, ' ')
          .replace(/⟦[^⟧]*$/, ' ')
          .replace(/^[^⟦]*⟧/, ' ');
        // A text node in the middle of a <Trans> sentence has no marker of its own: its letters are accented.
        for (const data of allowed) rest = rest.split(data).join(' ');
        return /[A-Za-z]/.test(rest) ? text.trim() : null;
      };
      const where = (el: Element) => `${el.tagName.toLowerCase()}${el.className && typeof el.className === 'string' ? `.${el.className.split(' ').join('.')}` : ''}`;
      for (const selector of roots) {
        for (const root of Array.from(document.querySelectorAll(selector))) {
          const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const el = node.parentElement;
            if (!el || exempt(el) || !el.checkVisibility()) continue;
            const bad = leftOver(node.textContent ?? '');
            if (bad) found.push(`text "${bad}" in ${where(el)}`);
          }
          for (const el of [root, ...Array.from(root.querySelectorAll('*'))]) {
            if (exempt(el)) continue;
            for (const attribute of ['aria-label', 'placeholder', 'title']) {
              const value = el.getAttribute(attribute);
              const bad = value ? leftOver(value) : null;
              if (bad) found.push(`${attribute} "${bad}" on ${where(el)}`);
            }
          }
        }
      }
      return found;
    },
    { roots, allowed, dataSelectors },
  );
}

const ACCOUNT_DATA = [ACCOUNT.displayName, ACCOUNT.username];
/** The workspace: the header, the sidebar and the chat, the status line. */
const WORKSPACE_ROOTS = ['.app-header', '.workspace'];
const PROMPT = 'Plan for the zebrafish allergy clinic.';
/** Names from the user and from policy that the workspace shows as they are. */
const WORKSPACE_DATA = [...ACCOUNT_DATA, PROMPT, TEST_MODEL_NAME];
/** What the model wrote and what search found in it. */
const CHAT_DATA = ['.message-assistant .message-body', '.search-snippet'];
/** The screens before the workspace: everything in the window but the footer's shell text. */
const AUTH_ROOTS = ['.app-body', '.eval-banner'];

async function createAccount(page: Page) {
  await expect(page.getByRole('heading', { name: L(en.auth.firstRun.title) })).toBeVisible();
  expect(await englishLeftIn(page, AUTH_ROOTS, []), 'first run').toEqual([]);
  await page.getByLabel(L(en.auth.userName)).fill(ACCOUNT.username);
  await page.getByLabel(L(en.auth.firstRun.displayName)).fill(ACCOUNT.displayName);
  await page.getByLabel(L(en.auth.password), { exact: true }).fill('short');
  // The hint counts down in the catalog's words too.
  expect(await englishLeftIn(page, AUTH_ROOTS, []), 'first run, password too short').toEqual([]);
  await page.getByLabel(L(en.auth.password), { exact: true }).fill(ACCOUNT.password);
  await page.getByLabel(L(en.auth.firstRun.confirm)).fill('something else entirely');
  await page.getByRole('button', { name: L(en.auth.firstRun.submit) }).click();
  await expect(page.getByRole('alert')).toHaveText(L(en.auth.firstRun.mismatch));
  await page.getByLabel(L(en.auth.firstRun.confirm)).fill(ACCOUNT.password);
  await page.getByRole('button', { name: L(en.auth.firstRun.submit) }).click();
}

test('first run, model setup, audit search and audit delivery show only catalog text', async ({ app }) => {
  const { page } = app;
  await createAccount(page);

  await expect(page.getByRole('heading', { name: L(en.model.setup.title) })).toBeVisible();
  expect(await englishLeftIn(page, ['.setup-screen'], []), 'model setup').toEqual([]);

  // The audit-delivery line and its details for IT (no SIEM in this policy).
  const bar = page.getByRole('region', { name: L(en.siem.region) });
  await expect(bar).toContainText(L(en.siem.line.local));
  await bar.getByRole('button', { name: L(en.siem.detailsButton) }).click();
  await expect(page.getByRole('group', { name: L(en.siem.detailsLabel) })).toBeVisible();
  expect(await englishLeftIn(page, ['.siem-bar'], []), 'audit delivery').toEqual([]);
  await page.keyboard.press('Escape');

  // The audit search with results, one event open, the chain verified.
  await page.getByRole('button', { name: either('Audit') }).click();
  await expect(page.getByRole('heading', { name: L(en.audit.search.title), level: 1 })).toBeVisible();
  await expect(page.getByRole('status', { name: L(en.audit.verify.resultLabel) })).toBeVisible();
  const table = page.getByRole('table', { name: L(en.audit.table.label) });
  await expect(table.locator('tbody tr').first()).toBeVisible();
  await table.locator('tbody tr').first().getByRole('button').click();
  await expect(page.locator('.audit-detail')).toBeVisible();
  expect(await englishLeftIn(page, ['.audit-screen'], ACCOUNT_DATA), 'audit search').toEqual([]);
});

test('the workspace: header, chat with an answer, its actions, session search, editing, deleting and the report, display and shortcut dialogs show only catalog text', async ({ app }) => {
  const { page } = app;
  await createAccount(page);
  await page.getByRole('button', { name: L(en.model.setup.testSubmit) }).click();
  const newSession = page.getByRole('button', { name: L(en.chat.newSession) }).first();
  await expect(newSession).toBeVisible({ timeout: 120_000 });
  // Before a session: the empty workspace and the header with its trust cue.
  await expect(page.getByText(L(en.shell.header.trustCue))).toBeVisible();
  expect(await englishLeftIn(page, WORKSPACE_ROOTS, WORKSPACE_DATA), 'empty workspace').toEqual([]);

  await newSession.click();
  const prompt = page.getByRole('textbox', { name: L(en.chat.prompt) });
  await prompt.fill(PROMPT);
  await prompt.press('Enter');
  await expect(page.getByRole('button', { name: L(en.chat.send) })).toBeVisible({ timeout: 120_000 });
  const log = page.getByRole('log', { name: L(en.chat.conversation) });
  await expect(log.locator('article.message-assistant')).toHaveCount(1);
  await expect(log.locator('article.message-assistant')).not.toHaveAttribute('aria-busy', 'true');
  expect(await englishLeftIn(page, WORKSPACE_ROOTS, WORKSPACE_DATA, CHAT_DATA), 'chat with an answer').toEqual([]);

  // Search: results with their snippets.
  await page.getByRole('searchbox', { name: L(en.chat.searchSessions) }).fill('zebrafish');
  const results = page.getByRole('region', { name: L(en.chat.searchResults) });
  await expect(results.getByRole('listitem')).not.toHaveCount(0);
  expect(await englishLeftIn(page, WORKSPACE_ROOTS, WORKSPACE_DATA, CHAT_DATA), 'search results').toEqual([]);
  await page.getByRole('searchbox', { name: L(en.chat.searchSessions) }).fill('zz');
  await expect(results).toContainText(L(en.chat.searchNone));
  expect(await englishLeftIn(page, WORKSPACE_ROOTS, WORKSPACE_DATA, CHAT_DATA), 'search, nothing found').toEqual([]);
  await page.getByRole('searchbox', { name: L(en.chat.searchSessions) }).fill('');

  // The report dialog, before and after sending.
  await log
    .locator('article.message-assistant')
    .getByRole('button', { name: L(en.chat.reportProblem) })
    .click();
  const report = page.getByRole('dialog', { name: L(en.chat.reportTitle) });
  await expect(report).toBeVisible();
  expect(await englishLeftIn(page, ['dialog[open]'], []), 'report dialog').toEqual([]);
  await report.getByRole('radio', { name: L(en.chat.reportWrong) }).check();
  await report.getByRole('button', { name: L(en.chat.reportSend) }).click();
  await expect(report.getByRole('status')).toContainText(L(en.chat.reportDone));
  expect(await englishLeftIn(page, ['dialog[open]'], []), 'report dialog, sent').toEqual([]);
  await page.keyboard.press('Escape');
  await expect(report).toBeHidden();

  // Editing the last prompt, and the delete confirmation (both cancelled).
  await log
    .locator('article.message-user')
    .getByRole('button', { name: L(en.chat.editPrompt) })
    .click();
  await expect(page.getByRole('textbox', { name: L(en.chat.editPromptLabel) })).toBeVisible();
  expect(await englishLeftIn(page, WORKSPACE_ROOTS, WORKSPACE_DATA, CHAT_DATA), 'editing the prompt').toEqual([]);
  await log
    .locator('.prompt-editor')
    .getByRole('button', { name: L(en.chat.cancel) })
    .click();
  await page.getByRole('button', { name: L(en.chat.deleteSession) }).click();
  await expect(page.getByRole('alertdialog', { name: L(en.chat.deleteTitle) })).toBeVisible();
  expect(await englishLeftIn(page, WORKSPACE_ROOTS, WORKSPACE_DATA, CHAT_DATA), 'delete confirmation').toEqual([]);
  await page
    .getByRole('alertdialog')
    .getByRole('button', { name: L(en.chat.cancel) })
    .click();

  // The header's Display and Shortcuts dialogs.
  await page.getByRole('button', { name: L(en.shell.header.display) }).click();
  await expect(page.getByRole('dialog', { name: L(en.shell.display.title) })).toBeVisible();
  expect(await englishLeftIn(page, ['dialog[open]'], []), 'display dialog').toEqual([]);
  await page.keyboard.press('Escape');
  await page.getByRole('button', { name: L(en.shell.header.shortcuts) }).click();
  await expect(page.getByRole('dialog', { name: L(en.shell.shortcuts.title) })).toBeVisible();
  // Key names (Ctrl, Shift, Enter) are the keyboard's, in <kbd>.
  expect(await englishLeftIn(page, ['dialog[open]'], [], ['kbd']), 'shortcuts dialog').toEqual([]);
  await page.keyboard.press('Escape');
});

test.describe('locked after a short idle time', () => {
  test.use({ policyOverrides: { session: { idleLockSeconds: 5 } } });

  test('the lock and sign-in screens show only catalog text', async ({ app }) => {
    const { page } = app;
    await createAccount(page);
    await expect(page.getByRole('heading', { name: L(en.auth.lock.title) })).toBeVisible({ timeout: 20_000 });
    expect(await englishLeftIn(page, AUTH_ROOTS, ACCOUNT_DATA), 'lock').toEqual([]);
    await page.getByRole('button', { name: L(en.auth.lock.switchUser).replace('{{name}}', ACCOUNT.displayName) }).click();
    expect(await englishLeftIn(page, AUTH_ROOTS, ACCOUNT_DATA), 'lock, someone else').toEqual([]);
    await page.getByRole('button', { name: L(en.common.cancel) }).click();
    await page.getByRole('button', { name: L(en.auth.signOut) }).click();
    await expect(page.getByRole('heading', { name: L(en.auth.signIn.title) })).toBeVisible();
    await page.getByLabel(L(en.auth.userName)).fill(ACCOUNT.username);
    await page.getByLabel(L(en.auth.password)).fill('not the password');
    await page.getByRole('button', { name: L(en.auth.signIn.submit), exact: true }).click();
    await expect(page.getByRole('alert')).toBeVisible();
    // The core's own error text stays as the core sends it: only the rest of the screen is checked.
    expect(await englishLeftIn(page, AUTH_ROOTS, []), 'sign-in').toEqual([]);
  });
});

test.describe('an acceptable-use statement in policy', () => {
  test.use({ policyOverrides: { acceptableUse: { text: 'Use Enclave for patient care only.', intervalDays: 365 } } });

  test('the attestation screen shows only catalog text and the statement as policy words it', async ({ app }) => {
    const { page } = app;
    await createAccount(page);
    await expect(page.getByRole('heading', { name: L(en.governance.attestation.title), level: 1 })).toBeVisible();
    expect(await englishLeftIn(page, AUTH_ROOTS, ACCOUNT_DATA), 'attestation').toEqual([]);
  });
});

test.describe('an invalid policy', () => {
  test.use({ policyText: JSON.stringify({ mode: 'managed', session: { idleLockSeconds: 'soon' } }) });

  test('the policy error screen shows only catalog text, and the problems as the core words them', async ({ app }) => {
    const { page } = app;
    await expect(page.getByRole('heading', { name: L(en.policy.error.title) })).toBeVisible();
    expect(await englishLeftIn(page, ['.app-body'], ['session.idleLockSeconds']), 'policy error').toEqual([]);
  });
});
