// The installed app refuses to start with switches that open a debugger, the
// DevTools protocol, V8's flags or a chosen key store (src/main/index.ts shows
// the message and exits before anything else runs).
import { describe, expect, it } from 'vitest';
import { FORBIDDEN_SWITCH_NAMES, findForbiddenSwitches, forbiddenSwitchMessage } from '../../src/main/desktop/index.js';

const EXE = '/opt/Enclave/enclave';
const check = (args: string[], options: { platform?: NodeJS.Platform; env?: Record<string, string>; hasSwitch?: (name: string) => boolean } = {}) =>
  findForbiddenSwitches({ argv: [EXE, ...args], env: options.env ?? {}, platform: options.platform ?? 'linux', hasSwitch: options.hasSwitch });

describe('forbidden switches', () => {
  it.each([
    [['--remote-debugging-port=9222'], '--remote-debugging-port'],
    [['--remote-debugging-port', '9222'], '--remote-debugging-port'],
    [['--remote-debugging-pipe'], '--remote-debugging-pipe'],
    [['--inspect'], '--inspect'],
    [['--inspect=127.0.0.1:9229'], '--inspect'],
    [['--inspect-brk'], '--inspect-brk'],
    [['--inspect-brk=0'], '--inspect-brk'],
    [['--inspect-port', '0'], '--inspect-port'],
    [['--inspect-publish-uid=http'], '--inspect-publish-uid'],
    [['--inspect-wait'], '--inspect-wait'],
    [['--inspect_brk'], '--inspect-brk'],
    [['--js-flags=--allow-natives-syntax'], '--js-flags'],
    [['--js-flags', '--expose-gc'], '--js-flags'],
    [['--password-store=basic'], '--password-store'],
    [['--password-store', 'basic'], '--password-store'],
    // Chromium also takes a single dash on Linux, and any case on Windows.
    [['-remote-debugging-port=9222'], '--remote-debugging-port'],
    [['--Remote-Debugging-Port=9222'], '--remote-debugging-port'],
    [['--PASSWORD-STORE=basic'], '--password-store'],
    [['--INSPECT'], '--inspect'],
    // After other switches, after a CLI group, after a bare "--".
    [['--no-sandbox', 'doctor', '--js-flags=--jitless'], '--js-flags'],
    [['--', '--inspect'], '--inspect'],
  ])('refuses %j', (args, name) => {
    expect(check(args)).toContain(name);
  });

  it('reads "/switch" as a switch on Windows only', () => {
    expect(check(['/remote-debugging-port=9222'], { platform: 'win32' })).toEqual(['--remote-debugging-port']);
    expect(check(['/REMOTE-DEBUGGING-PORT=9222'], { platform: 'win32' })).toEqual(['--remote-debugging-port']);
    // On Linux a path is a path.
    expect(check(['/remote-debugging-port=9222'], { platform: 'linux' })).toEqual([]);
  });

  it('finds switches Chromium parsed that argv does not show', () => {
    expect(check([], { hasSwitch: (name) => name === 'remote-debugging-port' })).toEqual(['--remote-debugging-port']);
    expect(check([], { hasSwitch: (name) => name === 'password-store' })).toEqual(['--password-store']);
  });

  it('asks Chromium about every listed switch', () => {
    const asked: string[] = [];
    check([], { hasSwitch: (name) => (asked.push(name), false) });
    expect(asked).toEqual(expect.arrayContaining(['remote-debugging-port', 'remote-debugging-pipe', 'inspect', 'inspect-brk', 'inspect-port', 'inspect-publish-uid', 'js-flags', 'password-store']));
    expect(asked).toEqual([...FORBIDDEN_SWITCH_NAMES]);
  });

  it('looks into NODE_OPTIONS too', () => {
    expect(check([], { env: { NODE_OPTIONS: '--max-old-space-size=4096 --inspect=0' } })).toEqual(['--inspect (in NODE_OPTIONS)']);
    expect(check([], { env: { NODE_OPTIONS: '"--inspect-brk"' } })).toEqual(['--inspect-brk (in NODE_OPTIONS)']);
    expect(check([], { env: { NODE_OPTIONS: '--max-old-space-size=4096' } })).toEqual([]);
  });

  it('names each switch once', () => {
    expect(check(['--inspect', '--inspect=9229', '--js-flags=a', '--js-flags=b'], { hasSwitch: (name) => name === 'inspect' })).toEqual(['--inspect', '--js-flags']);
  });

  it.each([
    [[]],
    [['doctor']],
    [['policy', 'show', '--json']],
    [['audit', 'export', '--out', '/tmp/inspect.json']],
    [['--no-sandbox']],
    [['--enable-logging']],
    [['--remote-debugging']],
    [['--password']],
    [['--js']],
    [['js-flags']],
    [['inspect']],
    [['-']],
    [['--']],
    [['--=inspect']],
  ])('lets a normal start through: %j', (args) => {
    expect(check(args, { env: { NODE_OPTIONS: '' }, hasSwitch: () => false })).toEqual([]);
  });

  it('says what was refused and what to do, without the values', () => {
    const { title, message } = forbiddenSwitchMessage(check(['--remote-debugging-port=9222', '--password-store=basic']));
    expect(title).toMatch(/will not start/);
    expect(message).toContain('--remote-debugging-port, --password-store');
    expect(message).not.toContain('9222');
    expect(message).not.toContain('basic');
    expect(message).toMatch(/normal shortcut/);
  });
});
