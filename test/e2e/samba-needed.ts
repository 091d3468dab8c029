// Whether a Playwright run needs the Samba AD DC: only when one of the spec files
// it selects signs in against the directory. A spec declares that by reading the
// DC's description (sambaDcInfoFromEnv), so there is no list to keep up to date.
// The selection comes from the runner's command line (FullConfig.argv), read the
// way Playwright reads it: positional filters are regular expressions matched
// against each spec's path, with an optional :line[:column]. Whatever cannot be
// told from the command line (--last-failed, --only-changed, --test-list) counts
// as needing the DC.
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** Options of `playwright test` that take a value; the variadic one takes every value up to the next option. */
const WITH_VALUE = new Set([
  '--add-reporter',
  '--browser',
  '-c',
  '--config',
  '--global-timeout',
  '-g',
  '--grep',
  '-G',
  '--grep-invert',
  '--last-failed-file',
  '--max-failures',
  '--output',
  '--repeat-each',
  '--reporter',
  '--retries',
  '--run-agents',
  '--shard',
  '--timeout',
  '--trace',
  '--tsconfig',
  '--ui-host',
  '--ui-port',
  '--update-source-method',
  '-j',
  '--workers',
]);
const VARIADIC = new Set(['--project']);
/** Options whose value is optional: commander takes the next word as it unless it starts with "-". */
const OPTIONAL_VALUE = new Set(['--debug', '--only-changed', '--shuffle', '-u', '--update-snapshots']);
/** Options that select tests from elsewhere than the command line. */
const SELECT_ELSEWHERE = new Set(['--last-failed', '--only-changed', '--test-list', '--test-list-invert']);

/** The test filters of a `playwright test` command line, or null when they cannot be told from it. */
export function testFilters(argv: readonly string[]): string[] | null {
  const start = argv.indexOf('test');
  if (start < 0) return null;
  const filters: string[] = [];
  const args = argv.slice(start + 1);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') break;
    if (!arg.startsWith('-')) {
      filters.push(arg);
      continue;
    }
    const name = arg.includes('=') ? arg.slice(0, arg.indexOf('=')) : arg;
    if (SELECT_ELSEWHERE.has(name)) return null;
    if (arg.includes('=')) continue;
    if (WITH_VALUE.has(name)) i++;
    else if (VARIADIC.has(name)) while (i + 1 < args.length && !args[i + 1]!.startsWith('-')) i++;
    else if (OPTIONAL_VALUE.has(name) && i + 1 < args.length && !args[i + 1]!.startsWith('-')) i++;
  }
  return filters;
}

/** The spec files that sign in against the directory. */
export function specsNeedingSamba(testDir: string): string[] {
  return readdirSync(testDir)
    .filter((name) => name.endsWith('.spec.ts'))
    .map((name) => resolve(testDir, name))
    .filter((file) => readFileSync(file, 'utf8').includes('sambaDcInfoFromEnv('));
}

/** A filter as Playwright applies it to a file path (playwright/lib/util.js: parseLocationArg, forceRegExp). */
function matches(filter: string, file: string): boolean {
  const location = /^(.*?):(\d+)(?::(\d+))?$/.exec(filter);
  const pattern = location ? location[1]! : filter;
  const literal = /^\/(.*)\/([gi]*)$/.exec(pattern);
  const re = literal ? new RegExp(literal[1]!, literal[2]!.replace('g', '')) : new RegExp(pattern, 'i');
  return re.test(file);
}

export function sambaNeeded(argv: readonly string[], testDir: string): boolean {
  const filters = testFilters(argv);
  if (filters === null) return true;
  const needing = specsNeedingSamba(testDir);
  if (filters.length === 0) return needing.length > 0;
  return needing.some((file) => filters.some((filter) => matches(filter, file)));
}
