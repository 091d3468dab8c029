// Accessibility checks for the e2e specs: axe-core (the rules engine behind
// Lighthouse and most audits) with the WCAG 2.1 A and AA rules, run on a
// screen as the user sees it, in each of the three ways it must work: light,
// dark, and 200% zoom (a 1280x720 window at 200% is a 640x360 CSS viewport).
// Every check keeps a screenshot with the test's results, so a reviewer can see
// each screen in each mode without running anything.
import AxeBuilder from '@axe-core/playwright';
import { expect, type Page, type TestInfo } from '@playwright/test';

export const VIEW_MODES = ['light', 'dark', 'zoom200'] as const;
export type ViewMode = (typeof VIEW_MODES)[number];

// best-practice too: landmarks, one h1 and focusable scroll regions are what screen-reader users navigate by.
const WCAG_21_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];
const BASE_VIEWPORT = { width: 1280, height: 720 };

/** Shows the page as the mode asks: the OS colour scheme (the app follows it unless the person chose a theme) and the zoom. */
export async function setViewMode(page: Page, mode: ViewMode): Promise<void> {
  await page.emulateMedia({ colorScheme: mode === 'dark' ? 'dark' : 'light' });
  const scale = mode === 'zoom200' ? 2 : 1;
  await page.setViewportSize({ width: BASE_VIEWPORT.width / scale, height: BASE_VIEWPORT.height / scale });
}

/** One line per violating node, so a failure says what to fix and where. */
function describeViolations(violations: Awaited<ReturnType<AxeBuilder['analyze']>>['violations']): string[] {
  return violations.flatMap((violation) =>
    violation.nodes.map((node) => `${violation.id} (${violation.impact ?? 'n/a'}): ${node.target.join(' ')} — ${node.failureSummary?.split('\n').join(' ') ?? violation.help}`),
  );
}

/**
 * Asserts that the screen now shown has no WCAG 2.1 A/AA violation, and keeps
 * a screenshot named after the screen and mode.
 */
export async function expectAccessible(page: Page, testInfo: TestInfo, screen: string, mode: ViewMode = 'light'): Promise<void> {
  await testInfo.attach(`${screen}-${mode}.png`, { body: await page.screenshot({ fullPage: false }), contentType: 'image/png' });
  const results = await new AxeBuilder({ page }).withTags(WCAG_21_AA).analyze();
  expect(describeViolations(results.violations), `axe on "${screen}" (${mode})`).toEqual([]);
}

/** The same screen in every mode; `show` brings the page to the screen again if a mode change disturbed it. */
export async function expectAccessibleInEveryMode(page: Page, testInfo: TestInfo, screen: string, show?: () => Promise<void>): Promise<void> {
  for (const mode of VIEW_MODES) {
    await setViewMode(page, mode);
    if (show) await show();
    await expectAccessible(page, testInfo, screen, mode);
  }
  await setViewMode(page, 'light');
}
