// `enclave <command> --help`: every command the overview (`enclave --help`) lists
// answers with what it does, its usage and its options, exits 0, and runs nothing.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/main/cli/help.js';
import { runCli } from '../../src/main/cli/main.js';
import { spawnCli } from '../support/cli-process.js';
import { tempDir } from '../support/temp.js';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Each command of the overview with the options its usage lines name, e.g. "audit verify" → --db, --key-file, … */
async function overviewCommands(): Promise<Map<string, Set<string>>> {
  const { out } = await cli(['--help']);
  const commands = new Map<string, Set<string>>();
  let current: Set<string> | undefined;
  for (const line of out.split('\n')) {
    const usage = /^ {2}enclave ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?(.*)$/.exec(line);
    if (usage) {
      const name = [usage[1], usage[2]].filter(Boolean).join(' ');
      current = commands.get(name) ?? new Set();
      commands.set(name, current);
      for (const option of (usage[3] ?? '').matchAll(/--[a-z][a-z-]*/g)) current.add(option[0]);
    } else if (/^ {23}\S/.test(line) && current) {
      // A usage line continued under the first one.
      for (const option of line.matchAll(/--[a-z][a-z-]*/g)) current.add(option[0]);
    } else if (!/^ {6}/.test(line)) {
      current = undefined;
    }
  }
  return commands;
}

describe('enclave <command> --help', () => {
  it('answers for every command of the overview: what it does, usage, every option, exit 0', async () => {
    const commands = await overviewCommands();
    expect([...commands.keys()].sort()).toEqual(COMMANDS.map((c) => c.command.join(' ')).sort());
    for (const [name, options] of commands) {
      for (const flag of ['--help', '-h']) {
        const { code, out, err } = await cli([...name.split(' '), flag]);
        expect({ name, flag, code, err }).toEqual({ name, flag, code: 0, err: '' });
        const [summary, ...rest] = out.split('\n');
        expect(summary).toMatch(new RegExp(`^enclave ${name}: \\S.*\\.$`));
        const body = rest.join('\n');
        expect(body).toContain(`Usage:\n  enclave ${name}`);
        expect(body).toContain('Options:');
        expect(body).toMatch(/Exit status: 0 /);
        for (const option of options) expect({ name, option, listed: body.includes(`\n  ${option}`) }).toEqual({ name, option, listed: true });
      }
    }
  });

  it('shows the help instead of running the command, whatever else is on the line', async () => {
    const data = tempDir();
    try {
      const out = join(data.path, 'bundle');
      const exported = await cli(['audit', 'export', '--data-dir', data.path, '--out', out, '--help']);
      expect(exported.code).toBe(0);
      expect(exported.out).toMatch(/^enclave audit export: /);
      expect(existsSync(out)).toBe(false);
      const rekey = await cli(['db', 'rekey', '--data-dir', join(data.path, 'missing'), '--no-such-option', '-h']);
      expect(rekey).toMatchObject({ code: 0, err: '' });
      expect(rekey.out).toMatch(/^enclave db rekey: /);
    } finally {
      data.remove();
    }
  });

  it('lists the commands of a group, and still refuses an unknown command', async () => {
    const audit = await cli(['audit', '--help']);
    expect(audit.code).toBe(0);
    for (const command of ['verify', 'export', 'check-text']) expect(audit.out).toContain(`\n  audit ${command} `);
    const unknown = await cli(['frobnicate', '--help']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('enclave: unknown command "frobnicate');
  });

  it('answers as its own process too', async () => {
    const { code, out } = await spawnCli(['doctor', '--help']);
    expect(code).toBe(0);
    expect(out).toMatch(/^enclave doctor: Check this workstation/);
  });
});
