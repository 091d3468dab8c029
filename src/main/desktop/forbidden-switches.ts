// Command-line switches the installed app refuses to start with. Each one hands
// someone at the keyboard (or a shortcut someone edited) a way around what the
// app promises: a debugger or DevTools protocol with the database key in
// reach, V8 flags that switch off its safety checks, or a weaker key store for
// the wrapped database key. Pure: src/main/index.ts calls it before anything
// else when the app is packaged, and shows the message.

/** Exact switch names, lower case, as Chromium and Node spell them. */
const FORBIDDEN_NAMES = ['remote-debugging-port', 'remote-debugging-pipe', 'js-flags', 'password-store'] as const;
/**
 * Node's debugger switches, matched by prefix: --inspect, --inspect-brk,
 * --inspect-port, --inspect-publish-uid, --inspect-wait, --inspect-brk-node and
 * whatever Node adds next. (The EnableNodeCliInspectArguments fuse already makes
 * Node ignore them; refusing them says so instead of starting silently.)
 */
const FORBIDDEN_PREFIXES = ['inspect'] as const;

/** Names Electron's app.commandLine.hasSwitch is asked about (it knows no prefixes). */
export const FORBIDDEN_SWITCH_NAMES: readonly string[] = [...FORBIDDEN_NAMES, 'inspect', 'inspect-brk', 'inspect-brk-node', 'inspect-port', 'inspect-publish-uid', 'inspect-wait'];

export interface SwitchCheckInput {
  /** process.argv of main: the executable first, then every argument as given. */
  argv: readonly string[];
  /** The environment (only NODE_OPTIONS is read). */
  env: Readonly<Record<string, string | undefined>>;
  platform: NodeJS.Platform;
  /** Chromium's parsed command line (app.commandLine.hasSwitch), which may hold switches argv does not show. */
  hasSwitch?: (name: string) => boolean;
}

/**
 * The switch name an argument sets, normalised the way the most lenient of
 * Chromium and Node reads it: "--", "-" (and on Windows "/") prefixes, any
 * case (Chromium lowercases switches on Windows), "_" for "-" (Node accepts
 * --inspect_brk), and the value after "=" dropped. Null for a plain argument.
 */
export function switchName(argument: string, platform: NodeJS.Platform): string | null {
  const prefix = /^(--|-)/.exec(argument)?.[0] ?? (platform === 'win32' && argument.startsWith('/') ? '/' : null);
  if (prefix === null) return null;
  const rest = argument.slice(prefix.length);
  const name = rest.split('=', 1)[0] ?? '';
  if (name === '') return null;
  return name.toLowerCase().replace(/_/g, '-');
}

function isForbidden(name: string): boolean {
  return (FORBIDDEN_NAMES as readonly string[]).includes(name) || FORBIDDEN_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/**
 * Every forbidden switch the app was started with, as "--name", each once.
 * Both "--x=v" and "--x v" forms count (the name alone decides); so do
 * switches after a bare "--", which Chromium ignores but which would still
 * show that someone tried. NODE_OPTIONS is checked too, although the
 * EnableNodeOptionsEnvironmentVariable fuse makes Node ignore it.
 */
export function findForbiddenSwitches(input: SwitchCheckInput): string[] {
  const found = new Set<string>();
  for (const argument of input.argv.slice(1)) {
    const name = switchName(argument, input.platform);
    if (name !== null && isForbidden(name)) found.add(`--${name}`);
  }
  for (const name of FORBIDDEN_SWITCH_NAMES) if (input.hasSwitch?.(name)) found.add(`--${name}`);
  for (const argument of (input.env['NODE_OPTIONS'] ?? '').split(/\s+/)) {
    const name = switchName(argument.replace(/^["']|["']$/g, ''), 'linux');
    if (name !== null && isForbidden(name)) found.add(`--${name} (in NODE_OPTIONS)`);
  }
  return [...found];
}

/** The dialog shown before the app exits; the switches are named, their values are not (they may be paths or ports). */
export function forbiddenSwitchMessage(found: readonly string[]): { title: string; message: string } {
  return {
    title: 'Enclave will not start with these options',
    message:
      `Enclave was started with ${found.join(', ')}. ` +
      'Debugger, remote-debugging, V8 and key-store options would let the database key or patient data be reached around Enclave’s protections, so the installed app refuses them. ' +
      'Start Enclave from its normal shortcut, without extra options. If a shortcut or script adds them, contact IT.',
  };
}
