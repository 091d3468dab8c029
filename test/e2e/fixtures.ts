// The e2e fixture. Specs get `app` (a page showing the Enclave window plus
// where its data lives) and never learn which target runs it:
// - ENCLAVE_E2E_TARGET=browser (default): the real core in this process, the
//   built renderer over http://127.0.0.1, Debian's Chromium, and window.enclave
//   injected from the shared contract (browser-target.ts);
// - ENCLAVE_E2E_TARGET=electron: the built app (out/main/index.js) under
//   Playwright's Electron driver, with its own core and preload.
import { _electron, chromium, expect, test as base, type Browser, type ConsoleMessage, type Page } from '@playwright/test';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCore, DATABASE_FILE, KEY_FILE, type Core } from '../../src/main/core/index.js';
import { ENCLAVE_VERSION } from '../../src/main/core/version.js';
import { readPolicy, type Policy } from '../../src/main/policy/index.js';
import { loadOrCreateKeyFile } from '../../src/main/keys/index.js';
import type { AuditVerifyReport } from '../../src/shared/api.js';
import { installBridge, repoRoot, serveRenderer } from './browser-target.js';

export type Target = 'browser' | 'electron';
export const target: Target = process.env['ENCLAVE_E2E_TARGET'] === 'electron' ? 'electron' : 'browser';

const CHROMIUM = process.env['ENCLAVE_E2E_CHROMIUM'] ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Sections of the evaluation policy a spec may change (browser target only). */
export interface PolicyOverrides {
  session?: Partial<Policy['session']>;
  inference?: Partial<Omit<Policy['inference'], 'models' | 'workloads'>>;
  acceptableUse?: Partial<Policy['acceptableUse']>;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface EnclaveApp {
  readonly target: Target;
  readonly page: Page;
  /** The core's data folder: enclave.db lives here. */
  readonly dataDir: string;
  readonly dbPath: string;
  /** The policy file this app runs under and watches; a spec may rewrite it. */
  readonly policyFile: string;
  /** The database key file, when the target keeps the key in one (evaluation without an OS key store). */
  readonly keyFile: string | null;
  /** Reloads the window, as if the renderer had restarted; the core and its session live on. */
  reload(): Promise<void>;
  /** Runs the `enclave` command-line tool on this machine. */
  cli(args: string[]): Promise<CliResult>;
  /** `enclave audit verify --json` against this app's database. */
  verifyAuditWithCli(): Promise<{ code: number; report: AuditVerifyReport | null; output: string }>;
}

/** The policy file's text: the evaluation policy with a spec's overrides, or a spec's own text. */
export function testPolicyText(overrides: PolicyOverrides = {}): string {
  // The shipped file, so settings it leaves out stay schema defaults, as on a workstation.
  const shipped = JSON.parse(readFileSync(join(repoRoot, 'resources/policy/evaluation.json'), 'utf8')) as { session: object; inference: object };
  return JSON.stringify(
    {
      ...shipped,
      session: { ...shipped.session, ...overrides.session },
      inference: { ...shipped.inference, ...overrides.inference },
      ...(overrides.acceptableUse ? { acceptableUse: overrides.acceptableUse } : {}),
    },
    null,
    2,
  );
}

function runCli(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // entry.ts is the process entry; main.ts only exports runCli.
    const child = spawn(join(repoRoot, 'node_modules/.bin/tsx'), [join(repoRoot, 'src/main/cli/entry.ts'), ...args], { cwd: repoRoot, env: process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Watches the page for what must never happen: CSP violations and uncaught errors. */
function watchPage(page: Page) {
  const problems: string[] = [];
  const log: string[] = [];
  page.on('console', (message: ConsoleMessage) => {
    const text = message.text();
    log.push(`[${message.type()}] ${text}`);
    // The meta CSP's frame-ancestors is ignored by design (main sends it as a header too); everything else refused is a bug.
    if (/Refused to|Content Security Policy/i.test(text) && !/frame-ancestors/.test(text)) problems.push(`CSP: ${text}`);
  });
  page.on('pageerror', (error) => {
    log.push(`[pageerror] ${error.message}`);
    problems.push(`uncaught: ${error.message}`);
  });
  return { problems, log };
}

export const test = base.extend<{ app: EnclaveApp; policyOverrides: PolicyOverrides; policyText: string | null; rendererRoot: string | null }, { chromiumBrowser: Browser | null }>({
  policyOverrides: [{}, { option: true }],
  /** Verbatim policy file text (e.g. an invalid policy); wins over policyOverrides. */
  policyText: [null, { option: true }],
  /** Another renderer build to serve (browser target), e.g. the pseudo-locale's; null: out/renderer. */
  rendererRoot: [null, { option: true }],

  chromiumBrowser: [
    async ({}, use) => {
      if (target !== 'browser') {
        await use(null);
        return;
      }
      const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
      await use(browser);
      await browser.close();
    },
    { scope: 'worker' },
  ],

  app: async ({ chromiumBrowser, policyOverrides, policyText, rendererRoot }, use, testInfo) => {
    const root = mkdtempSync(join(tmpdir(), 'enclave-e2e-'));
    const cleanups: (() => Promise<void> | void)[] = [() => rmSync(root, { recursive: true, force: true })];
    // Both targets run under a policy file they watch, as a managed workstation does.
    const policyFile = join(root, 'policy.json');
    writeFileSync(policyFile, policyText ?? testPolicyText(policyOverrides));
    try {
      let page: Page;
      let dataDir: string;
      let keyFileAt: () => string | null;

      if (target === 'browser') {
        if (!chromiumBrowser) throw new Error('no Chromium');
        dataDir = join(root, 'data');
        const keyFile = join(dataDir, KEY_FILE);
        const environment = { overridePath: policyFile };
        const core: Core = await createCore({
          dataDir,
          databaseKey: loadOrCreateKeyFile(keyFile, { databasePath: join(dataDir, DATABASE_FILE) }),
          policy: await readPolicy(environment),
          policyWatch: { ...environment, intervalMs: 250 },
          version: ENCLAVE_VERSION,
        });
        cleanups.unshift(() => core.close());
        const server = await serveRenderer(rendererRoot ?? undefined);
        cleanups.unshift(() => server.close());
        const context = await chromiumBrowser.newContext({ viewport: { width: 1360, height: 860 } });
        cleanups.unshift(() => context.close());
        page = await context.newPage();
        const stopEvents = await installBridge(page, core);
        cleanups.unshift(stopEvents);
        keyFileAt = () => keyFile;
        const watched = watchPage(page);
        cleanups.unshift(() => checkPage(watched, testInfo));
        await page.goto(server.url);
      } else {
        // An unpackaged build honours ENCLAVE_DATA_DIR and ENCLAVE_POLICY (src/main/index.ts), so both targets run the same policy.
        dataDir = join(root, 'data');
        const env: Record<string, string> = { ...(process.env as Record<string, string>), ENCLAVE_DATA_DIR: dataDir, ENCLAVE_POLICY: policyFile };
        const electronApp = await _electron.launch({
          args: [join(repoRoot, 'out/main/index.js'), `--user-data-dir=${root}`],
          cwd: repoRoot,
          env,
          timeout: 60_000,
        });
        cleanups.unshift(() => electronApp.close());
        page = await electronApp.firstWindow();
        const watched = watchPage(page);
        cleanups.unshift(() => checkPage(watched, testInfo));
        keyFileAt = () => (existsSync(join(dataDir, KEY_FILE)) ? join(dataDir, KEY_FILE) : null);
      }

      const dbPath = join(dataDir, DATABASE_FILE);
      const app: EnclaveApp = {
        target,
        page,
        dataDir,
        dbPath,
        policyFile,
        get keyFile() {
          return keyFileAt();
        },
        async reload() {
          await page.reload();
        },
        cli: runCli,
        async verifyAuditWithCli() {
          const keyFile = keyFileAt();
          if (!keyFile) throw new Error('This target keeps the database key in the OS key store; the CLI needs a key file.');
          const result = await runCli(['audit', 'verify', '--db', dbPath, '--key-file', keyFile, '--json']);
          let report: AuditVerifyReport | null = null;
          try {
            report = JSON.parse(result.stdout) as AuditVerifyReport;
          } catch {
            report = null;
          }
          return { code: result.code, report, output: result.stdout + result.stderr };
        },
      };
      await use(app);
    } finally {
      const errors: unknown[] = [];
      for (const cleanup of cleanups) {
        try {
          await cleanup();
        } catch (error) {
          errors.push(error);
        }
      }
      // A cleanup that failed is reported even over the test's own failure: it may have left a daemon or a file behind.
      // eslint-disable-next-line no-unsafe-finally
      if (errors.length > 0) throw errors[0];
    }
  },
});

async function checkPage(watched: { problems: string[]; log: string[] }, testInfo: import('@playwright/test').TestInfo) {
  if (watched.log.length > 0) await testInfo.attach('console', { body: watched.log.join('\n'), contentType: 'text/plain' });
  expect(watched.problems, 'the page had CSP violations or uncaught errors').toEqual([]);
}

export { expect };

// ---------- Steps shared by the specs ----------

export const ACCOUNT = { username: 'dr.reed', displayName: 'Dr Alex Reed', password: 'correct horse battery staple' } as const;

/** The EVALUATION banner is there, whatever the screen. */
export async function expectEvaluationBanner(page: Page) {
  await expect(page.getByRole('status', { name: 'Evaluation mode' })).toContainText('EVALUATION — NOT FOR PATIENT DATA');
}

export async function createFirstAccount(page: Page, account = ACCOUNT) {
  await expect(page.getByRole('heading', { name: 'Create the evaluation account' })).toBeVisible();
  await page.getByLabel('User name').fill(account.username);
  await page.getByLabel('Display name').fill(account.displayName);
  await page.getByLabel('Password', { exact: true }).fill(account.password);
  await page.getByLabel('Confirm password').fill(account.password);
  await page.getByRole('button', { name: 'Create account' }).click();
}

export async function generateTestModel(page: Page) {
  await expect(page.getByRole('heading', { name: 'Choose a model' })).toBeVisible();
  await page.getByRole('button', { name: 'Generate test model' }).click();
  await expect(page.getByRole('button', { name: 'New session' }).first()).toBeVisible({ timeout: 120_000 });
}

/** First run through to an empty workspace with the test model. */
export async function setUpWorkspace(page: Page, account = ACCOUNT) {
  await createFirstAccount(page, account);
  await generateTestModel(page);
}

export function promptBox(page: Page) {
  return page.getByRole('textbox', { name: 'Prompt' });
}

export function answers(page: Page) {
  return page.getByRole('log', { name: 'Conversation' }).getByRole('article', { name: 'Answer' });
}
