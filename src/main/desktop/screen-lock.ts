// The Linux desktop's screen lock, followed over D-Bus. Electron's powerMonitor
// reports 'lock-screen' only on Windows and macOS; on Linux, lockers announce
// it in two ways, and Enclave listens to both:
// - logind (system bus): the Lock signal on this login session's object, sent
//   by `loginctl lock-session(s)`, by the idle and lid handling, and by GNOME
//   and KDE when they lock;
// - the screensaver interface (session bus): ActiveChanged(true) on
//   org.freedesktop.ScreenSaver (KDE, XFCE, LXQt, ...) and on GNOME's,
//   Cinnamon's and MATE's own names.
// A screensaver that merely blanks also sends ActiveChanged(true); Enclave
// locks then too, which on a shared workstation is the safe side.
// Plain Node; electron/ipc-relay.ts wires onLock to the same lock call as
// Windows and macOS use.
import { DbusConnection, matchRule, type DbusMessage } from './dbus/index.js';

/** Interfaces with an ActiveChanged(b) signal, by desktop. */
export const SCREENSAVER_INTERFACES = ['org.freedesktop.ScreenSaver', 'org.gnome.ScreenSaver', 'org.cinnamon.ScreenSaver', 'org.mate.ScreenSaver', 'org.xfce.ScreenSaver'] as const;
const LOGIND = 'org.freedesktop.login1';
const LOGIND_SESSION_INTERFACE = 'org.freedesktop.login1.Session';

export const DEFAULT_SYSTEM_BUS_ADDRESS = 'unix:path=/var/run/dbus/system_bus_socket';

/**
 * The bus addresses from the environment, as libdbus finds them. The session
 * bus: DBUS_SESSION_BUS_ADDRESS, then systemd's per-user bus
 * ($XDG_RUNTIME_DIR/bus) as a second address to try (";" separates them), so an
 * abstract socket this Node cannot reach still leaves a way in.
 */
export function busAddressesFromEnv(env: Readonly<Record<string, string | undefined>>): { session: string | null; system: string } {
  const runtime = env['XDG_RUNTIME_DIR'];
  const userBus = runtime ? `unix:path=${runtime}/bus` : null;
  const given = env['DBUS_SESSION_BUS_ADDRESS'] || null;
  return {
    session: given && userBus && !given.split(';').includes(userBus) ? `${given};${userBus}` : (given ?? userBus),
    system: env['DBUS_SYSTEM_BUS_ADDRESS'] || DEFAULT_SYSTEM_BUS_ADDRESS,
  };
}

export interface ScreenLockWatchOptions {
  /** The session bus (null: none, e.g. no desktop session). */
  sessionBusAddress: string | null;
  /** The system bus, where logind is. */
  systemBusAddress: string | null;
  /** XDG_SESSION_ID, when the environment has it; otherwise logind is asked for this process's session. */
  sessionId?: string;
  /** The desktop locked: lock Enclave. `source` is for the log. */
  onLock: (source: string) => void;
  log: (line: string) => void;
  timeoutMs?: number;
}

export interface ScreenLockWatch {
  /** What is being followed, for the log and the tests: "logind /org/freedesktop/login1/session/_32", "org.gnome.ScreenSaver", ... */
  readonly following: readonly string[];
  close(): void;
}

/** This process's logind session object: by XDG_SESSION_ID, else "auto" (the caller's session, or the user's display session), else by PID. */
async function logindSessionPath(bus: DbusConnection, sessionId: string | undefined, timeoutMs: number | undefined): Promise<string> {
  const manager = { destination: LOGIND, path: '/org/freedesktop/login1', interface: 'org.freedesktop.login1.Manager', timeoutMs };
  const attempts: (() => Promise<DbusMessage>)[] = [];
  if (sessionId) attempts.push(() => bus.call({ ...manager, member: 'GetSession', signature: 's', body: [sessionId] }));
  attempts.push(() => bus.call({ ...manager, member: 'GetSession', signature: 's', body: ['auto'] }));
  attempts.push(() => bus.call({ ...manager, member: 'GetSessionByPID', signature: 'u', body: [process.pid] }));
  let lastError: unknown;
  for (const attempt of attempts) {
    try {
      const reply = await attempt();
      const path = reply.body[0];
      if (reply.signature === 'o' && typeof path === 'string') return path;
      lastError = new Error(`logind answered with signature "${reply.signature}"`);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

async function watchLogind(options: ScreenLockWatchOptions, address: string): Promise<{ bus: DbusConnection; path: string }> {
  const bus = await DbusConnection.connect(address, { timeoutMs: options.timeoutMs });
  try {
    const path = await logindSessionPath(bus, options.sessionId, options.timeoutMs);
    bus.onSignal((signal) => {
      if (signal.interface === LOGIND_SESSION_INTERFACE && signal.member === 'Lock' && signal.path === path) options.onLock('logind Lock');
    });
    // sender: only logind itself (the bus resolves the name to its owner), not any process on the system bus.
    await bus.addMatch(matchRule({ type: 'signal', sender: LOGIND, interface: LOGIND_SESSION_INTERFACE, member: 'Lock', path }));
    return { bus, path };
  } catch (error) {
    bus.close();
    throw error;
  }
}

async function watchScreensavers(options: ScreenLockWatchOptions, address: string): Promise<DbusConnection> {
  const bus = await DbusConnection.connect(address, { timeoutMs: options.timeoutMs });
  try {
    bus.onSignal((signal) => {
      if (signal.member !== 'ActiveChanged' || !(SCREENSAVER_INTERFACES as readonly string[]).includes(signal.interface ?? '')) return;
      if (signal.signature === 'b' && signal.body[0] === true) options.onLock(`${signal.interface}.ActiveChanged`);
    });
    // No sender filter: on the session bus any of the user's programs could send
    // this anyway, and a false "locked" only locks Enclave.
    for (const iface of SCREENSAVER_INTERFACES) await bus.addMatch(matchRule({ type: 'signal', interface: iface, member: 'ActiveChanged' }));
    return bus;
  } catch (error) {
    bus.close();
    throw error;
  }
}

/**
 * Follows the screen lock on whichever buses can be reached; a bus that cannot
 * be reached (no desktop session, no logind) is logged and skipped. Resolves
 * once the match rules are in place, so a lock after it is never missed.
 */
export async function watchLinuxScreenLock(options: ScreenLockWatchOptions): Promise<ScreenLockWatch> {
  const following: string[] = [];
  const buses: DbusConnection[] = [];
  const lost = (what: string) => (error: Error | null) => options.log(`[lock] stopped following ${what}: ${error?.message ?? 'closed'}; the idle lock still applies`);

  const [logind, screensavers] = await Promise.allSettled([
    options.systemBusAddress ? watchLogind(options, options.systemBusAddress) : Promise.reject(new Error('no system bus address')),
    options.sessionBusAddress ? watchScreensavers(options, options.sessionBusAddress) : Promise.reject(new Error('no session bus address')),
  ]);
  if (logind.status === 'fulfilled') {
    buses.push(logind.value.bus);
    following.push(`logind ${logind.value.path}`);
    logind.value.bus.onClose(lost('logind'));
  } else {
    options.log(`[lock] not following logind's Lock signal: ${(logind.reason as Error).message}`);
  }
  if (screensavers.status === 'fulfilled') {
    buses.push(screensavers.value);
    following.push(...SCREENSAVER_INTERFACES);
    screensavers.value.onClose(lost('the screensaver'));
  } else {
    options.log(`[lock] not following the screensaver's ActiveChanged signal: ${(screensavers.reason as Error).message}`);
  }
  return {
    following,
    close: () => {
      for (const bus of buses) bus.close();
    },
  };
}
