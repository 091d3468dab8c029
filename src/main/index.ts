// Electron entry. Main stays thin: policy, key protection, the hardened window,
// the core in its utility process, and the relay between them. All of the
// application's logic lives in the core.
import { app, dialog, Menu, type BrowserWindow } from 'electron';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describeNotices, readPolicy } from './policy/index.js';
import { describeCoreDumpLimit, limitCoreDumps } from './core/process-hardening.js';
import {
  appPaths,
  createMainWindow,
  guardWebContents,
  obtainDatabaseKey,
  PENDING_WRAPPED_KEY_FILE,
  readWrappedDatabaseKey,
  registerAppScheme,
  rendererLocation,
  startCoreHost,
  startIpcRelay,
  wrappedKeyCustody,
  type CoreHost,
} from './electron/index.js';
import type { KeyCustody } from './keys/index.js';
import { EVENT_CHANNEL } from '../shared/channels.js';
import { DATABASE_FILE, WRAPPED_KEY_FILE } from '../shared/data-files.js';
import { findForbiddenSwitches, forbiddenSwitchMessage } from './desktop/index.js';

const log = (line: string): void => console.log(line);

// First of all: the installed app never runs with a debugger, remote debugging,
// V8 flags or a chosen key store (desktop/forbidden-switches.ts says why).
if (app.isPackaged) {
  const refused = findForbiddenSwitches({
    argv: process.argv,
    env: process.env,
    platform: process.platform,
    hasSwitch: (name) => app.commandLine.hasSwitch(name),
  });
  if (refused.length > 0) {
    const { title, message } = forbiddenSwitchMessage(refused);
    process.stderr.write(`enclave: ${message}\n`);
    // Safe before 'ready': on Linux it writes to stderr when no display can show it.
    dialog.showErrorBox(title, message);
    // process.exit, not app.exit: nothing below this line may run.
    process.exit(78);
  }
}

// Main holds the unwrapped key for a moment and relays every answer: keep its memory out of crash dumps too.
const coreDumps = describeCoreDumpLimit(limitCoreDumps());
if (coreDumps) log(`[main] ${coreDumps}`);

let mainWindow: BrowserWindow | null = null;
let core: CoreHost | null = null;
let quitting = false;

/** Enclave must not go on; the title and message are for the person at the screen. */
class StartupError extends Error {
  constructor(
    readonly title: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The end-to-end tests point an unpackaged build at their own data folder and
 * policy. A packaged (installed) app ignores these variables, so no user can
 * swap the managed policy or the database from a shell.
 */
function devOverride(name: 'ENCLAVE_DATA_DIR' | 'ENCLAVE_POLICY'): string | undefined {
  if (app.isPackaged) return undefined;
  return process.env[name] || undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function start(): Promise<void> {
  // Main reads the policy only to decide how the database key may be kept. The
  // core reads it again, watches it, and owns what it means; a policy that does
  // not validate starts the core locked in its policy-error state, and is never
  // a reason to fall back to evaluation mode (or to a key file).
  const policyOverridePath = devOverride('ENCLAVE_POLICY') ?? null;
  const resolution = await readPolicy({ overridePath: policyOverridePath ?? undefined });
  if (resolution.ok) log(`[main] policy: ${resolution.effective.policy.mode} mode, from ${resolution.effective.source}`);
  else log(`[main] the managed policy is not valid; Enclave starts locked:\n${describeNotices(resolution.problems)}`);
  const allowKeyFile = resolution.ok && resolution.effective.policy.storage.allowKeyFile;
  // Only a valid evaluation policy relaxes the key store rules (keys/key-store-policy.ts).
  const managed = !(resolution.ok && resolution.effective.policy.mode === 'evaluation');

  const userData = app.getPath('userData');
  const dataDir = devOverride('ENCLAVE_DATA_DIR') ?? join(userData, 'data');
  let databaseKey: Buffer;
  try {
    ({ key: databaseKey } = await obtainDatabaseKey({
      userDataDir: userData,
      dataDir,
      databasePath: join(dataDir, DATABASE_FILE),
      allowKeyFile,
      managed,
      // Only when an `Enclave db rekey` was cut short does main load the store, to try both keys.
      loadKeyOpensDatabase: async () => (await import('./store/index.js')).keyOpensDatabase,
      log,
    }));
  } catch (error) {
    throw new StartupError('Enclave cannot protect its database', messageOf(error));
  }

  const paths = appPaths();
  const location = rendererLocation(paths.rendererHtml);
  // Before any web contents exists, so none escapes the guard.
  app.on('web-contents-created', (_event, contents) => guardWebContents(contents, location.appUrl, log));

  let host: CoreHost;
  try {
    host = await startCoreHost({
      entryPath: paths.coreEntry,
      dataDir,
      databaseKey,
      policyOverridePath,
      version: app.getVersion(),
      log,
    });
  } catch (error) {
    throw new StartupError('Enclave cannot open its database', messageOf(error));
  } finally {
    // Main has no further use for the key; the core was handed its own copy.
    databaseKey.fill(0);
  }
  core = host;

  startIpcRelay({ core: host, getWindow: () => mainWindow, appUrl: location.appUrl, log });
  host.onUnexpectedExit((info) => {
    if (quitting) return;
    // The session died with the core: clear whatever the page shows, then say so.
    if (mainWindow && !mainWindow.isDestroyed()) mainWindow.webContents.send(EVENT_CHANNEL, { event: 'session.changed', payload: { state: 'signed-out' } });
    const options = {
      type: 'error' as const,
      title: 'Enclave stopped working',
      message: 'The part of Enclave that holds your session and the model stopped unexpectedly.',
      detail: `${info.message}\n\nAn answer that was being written was not finished. Restart Enclave to go on.`,
      buttons: ['Restart Enclave', 'Quit'],
      defaultId: 0,
      cancelId: 1,
    };
    const shown = mainWindow && !mainWindow.isDestroyed() ? dialog.showMessageBox(mainWindow, options) : dialog.showMessageBox(options);
    void shown.then(({ response }) => {
      if (response === 0) app.relaunch();
      app.quit();
    });
  });

  mainWindow = await createMainWindow({ preload: paths.preload, location, log });
  mainWindow.on('closed', () => {
    mainWindow = null;
  });
}

function applicationMenu(): Menu | null {
  // macOS needs an Edit menu for the copy and paste shortcuts; elsewhere they work without
  // one, and the default menu's Reload and Toggle DevTools have no place in production.
  if (process.platform !== 'darwin') return null;
  return Menu.buildFromTemplate([{ role: 'appMenu' }, { role: 'editMenu' }, { role: 'windowMenu' }]);
}

// Before the lock: the name decides the userData folder, where the lock lives.
app.setName('Enclave');

/**
 * The installed app is also the `enclave` command on a workstation, which has
 * no Node.js: `Enclave.exe doctor`, `/usr/bin/enclave policy show`. The signed
 * binary cannot run as plain Node (the runAsNode fuse is off), so main runs the
 * same CLI code itself, without a window or the single-instance lock.
 */
const CLI_GROUPS = new Set(['doctor', 'enroll', 'policy', 'audit', 'model', 'db']);
const cliArgs = process.argv.slice(app.isPackaged ? 1 : 2);
const isDbRekey = cliArgs[0] === 'db' && cliArgs[1] === 'rekey';
// The doctor (and enroll, and db rekey) work on this user's own database unless told otherwise.
if ((cliArgs[0] === 'doctor' || cliArgs[0] === 'enroll' || isDbRekey) && !cliArgs.includes('--data-dir')) cliArgs.push('--data-dir', join(app.getPath('userData'), 'data'));

if (cliArgs[0] !== undefined && CLI_GROUPS.has(cliArgs[0])) {
  const withKey = async (): Promise<Buffer | undefined> => {
    // Only the app can unwrap the production key, so only `Enclave doctor` can verify a managed workstation's audit chain.
    if (cliArgs[0] !== 'doctor' && cliArgs[0] !== 'enroll') return undefined;
    await app.whenReady();
    return (await readWrappedDatabaseKey(app.getPath('userData')).catch(() => null)) ?? undefined;
  };
  /**
   * `Enclave db rekey` on a workstation whose key the OS key store keeps: the
   * new key is wrapped there too, under the same backend rules as at start
   * (which need the policy's mode). A workstation with the evaluation key file
   * (or an interrupted rekey of one) is rekeyed through the key file as by `enclave`.
   */
  const withCustody = async (): Promise<KeyCustody | undefined> => {
    if (!isDbRekey) return undefined;
    const userData = app.getPath('userData');
    if (!existsSync(join(userData, WRAPPED_KEY_FILE)) && !existsSync(join(userData, PENDING_WRAPPED_KEY_FILE))) return undefined;
    await app.whenReady();
    const resolution = await readPolicy({});
    const managed = !(resolution.ok && resolution.effective.policy.mode === 'evaluation');
    return wrappedKeyCustody({ userDataDir: userData, managed });
  };
  void Promise.all([import('./cli/index.js'), withKey(), withCustody()])
    .then(([{ runCli }, databaseKey, keyCustody]) => runCli(cliArgs, undefined, { databaseKey, keyCustody }).finally(() => databaseKey?.fill(0)))
    .then(
      (code) => app.exit(code),
      (error: unknown) => {
        process.stderr.write(`enclave: unexpected error: ${messageOf(error)}\n`);
        app.exit(2);
      },
    );
} else if (!app.requestSingleInstanceLock()) {
  // Two instances would fight over one database.
  app.quit();
} else {
  // Every renderer in Chromium's sandbox, whatever a window's options say.
  app.enableSandbox();
  // Before 'ready': the renderer is served from app://enclave/, never file://.
  registerAppScheme();

  app.on('second-instance', () => {
    if (!mainWindow) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });

  app.on('window-all-closed', () => app.quit());

  // Quitting waits for the core to close its database and drop model contexts.
  app.on('will-quit', (event) => {
    if (!core) return;
    const closing = core;
    core = null;
    quitting = true;
    event.preventDefault();
    void closing.close().finally(() => app.quit());
  });

  app
    .whenReady()
    .then(async () => {
      Menu.setApplicationMenu(applicationMenu());
      await start();
    })
    .catch(async (error: unknown) => {
      const title = error instanceof StartupError ? error.title : 'Enclave cannot start';
      log(`[main] ${title}: ${messageOf(error)}`);
      dialog.showErrorBox(title, messageOf(error));
      quitting = true;
      // The core may already run (the window failed): let it close its database first.
      await core?.close();
      app.exit(1);
    });
}
