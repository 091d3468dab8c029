// A policy value that fails to parse is named by its source, line and column,
// and never quoted: it may hold a secret (a Splunk HEC token). Each source
// (registry values, JSON files, XML and binary plists) is fed hostile values
// carrying a marker that must appear in no message, and nowhere on the console.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readPolicy, type PolicyEnvironment, type PolicyResolution } from '../../src/main/policy/index.js';
import { tempDir } from '../support/temp.js';

const SECRET = 'SECRETMARK7f3a';
const ROOT = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Enclave';

let dirs: ReturnType<typeof tempDir>[] = [];
let consoleOutput: string[] = [];
beforeEach(() => {
  consoleOutput = [];
  for (const method of ['log', 'error', 'warn', 'info', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void consoleOutput.push(args.map(String).join(' ')));
  }
});
afterEach(() => {
  vi.restoreAllMocks();
  for (const d of dirs) d.remove();
  dirs = [];
});

/** The problems of one source (a broken source also leaves the defaults to be judged alone). */
function problemsOf(resolution: PolicyResolution, source?: string): { key: string | null; source: string; message: string }[] {
  if (resolution.ok) throw new Error('expected the policy to be rejected');
  return source === undefined ? resolution.problems : resolution.problems.filter((p) => p.source === source);
}

/** Every notice, and whatever reached the console, holds no part of the secret. */
function expectNoSecret(resolution: PolicyResolution): void {
  const text = JSON.stringify(resolution) + consoleOutput.join('\n');
  for (const piece of [SECRET, SECRET.slice(0, 8), SECRET.slice(-8)]) expect(text).not.toContain(piece);
}

function registryOutput(lines: string[]): string {
  return ['', ...lines, ''].join('\r\n');
}

const registry = (hklm: string): PolicyEnvironment => ({ platform: 'win32', env: {}, queryRegistry: async (hive) => (hive === 'HKLM' ? hklm : null) });

function file(name: string, content: string | Buffer): string {
  const dir = tempDir();
  dirs.push(dir);
  const path = join(dir.path, name);
  writeFileSync(path, content);
  return path;
}

describe('registry values that fail to parse', () => {
  const cases: [string, string, RegExp][] = [
    [
      'an unterminated string',
      `[{"id":"splunk","type":"splunk-hec","url":"https://splunk.example.org:8088","token":"${SECRET}`,
      /^is not valid JSON: unterminated string at line 1, column 85 of the value$/,
    ],
    ['text after the value', `[{"id":"splunk","token":"x"}] ${SECRET}`, /^is not valid JSON: unexpected character at line 1, column 31 of the value$/],
    ['a bare word', `${SECRET}`, /^is not valid JSON: .* at line 1, column 1 of the value$/],
    ['a single-quoted string', `[{'token': '${SECRET}'}]`, /^is not valid JSON: .* at line 1, column 3 of the value$/],
    ['a trailing comma', `[{"token":"${SECRET}",}]`, /^is not valid JSON: .* at line 1, column \d+ of the value$/],
  ];
  for (const [what, data, expected] of cases) {
    it(`a JSON value with ${what} names the value, line and column, and quotes none of it`, async () => {
      const resolution = await readPolicy(registry(registryOutput([`${ROOT}\\siem`, `    destinations    REG_SZ    ${data}`])));
      expect(problemsOf(resolution, 'HKLM\\SOFTWARE\\Policies\\Enclave\\siem\\destinations')).toEqual([
        { key: 'siem.destinations', source: 'HKLM\\SOFTWARE\\Policies\\Enclave\\siem\\destinations', message: expect.stringMatching(expected) },
      ]);
      expectNoSecret(resolution);
    });
  }

  it('DWORD data that is not a number is not quoted', async () => {
    const resolution = await readPolicy(registry(registryOutput([`${ROOT}\\session`, `    idleLockSeconds    REG_DWORD    0x${SECRET}`])));
    expect(problemsOf(resolution, 'HKLM\\SOFTWARE\\Policies\\Enclave\\session\\idleLockSeconds')).toEqual([
      { key: 'session.idleLockSeconds', source: 'HKLM\\SOFTWARE\\Policies\\Enclave\\session\\idleLockSeconds', message: 'has REG_DWORD data that is not a hexadecimal number' },
    ]);
    expectNoSecret(resolution);
  });

  it('a JSON value that parses but breaks the schema names the setting, not the token', async () => {
    const destinations = JSON.stringify([{ id: 'splunk', type: 'splunk-hec', url: 'https://splunk.example.org:8088', token: SECRET.repeat(30), bogus: SECRET }]);
    const resolution = await readPolicy(registry(registryOutput([`${ROOT}`, '    mode    REG_SZ    managed', `${ROOT}\\siem`, `    destinations    REG_SZ    ${destinations}`])));
    expect(problemsOf(resolution).length).toBeGreaterThan(0);
    expectNoSecret(resolution);
  });
});

describe('policy files that fail to parse', () => {
  it('a JSON file names line and column, never the text', async () => {
    const text = `{\n  "siem": {\n    "destinations": [\n      { "id": "s", "type": "splunk-hec", "token": "${SECRET}", }\n    ]\n  }\n}\n`;
    const path = file('50-bad.json', text);
    const dir = join(path, '..');
    writeFileSync(join(dir, 'policy.json'), text);
    const resolution = await readPolicy({ platform: 'linux', linuxDirectory: dir });
    expect(problemsOf(resolution)).toContainEqual({ key: null, source: join(dir, 'policy.json'), message: expect.stringMatching(/^is not valid JSON: .* at line 4, column \d+$/) });
    expectNoSecret(resolution);
  });

  const plistCases: [string, string, RegExp][] = [
    [
      'a mismatched closing tag',
      `<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">\n<dict>\n  <key>token</key>\n  <string>${SECRET}</strin${SECRET}>\n</dict>\n</plist>\n`,
      /^is not a readable property list: the XML is not well-formed at line 5, column \d+$/,
    ],
    [
      'an element a plist does not allow, named after the secret',
      `<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">\n<dict>\n  <key>token</key>\n  <${SECRET}>x</${SECRET}>\n</dict>\n</plist>\n`,
      /^is not a readable property list: it holds an element a property list does not allow at line 5, column 3$/,
    ],
    [
      'an unknown entity',
      `<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">\n<dict>\n  <key>token</key>\n  <string>${SECRET}&${SECRET};</string>\n</dict>\n</plist>\n`,
      /^is not a readable property list: the XML is not well-formed at line 5, column \d+$/,
    ],
    [
      'an attribute without quotes (an XML warning, which plist would print)',
      `<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">\n<dict>\n  <key>token</key>\n  <string note=${SECRET}>x</string>\n</dict>\n</plist>\n`,
      /^is not a readable property list: the XML is not well-formed at line 5, column \d+$/,
    ],
    ['no XML at all', `${SECRET} is not a plist`, /^is not a readable property list: the XML is not well-formed/],
    ['a binary plist that is damaged', `bplist00${SECRET}${'\u00ff'.repeat(40)}`, /^is not a readable property list \(a damaged binary plist\)$/],
  ];
  for (const [what, content, expected] of plistCases) {
    it(`a plist with ${what} is told by where, never by what`, async () => {
      const path = file('org.enclave.desktop.plist', Buffer.from(content, what.includes('binary') ? 'latin1' : 'utf8'));
      const resolution = await readPolicy({ platform: 'darwin', macPlistPath: path });
      expect(problemsOf(resolution, path)).toEqual([{ key: null, source: path, message: expect.stringMatching(expected) }]);
      expectNoSecret(resolution);
    });
  }
});
