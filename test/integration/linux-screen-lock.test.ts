// Enclave follows the Linux desktop's screen lock (desktop/screen-lock.ts) over
// D-Bus: tested against real dbus-daemons started here, one playing the system
// bus (with a stand-in logind) and one the session bus (a screensaver), with
// the signals a locker really sends.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DbusConnection, MessageType, decodeMessage, encodeMessage, socketPathsFromAddress, type DbusMessage } from '../../src/main/desktop/dbus/index.js';
import { busAddressesFromEnv, watchLinuxScreenLock, type ScreenLockWatch } from '../../src/main/desktop/index.js';
import { tempDir } from '../support/temp.js';

const SESSION_PATH = '/org/freedesktop/login1/session/_32';
const OTHER_SESSION_PATH = '/org/freedesktop/login1/session/_7';

let work: ReturnType<typeof tempDir>;
const daemons: ChildProcess[] = [];
let systemBus: string;
let sessionBus: string;

/** A private dbus-daemon on `listen`; resolves with the address it prints once it accepts connections. */
function startBus(name: string, listen: string): Promise<string> {
  const config = join(work.path, `${name}.conf`);
  writeFileSync(
    config,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>${listen}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default"><allow send_destination="*"/><allow receive_sender="*"/><allow own="*"/></policy>
</busconfig>
`,
  );
  const child = spawn('dbus-daemon', [`--config-file=${config}`, '--nofork', '--nopidfile', '--print-address=1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  daemons.push(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', (error) => reject(new Error(`dbus-daemon could not be started (install the dbus-daemon package): ${error.message}`)));
    child.once('exit', (code) => reject(new Error(`dbus-daemon exited with ${code}: ${stderr}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => resolve(line.trim()));
  });
}

/** A connection on a bus that owns `name` (RequestName, as a service does). */
async function service(address: string, name: string): Promise<DbusConnection> {
  const bus = await DbusConnection.connect(address);
  const reply = await bus.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'RequestName', signature: 'su', body: [name, 4] });
  expect(reply.body[0]).toBe(1); // primary owner
  return bus;
}

/** Returns once the bus daemon has handled everything `bus` sent before (D-Bus keeps one sender's messages in order). */
async function roundTrip(bus: DbusConnection): Promise<void> {
  await bus.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'GetId' });
}

/** A stand-in logind: answers GetSession / GetSessionByPID with SESSION_PATH, and records what it was asked. */
async function fakeLogind(address: string): Promise<{ bus: DbusConnection; asked: string[] }> {
  const bus = await service(address, 'org.freedesktop.login1');
  const asked: string[] = [];
  bus.onMethodCall((call) => {
    asked.push(`${call.member}(${call.body.map(String).join(',')})`);
    const known = call.interface === 'org.freedesktop.login1.Manager' && (call.member === 'GetSession' || call.member === 'GetSessionByPID');
    bus.send(
      known
        ? { type: MessageType.METHOD_RETURN, replySerial: call.serial, destination: call.sender, signature: 'o', body: [SESSION_PATH] }
        : { type: MessageType.ERROR, replySerial: call.serial, destination: call.sender, errorName: 'org.freedesktop.DBus.Error.UnknownMethod', signature: 's', body: ['no'] },
    );
  });
  return { bus, asked };
}

beforeAll(async () => {
  work = tempDir('enclave-dbus-');
  // Socket paths, as the system bus and systemd's per-user session bus have. (Abstract
  // sockets, which older dbus-launch sessions use, need a Node whose net module
  // connects to them; Node 20's does not, so they are not tested here.)
  systemBus = await startBus('system', `unix:path=${join(work.path, 'system_bus_socket')}`);
  sessionBus = await startBus('session', `unix:path=${join(work.path, 'session_bus_socket')}`);
});

afterAll(() => {
  for (const daemon of daemons) daemon.kill();
  work?.remove();
});

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** Starts the watcher; `locks` collects each onLock, `next()` resolves at the next one. */
async function startWatch(options: { system?: string | null; session?: string | null; sessionId?: string } = {}) {
  const locks: string[] = [];
  const log: string[] = [];
  let waiting: ((source: string) => void) | null = null;
  const watch: ScreenLockWatch = await watchLinuxScreenLock({
    systemBusAddress: options.system === undefined ? systemBus : options.system,
    sessionBusAddress: options.session === undefined ? sessionBus : options.session,
    sessionId: options.sessionId,
    onLock: (source) => {
      locks.push(source);
      waiting?.(source);
      waiting = null;
    },
    log: (line) => log.push(line),
  });
  cleanups.push(() => watch.close());
  const next = () => new Promise<string>((resolve) => (waiting = resolve));
  return { watch, locks, log, next };
}

describe('following the Linux screen lock over D-Bus', () => {
  it('finds this session through logind and follows both buses', async () => {
    const logind = await fakeLogind(systemBus);
    cleanups.push(() => logind.bus.close());
    const { watch, log } = await startWatch({ sessionId: '32' });
    expect(watch.following).toEqual([`logind ${SESSION_PATH}`, 'org.freedesktop.ScreenSaver', 'org.gnome.ScreenSaver', 'org.cinnamon.ScreenSaver', 'org.mate.ScreenSaver', 'org.xfce.ScreenSaver']);
    expect(logind.asked).toEqual(['GetSession(32)']);
    expect(log).toEqual([]);
  });

  it('locks on logind’s Lock for this session only, and only from logind', async () => {
    const logind = await fakeLogind(systemBus);
    const intruder = await DbusConnection.connect(systemBus);
    cleanups.push(
      () => logind.bus.close(),
      () => intruder.close(),
    );
    const { locks, next } = await startWatch();
    // Without XDG_SESSION_ID the watcher asks for its own session ("auto").
    expect(logind.asked).toEqual(['GetSession(auto)']);

    const lock = (bus: DbusConnection, path: string, member = 'Lock') => bus.send({ type: MessageType.SIGNAL, path, interface: 'org.freedesktop.login1.Session', member });
    // Not ours: another process claiming to be logind, another session, Unlock.
    lock(intruder, SESSION_PATH);
    await roundTrip(intruder);
    lock(logind.bus, OTHER_SESSION_PATH);
    lock(logind.bus, SESSION_PATH, 'Unlock');
    const locked = next();
    lock(logind.bus, SESSION_PATH);
    expect(await locked).toBe('logind Lock');
    expect(locks).toEqual(['logind Lock']);
  });

  it.each(['org.freedesktop.ScreenSaver', 'org.gnome.ScreenSaver'])('locks on %s ActiveChanged(true), not on (false)', async (iface) => {
    const screensaver = await service(sessionBus, iface);
    cleanups.push(() => screensaver.close());
    const { locks, next } = await startWatch({ system: null });
    const path = `/${iface.replace(/\./g, '/')}`;
    const activeChanged = (active: boolean) => screensaver.send({ type: MessageType.SIGNAL, path, interface: iface, member: 'ActiveChanged', signature: 'b', body: [active] });
    activeChanged(false);
    // Same member on an interface that is no screensaver.
    screensaver.send({ type: MessageType.SIGNAL, path, interface: 'org.example.Player', member: 'ActiveChanged', signature: 'b', body: [true] });
    const locked = next();
    activeChanged(true);
    expect(await locked).toBe(`${iface}.ActiveChanged`);
    expect(locks).toEqual([`${iface}.ActiveChanged`]);
  });

  it('without logind still follows the screensaver, and says so', async () => {
    // Nothing owns org.freedesktop.login1 on this bus now.
    const { watch, log } = await startWatch();
    expect(watch.following).toEqual(expect.arrayContaining(['org.gnome.ScreenSaver']));
    expect(watch.following.some((entry) => entry.startsWith('logind'))).toBe(false);
    expect(log.join('\n')).toMatch(/not following logind's Lock signal: .*ServiceUnknown|not following logind's Lock signal: .*NameHasNoOwner/);
  });

  it('with no bus at all follows nothing, logs why, and does not throw', async () => {
    const { watch, log } = await startWatch({ system: `unix:path=${join(work.path, 'no-such-socket')}`, session: null });
    expect(watch.following).toEqual([]);
    expect(log).toHaveLength(2);
    expect(log.join('\n')).toMatch(/cannot connect to the bus/);
  });
});

describe('the D-Bus client', () => {
  it('reads bus addresses as libdbus does', () => {
    expect(socketPathsFromAddress('unix:path=/run/user/1000/bus')).toEqual(['/run/user/1000/bus']);
    expect(socketPathsFromAddress('unix:abstract=/tmp/dbus-AbC,guid=0123')).toEqual(['\0/tmp/dbus-AbC']);
    expect(socketPathsFromAddress('tcp:host=localhost,port=1;unix:path=/a%20b;unix:abstract=x')).toEqual(['/a b', '\0x']);
    expect(() => socketPathsFromAddress('tcp:host=10.0.0.1,port=55')).toThrow(/only unix:path= and unix:abstract=/);
    expect(busAddressesFromEnv({ XDG_RUNTIME_DIR: '/run/user/1000' })).toEqual({ session: 'unix:path=/run/user/1000/bus', system: 'unix:path=/var/run/dbus/system_bus_socket' });
    expect(busAddressesFromEnv({ DBUS_SESSION_BUS_ADDRESS: 'unix:path=/x', DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/y' })).toEqual({ session: 'unix:path=/x', system: 'unix:path=/y' });
    expect(busAddressesFromEnv({ DBUS_SESSION_BUS_ADDRESS: 'unix:abstract=/tmp/dbus-x', XDG_RUNTIME_DIR: '/run/user/7' }).session).toBe('unix:abstract=/tmp/dbus-x;unix:path=/run/user/7/bus');
    expect(busAddressesFromEnv({ DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/user/7/bus', XDG_RUNTIME_DIR: '/run/user/7' }).session).toBe('unix:path=/run/user/7/bus');
    expect(busAddressesFromEnv({})).toEqual({ session: null, system: 'unix:path=/var/run/dbus/system_bus_socket' });
  });

  it('tries each socket of an address in turn', async () => {
    const bus = await DbusConnection.connect(`unix:path=${join(work.path, 'nothing-here')};${sessionBus}`);
    expect(bus.uniqueName).toMatch(/^:1\.\d+$/);
    bus.close();
  });

  it('round-trips a message through its own encoder and decoder', () => {
    const bytes = encodeMessage({ type: MessageType.SIGNAL, path: '/a/b', interface: 'x.y', member: 'Z', signature: 'sbu', body: ['é', true, 7] }, 5);
    const message: DbusMessage = decodeMessage(bytes);
    expect(message).toMatchObject({ type: MessageType.SIGNAL, serial: 5, path: '/a/b', interface: 'x.y', member: 'Z', signature: 'sbu', body: ['é', true, 7] });
  });

  it('refuses malformed or oversized messages instead of reading past them', () => {
    const good = encodeMessage({ type: MessageType.SIGNAL, path: '/a', interface: 'x.y', member: 'Z', signature: 'b', body: [true] }, 1);
    const badBool = Buffer.from(good);
    badBool.writeUInt32LE(2, badBool.length - 4);
    expect(() => decodeMessage(badBool)).toThrow(/boolean/);
    const huge = Buffer.from(good);
    huge.writeUInt32LE(64 * 1024 * 1024, 4);
    expect(() => decodeMessage(huge)).toThrow(/over the .* limit/);
    expect(() => decodeMessage(good.subarray(0, good.length - 1))).toThrow(/ends early/);
    const notDbus = Buffer.from(good);
    notDbus[0] = 0x78;
    expect(() => decodeMessage(notDbus)).toThrow(/endianness/);
  });
});
