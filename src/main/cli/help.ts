// `enclave <command> --help`: for each subcommand, one line of what it does,
// its usage and its options. `enclave --help` (the overview) stays in main.ts;
// test/integration/cli-help.test.ts checks that every command it lists answers here.
import { TEST_MODEL_SHAPES } from '../inference/index.js';

export interface CommandHelp {
  /** The words after `enclave`. */
  readonly command: readonly string[];
  /** What it does, in one line. */
  readonly summary: string;
  readonly usage: readonly string[];
  /** Option (with its value) and what it is for. */
  readonly options: readonly (readonly [string, string])[];
  /** What the exit status says. */
  readonly exit: string;
}

const DATA_DIR = ['--data-dir <dir>', 'the data folder: the one that holds enclave.db'] as const;
const KEY_FILE = ['--key-file <file>', 'the database key file (default: database.key in the data folder)'] as const;
const JSON_OUT = ['--json', 'one JSON object instead of text'] as const;
const USAGE_ERROR = '2 when the arguments are wrong or it could not run';

export const COMMANDS: readonly CommandHelp[] = [
  {
    command: ['audit', 'verify'],
    summary: 'Verify the audit chain of a database, or an exported audit bundle on any machine.',
    usage: ['enclave audit verify --db <file> --key-file <file> [--json]', 'enclave audit verify --bundle <dir> --key-id <hex> [--key-id <hex> ...] [--json]'],
    options: [
      ['--db <file>', 'the Enclave database whose audit chain to verify'],
      ['--key-file <file>', "that database's key file"],
      ['--bundle <dir>', 'a bundle folder written by enclave audit export'],
      ['--key-id <hex>', 'the key id IT registered for the workstation (64 hex digits); repeat it for keys it rotated to'],
      JSON_OUT,
    ],
    exit: `0 when everything verifies, 1 naming the first fault, ${USAGE_ERROR}`,
  },
  {
    command: ['audit', 'export'],
    summary: 'Seal the waiting events, then write a verifiable bundle of the matching events (audited).',
    usage: ['enclave audit export --data-dir <dir> --out <dir> [--key-file <file>] [--from <time>] [--to <time>] [--user <UPN>] [--action <action>] [--outcome success|failure|unknown] [--json]'],
    options: [
      DATA_DIR,
      ['--out <dir>', 'a new or empty folder for the bundle'],
      KEY_FILE,
      ['--from <time>', 'first moment of the range: ISO 8601 date or date-time, UTC unless it names an offset'],
      ['--to <time>', 'last moment of the range (a date alone: the end of that day); default: the export'],
      ['--user <UPN>', 'only events of this user'],
      ['--action <action>', 'only events of this audit action'],
      ['--outcome <outcome>', 'only events with this outcome: success, failure or unknown'],
      JSON_OUT,
    ],
    exit: `0 when the bundle is written (also with 0 events matched), 1 when the log cannot be exported, ${USAGE_ERROR}`,
  },
  {
    command: ['audit', 'check-text'],
    summary: 'Tell whether the text on standard input is exactly the prompt, answer or typed text of an event (audited).',
    usage: ['enclave audit check-text --data-dir <dir> --event <id> [--key-file <file>] [--json] < text'],
    options: [DATA_DIR, ['--event <id>', 'the event id (a UUID) from the compliance screen or the SIEM'], KEY_FILE, JSON_OUT],
    exit: `0 when it matches, 1 when it does not, ${USAGE_ERROR}`,
  },
  {
    command: ['model', 'inspect'],
    summary: 'Show the SHA-256, architecture, parameter count, context length and quantisation of a GGUF model.',
    usage: ['enclave model inspect <file.gguf> [--json]'],
    options: [JSON_OUT],
    exit: `0 when the file was read, ${USAGE_ERROR}`,
  },
  {
    command: ['model', 'make-test'],
    summary: 'Write the random-weight test model (real GGUF, real tokenizer; its output is noise).',
    usage: [`enclave model make-test <out.gguf> [--shape ${Object.keys(TEST_MODEL_SHAPES).join('|')}]`],
    options: [['--shape <shape>', `its size: ${Object.keys(TEST_MODEL_SHAPES).join(', ')} (default: tiny)`]],
    exit: `0 when it is written, ${USAGE_ERROR}`,
  },
  {
    command: ['policy', 'validate'],
    summary: 'Check a policy file exactly as a workstation would, before rollout.',
    usage: ['enclave policy validate <file.json> [--json]'],
    options: [JSON_OUT],
    exit: `0 when it is valid, 1 naming each key that is not, ${USAGE_ERROR}`,
  },
  {
    command: ['policy', 'show'],
    summary: 'Show the effective policy on this machine, each value with the source it came from.',
    usage: ['enclave policy show [--policy <file.json>] [--json]'],
    options: [['--policy <file.json>', 'read this file instead of the managed policy'], JSON_OUT],
    exit: `0 when the policy is valid, 1 when it is not, ${USAGE_ERROR}`,
  },
  {
    command: ['enroll', 'show'],
    summary: "Show this workstation's audit signing key (key id, algorithm, public key) for IT to register.",
    usage: ['enclave enroll show --data-dir <dir> [--key-file <file>] [--json]'],
    options: [DATA_DIR, KEY_FILE, JSON_OUT],
    exit: `0 when it is shown, 1 when there is no key yet, ${USAGE_ERROR}`,
  },
  {
    command: ['enroll', 'rotate'],
    summary: 'Make a new audit signing key; waiting events are sealed with the old key in a batch that names the new one.',
    usage: ['enclave enroll rotate --data-dir <dir> [--key-file <file>] [--json]'],
    options: [DATA_DIR, KEY_FILE, JSON_OUT],
    exit: `0 when the key is rotated, 1 when there is no key yet, ${USAGE_ERROR}`,
  },
  {
    command: ['db', 'rekey'],
    summary: 'Re-encrypt the database under a new random key and replace the key with it (crash-safe, audited).',
    usage: ['enclave db rekey --data-dir <dir> [--key-file <file>] [--json]', 'enclave db rekey --recover --data-dir <dir> [--key-file <file>]'],
    options: [DATA_DIR, KEY_FILE, ['--recover', 'only settle what an interrupted rekey left; re-encrypt nothing'], JSON_OUT],
    exit: '0 when done; 2 when the arguments are wrong or it failed (the message says which key opens the database)',
  },
  {
    command: ['doctor'],
    summary: 'Check this workstation: policy, database and audit chain, models, GPU, directory, SIEM and smart card.',
    usage: ['enclave doctor [--data-dir <dir>] [--policy <file.json>] [--json]'],
    options: [DATA_DIR, ['--policy <file.json>', 'check this policy file instead of the managed policy'], JSON_OUT],
    exit: `0 when nothing blocks use, 1 when a check failed, ${USAGE_ERROR}`,
  },
];

function format(help: CommandHelp): string {
  const width = Math.max(...help.options.map(([option]) => option.length)) + 2;
  return [
    `enclave ${help.command.join(' ')}: ${help.summary}`,
    '',
    'Usage:',
    ...help.usage.map((line) => `  ${line}`),
    '',
    'Options:',
    ...help.options.map(([option, meaning]) => `  ${option.padEnd(width)}${meaning}`),
    `  ${'--help'.padEnd(width)}this text`,
    '',
    `Exit status: ${help.exit}.`,
  ].join('\n');
}

/**
 * The help for `argv` when it asks for it (--help or -h after a command), else undefined.
 * A group alone (`enclave audit --help`) lists its commands; an unknown command gets none.
 */
export function commandHelp(argv: readonly string[]): string | undefined {
  const [group, command] = argv;
  if (group === undefined || !argv.slice(1).some((arg) => arg === '--help' || arg === '-h')) return undefined;
  const exact = COMMANDS.find((help) => help.command[0] === group && (help.command.length === 1 || help.command[1] === command));
  if (exact) return format(exact);
  const members = COMMANDS.filter((help) => help.command[0] === group);
  if (members.length === 0) return undefined;
  const width = Math.max(...members.map((help) => help.command.join(' ').length)) + 2;
  return [
    `enclave ${group}: ${members.length} command${members.length === 1 ? '' : 's'} (enclave ${group} <command> --help for one)`,
    '',
    ...members.map((help) => `  ${help.command.join(' ').padEnd(width)}${help.summary}`),
  ].join('\n');
}
