// The compliance officer's audit screen and the audit delivery status bar, on
// the real core: a compliance officer finds one clinician's sign-ins, reads one
// in full, verifies the chain and exports a bundle an auditor can verify
// elsewhere; a clinician neither sees the screen nor may call it; everyone
// sees where the audit goes (a SIEM that is down, or none at all).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { directoryPolicyDocument } from '../support/directory-policy.js';
import { sambaDcInfoFromEnv, type SambaDcInfo, type SambaDcUser } from '../support/samba-dc.js';
import { testModelPath } from '../support/test-model.js';
import { createFirstAccount, expect, test, testPolicyText } from './fixtures.js';

const SHOTS = 'test-results/screenshots';
mkdirSync(SHOTS, { recursive: true });

function dcInfo(): SambaDcInfo {
  const info = sambaDcInfoFromEnv();
  if (!info) throw new Error('No Samba DC: the Playwright global setup (test/e2e/global-setup.ts) did not run.');
  return info;
}

/** The managed policy of the directory specs: the test DC with its role groups, and the generated test model. */
async function directoryPolicyText(): Promise<string> {
  const modelPath = await testModelPath();
  const sha256 = createHash('sha256').update(readFileSync(modelPath)).digest('hex');
  return JSON.stringify(directoryPolicyDocument(dcInfo(), { path: modelPath, sha256 }, { timeoutSeconds: 3 }));
}

async function signIn(page: Page, user: Pick<SambaDcUser, 'username' | 'password'>): Promise<void> {
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await page.getByLabel('User name').fill(user.username);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

async function signInAndOut(page: Page, user: SambaDcUser, as = user.username): Promise<void> {
  await signIn(page, { username: as, password: user.password });
  await expect(page.getByLabel('Signed-in user')).toContainText(user.displayName);
  await page.getByRole('button', { name: 'Sign out' }).click();
}

/** A loopback port nothing listens on: bound, read, closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test.describe('under a managed policy with directory roles', () => {
  test.use({ policyText: async ({}, use) => use(await directoryPolicyText()) });

  test("a compliance officer finds one clinician's sign-ins, reads one, verifies the chain and exports a verifiable bundle", async ({ app }) => {
    const { page } = app;
    const { clinician, researcher, compliance } = dcInfo().users;

    // Activity to find: the clinician signs in twice (by name and by UPN), a researcher once.
    await signInAndOut(page, clinician);
    await signInAndOut(page, researcher);
    await signInAndOut(page, clinician, clinician.upn);

    // A compliance-only officer lands on the audit log: there is no chat for them.
    await signIn(page, compliance);
    await expect(page.getByLabel('Signed-in user')).toContainText(compliance.displayName);
    await expect(page.getByRole('heading', { name: 'Audit log', level: 1 })).toBeVisible();
    await expect(page.getByRole('button', { name: 'New session' })).toHaveCount(0);
    await expect(page.getByText('Searches and exports here are themselves recorded in the audit log')).toBeVisible();
    // The chain is checked on opening.
    await expect(page.getByRole('status', { name: 'Audit result' })).toContainText(/Audit intact — \d+ events/);

    // The clinician's sign-ins: the user as recorded (UPN), in any case; the action from the list.
    const filters = page.getByRole('search', { name: 'Filter audit events' });
    await filters.getByLabel('User', { exact: true }).fill(clinician.upn.toUpperCase());
    await filters.getByLabel('Action', { exact: true }).selectOption('auth.login');
    await filters.getByRole('button', { name: 'Search' }).click();
    const count = page.getByRole('status', { name: 'Result count' });
    await expect(count).toContainText('2 of 2 events');
    const table = page.getByRole('table', { name: 'Audit events' });
    const rows = table.locator('tbody').getByRole('row');
    await expect(rows).toHaveCount(2);
    for (const row of await rows.all()) {
      await expect(row).toContainText('Sign-in');
      await expect(row).toContainText(clinician.upn);
      await expect(row).toContainText('Success');
      await expect(row).toContainText(/Waiting to be sealed|Sealed in batch \d+/);
    }
    await expect(table).not.toContainText(researcher.upn);
    await page.screenshot({ path: `${SHOTS}/20-compliance-search.png` });

    // Today holds both; a range that ended yesterday holds none.
    const day = (offset: number) => {
      const d = new Date();
      d.setDate(d.getDate() + offset);
      return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    };
    await filters.getByLabel('From', { exact: true }).fill(day(-30));
    await filters.getByLabel('To', { exact: true }).fill(day(-1));
    await filters.getByRole('button', { name: 'Search' }).click();
    await expect(count).toContainText('0 of 0 events');
    await expect(page.getByText('No events match these filters.')).toBeVisible();
    await filters.getByLabel('To', { exact: true }).fill(day(0));
    await filters.getByRole('button', { name: 'Search' }).click();
    await expect(count).toContainText('2 of 2 events');

    // The newest row, in full.
    await rows.first().click();
    const detail = page.getByRole('region', { name: /^Event \d+: Sign-in$/ });
    await expect(detail).toBeVisible();
    const record = detail.getByLabel('Full record', { exact: true });
    await expect(record).toContainText('"action": "auth.login"');
    await expect(record).toContainText(`"name": "${clinician.upn}"`);
    await expect(record).toContainText('"outcome": "success"');
    await page.screenshot({ path: `${SHOTS}/21-compliance-event.png` });
    await page.keyboard.press('Escape');
    await expect(detail).toHaveCount(0);

    // Verify on demand.
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await expect(page.getByRole('status', { name: 'Audit result' })).toContainText(/Audit intact — \d+ events, head [0-9a-f]{12}/);

    // Export what the search shows: where it went, and the command to verify it anywhere.
    await page.getByRole('button', { name: 'Export 2 events' }).click();
    const exported = page.getByRole('status', { name: 'Export result' });
    await expect(exported).toContainText('Exported 2 events');
    const directory = (await exported.getByLabel('Bundle folder', { exact: true }).innerText()).trim();
    const csvFile = (await exported.getByLabel('CSV file', { exact: true }).innerText()).trim();
    const command = (await exported.getByLabel('Verify command', { exact: true }).innerText()).trim();
    expect(command).toMatch(/^enclave audit verify --bundle \S+ --key-id [0-9a-f]{64}$/);
    expect(command).toContain(`--bundle ${directory} `);
    await page.screenshot({ path: `${SHOTS}/22-compliance-export.png` });
    for (const file of ['manifests.jsonl', 'events.jsonl', 'events.csv', 'bundle.json']) {
      expect(existsSync(join(directory, file)), `${file} in ${directory}`).toBe(true);
    }
    expect(existsSync(csvFile), csvFile).toBe(true);
    expect(readFileSync(csvFile, 'utf8')).toContain(clinician.upn);
    // Exporting sealed what was waiting; the rows say so once the search is read again.
    for (const row of await rows.all()) await expect(row).toContainText(/Sealed in batch \d+/);

    // The command on screen, run as shown, verifies the bundle.
    const [program, ...args] = command.split(' ');
    expect(program).toBe('enclave');
    const verified = await app.cli(args);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  });

  test('a password typed as a user name: the record holds only its keyed token; the officer finds the attempt by what was typed, reads it here and checks a text against it', async ({ app }) => {
    const { page } = app;
    const { compliance } = dcInfo().users;
    const typed = 'Spring2026!Tulips';
    await signIn(page, { username: typed, password: 'not a password' });
    await expect(page.getByRole('alert')).toContainText('not correct');

    await signIn(page, compliance);
    await expect(page.getByRole('heading', { name: 'Audit log', level: 1 })).toBeVisible();
    const filters = page.getByRole('search', { name: 'Filter audit events' });
    await filters.getByLabel('User', { exact: true }).fill(typed);
    await filters.getByRole('button', { name: 'Search' }).click();
    await expect(page.getByRole('status', { name: 'Result count' })).toContainText('1 of 1 event');
    const rows = page.getByRole('table', { name: 'Audit events' }).locator('tbody').getByRole('row');
    await expect(rows.first()).toContainText('hmac-sha256:');
    await rows.first().click();
    const detail = page.getByRole('region', { name: /^Event \d+: Sign-in$/ });
    const record = detail.getByLabel('Full record', { exact: true });
    await expect(record).toContainText('"name": "hmac-sha256:');
    await expect(record).not.toContainText(typed);
    // What was typed, from the encrypted store on this workstation.
    const kept = detail.getByRole('region', { name: 'Typed text kept on this workstation' });
    await expect(kept).toContainText('User name as typed');
    await expect(kept).toContainText(typed);

    const check = detail.getByRole('form', { name: 'Check a text against this event' });
    const result = check.getByRole('status', { name: 'Text check result' });
    await check.getByLabel('Check a text against this event').fill('Spring2026!Tulip');
    await check.getByRole('button', { name: 'Check' }).click();
    await expect(result).toContainText('No match');
    await check.getByLabel('Check a text against this event').fill(typed);
    await check.getByRole('button', { name: 'Check' }).click();
    await expect(result).toContainText('Matches: this exact text is the user name as typed');
    await page.screenshot({ path: `${SHOTS}/26-compliance-text-check.png` });
  });

  test('a clinician has no audit screen and the core refuses audit search and export; an administrator keeps the verify drawer', async ({ app }) => {
    const { page } = app;
    const { clinician, admin } = dcInfo().users;

    await signIn(page, clinician);
    await expect(page.getByLabel('Signed-in user')).toContainText(clinician.displayName);
    await expect(page.getByRole('button', { name: 'New session' }).first()).toBeVisible();
    await expect(page.getByRole('button', { name: 'Audit' })).toHaveCount(0);
    await expect(page.getByRole('heading', { name: 'Audit log' })).toHaveCount(0);
    const refused = await page.evaluate(async () => {
      const bridge = window.enclave!;
      const results = [await bridge.call('audit.search', {}), await bridge.call('audit.export', {})];
      return results.map((r) => (r.ok ? 'ok' : r.error.code));
    });
    expect(refused).toEqual(['forbidden', 'forbidden']);
    await page.getByRole('button', { name: 'Sign out' }).click();

    // Administrators verify the chain, but searching people's activity is for compliance alone.
    await signIn(page, admin);
    await expect(page.getByLabel('Signed-in user')).toContainText(admin.displayName);
    await page.getByRole('button', { name: 'Audit' }).click();
    await expect(page.getByRole('status', { name: 'Audit result' })).toContainText(/Audit intact/);
    await expect(page.getByRole('heading', { name: 'Audit log' })).toHaveCount(0);
    await expect(page.getByRole('search', { name: 'Filter audit events' })).toHaveCount(0);
    const adminSearch = await page.evaluate(async () => {
      const r = await window.enclave!.call('audit.search', {});
      return r.ok ? 'ok' : r.error.code;
    });
    expect(adminSearch).toBe('forbidden');
  });
});

test.describe('a SIEM destination that does not answer', () => {
  test.use({
    policyText: async ({}, use) => {
      const policy = JSON.parse(testPolicyText()) as Record<string, unknown>;
      const port = await closedPort();
      // One event per batch, so batches queue up at once.
      policy['audit'] = { batchMaxEvents: 1 };
      policy['siem'] = { destinations: [{ id: 'soc-syslog', type: 'syslog-tls', address: `127.0.0.1:${port}` }] };
      await use(JSON.stringify(policy, null, 2));
    },
  });

  test('the status bar shows it offline with a plain reason, what is queued and when it tries again', async ({ app }) => {
    const { page } = app;
    await createFirstAccount(page);
    const bar = page.getByRole('region', { name: 'Audit delivery' });
    // The clinician is told the audit is safe here and will follow; IT's words stay one click away.
    await expect(bar).toContainText('Audit kept safely on this computer; it will be sent when the network is back.', { timeout: 30_000 });
    await expect(bar).not.toContainText('host unreachable');
    await page.screenshot({ path: `${SHOTS}/23-siem-offline.png` });

    // The details IT needs: which destination, why it fails, what is queued, the full reason and the next attempt.
    await bar.getByRole('button', { name: 'Details for IT' }).click();
    const details = page.getByRole('group', { name: 'Audit delivery details' });
    await expect(details).toContainText('soc-syslog');
    await expect(details).toContainText('127.0.0.1:');
    await expect(details).toContainText('offline');
    await expect(details).toContainText('host unreachable');
    await expect(details).toContainText(/\d+ batch(es)? queued/);
    await expect(details).toContainText(/next try in \d+ (sec|min)\.?|retrying now/);
    await expect(details).toContainText('connection refused');
    await expect(details).toContainText('Syslog over TLS');
    await expect(details).toContainText('Next attempt');
    await expect(details).toContainText('Not yet sealed');
    await page.screenshot({ path: `${SHOTS}/24-siem-details.png` });
    await page.keyboard.press('Escape');
    await expect(details).toHaveCount(0);
  });
});

test('with no SIEM configured the status bar says the audit stays on this workstation', async ({ app }) => {
  const { page } = app;
  await createFirstAccount(page);
  const bar = page.getByRole('region', { name: 'Audit delivery' });
  await expect(bar).toHaveText(/Audit kept on this workstation \(no SIEM configured\)/);
  await page.screenshot({ path: `${SHOTS}/25-no-siem.png` });
});
