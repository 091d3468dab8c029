// Relays the contract between the renderer and the core. Main does not trust
// the renderer: it answers only our window's main frame showing our page, and
// forwards only names that are in the contract; the core then validates the
// input and checks the session itself.
import { ipcMain, powerMonitor, type BrowserWindow, type IpcMainInvokeEvent } from 'electron';
import { isCallName, isEventName } from '../../shared/api.js';
import { CALL_CHANNEL, EVENT_CHANNEL } from '../../shared/channels.js';
import type { CallResponse, EventMessage } from '../../shared/rpc.js';
import { busAddressesFromEnv, watchLinuxScreenLock, type ScreenLockWatch } from '../desktop/index.js';
import type { CoreHost } from './core-host.js';
import { isTrustedSenderUrl } from './hardening.js';

export interface RelayOptions {
  core: CoreHost;
  /** The current window, or null while there is none. */
  getWindow: () => BrowserWindow | null;
  appUrl: string;
  log: (line: string) => void;
}

function isFromOurPage(event: IpcMainInvokeEvent, window: BrowserWindow | null, appUrl: string): boolean {
  if (!window || window.isDestroyed()) return false;
  const frame = event.senderFrame;
  if (!frame || event.sender !== window.webContents) return false;
  // Only the top frame: a subframe (should CSP ever let one in) must not speak for the app.
  // Compared by token, not object identity, which Electron does not promise.
  if (frame.parent !== null || frame.detached || frame.frameToken !== window.webContents.mainFrame.frameToken) return false;
  return isTrustedSenderUrl(frame.url, appUrl);
}

/** Wires the relay; returns a function that undoes it. */
export function startIpcRelay(options: RelayOptions): () => void {
  const { core, getWindow, appUrl, log } = options;

  ipcMain.handle(CALL_CHANNEL, async (event, method: unknown, input: unknown): Promise<CallResponse> => {
    if (!isFromOurPage(event, getWindow(), appUrl)) {
      log('[relay] refused a call from a frame that is not the Enclave page');
      return { id: 0, ok: false, error: { code: 'forbidden', message: 'This page may not call Enclave.' } };
    }
    if (!isCallName(method)) {
      return { id: 0, ok: false, error: { code: 'unknown_call', message: `There is no call named "${String(method).slice(0, 100)}".` } };
    }
    return core.request(method, input);
  });

  const stopEvents = core.onEvent((message: EventMessage) => {
    if (!isEventName(message.event)) return;
    const window = getWindow();
    if (window && !window.isDestroyed()) window.webContents.send(EVENT_CHANNEL, message);
  });

  // The workstation is being left: lock now, so the model context is dropped and
  // the next person meets the lock screen. Main calls this itself; no renderer involved.
  const lockFor = (reason: 'screen-locked' | 'suspend') => () => {
    void core.request('auth.lock', { reason }).then((response) => {
      if (response.ok) log(`[relay] locked the session (${reason})`);
      // 'not_signed_in' or 'locked' just means there was nothing to lock.
      else if (response.error.code !== 'not_signed_in' && response.error.code !== 'locked') log(`[relay] could not lock on ${reason}: ${response.error.message}`);
    });
  };
  const onLockScreen = lockFor('screen-locked');
  const onSuspend = lockFor('suspend');
  powerMonitor.on('lock-screen', onLockScreen);
  powerMonitor.on('suspend', onSuspend);

  // powerMonitor reports 'lock-screen' on Windows and macOS only; on Linux the
  // desktop says it over D-Bus (logind, the screensaver): desktop/screen-lock.ts.
  let linuxWatch: ScreenLockWatch | null = null;
  let stopped = false;
  if (process.platform === 'linux') {
    const buses = busAddressesFromEnv(process.env);
    void watchLinuxScreenLock({
      sessionBusAddress: buses.session,
      systemBusAddress: buses.system,
      sessionId: process.env['XDG_SESSION_ID'] || undefined,
      onLock: (source) => {
        log(`[relay] the desktop locked the screen (${source})`);
        onLockScreen();
      },
      log,
    }).then(
      (watch) => {
        if (stopped) return watch.close();
        linuxWatch = watch;
        log(`[relay] following the desktop's screen lock: ${watch.following.length > 0 ? watch.following.join(', ') : 'nothing (only the idle lock applies)'}`);
      },
      (error: unknown) => log(`[relay] cannot follow the desktop's screen lock: ${error instanceof Error ? error.message : String(error)}`),
    );
  }

  return () => {
    ipcMain.removeHandler(CALL_CHANNEL);
    stopEvents();
    powerMonitor.off('lock-screen', onLockScreen);
    powerMonitor.off('suspend', onSuspend);
    stopped = true;
    linuxWatch?.close();
  };
}
