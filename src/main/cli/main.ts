// `enclave`: the command-line tool for IT, compliance and the SIEM team.
// Plain Node; exit 0 = fine, 1 = the check found a problem, 2 = could not run.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AuditFilter } from '../../shared/api.js';
import { EnclaveError } from '../../shared/errors.js';
import { AUDIT_ACTIONS } from '../../shared/audit-actions.js';
import { AuditService, SealBeforeExportError, type AuditExport } from '../audit/index.js';
import { scrubDangerousEnvironment } from '../core/child-environment.js';
import { ENCLAVE_VERSION } from '../core/version.js';
import { inspectGguf, TEST_MODEL_SHAPES, writeTestModel } from '../inference/index.js';
import { KEY_FILE, type KeyCustody } from '../keys/index.js';
import { describeNotices, formatPolicyReport, policyReport, readPolicy, type PolicyResolution } from '../policy/index.js';
import { runDoctor } from './doctor.js';
import { auditServiceOf, osAccount } from './audit-service.js';
import { commandHelp } from './help.js';
import { openStoreWithKeyFile } from './key-file.js';
import { enrollRotate, enrollShow } from './enroll.js';
import { dbRekey } from './rekey.js';
import { DATABASE_FILE, openStore } from '../store/index.js';

const USAGE = `enclave ${ENCLAVE_VERSION} — Enclave's command-line tool

Usage:
  enclave audit verify --db <file> --key-file <file> [--json]
      Verify the audit chain of an Enclave database. Exit 0 when intact,
      1 naming the first bad sequence number and what is wrong with it.
  enclave audit verify --bundle <dir> --key-id <hex> [--key-id <hex> ...] [--json]
      Verify an exported audit bundle, on any machine: manifest signatures by
      the given key id (the one IT registered for the workstation) or by keys
      it rotated to, the manifest chain, every event, the Merkle roots, the
      inclusion proofs, that the selection holds every matching event, and
      that signed batches close the time range at both ends. One line per
      range of events and batches, and the time range proven complete; exit 0
      when everything verifies, 1 naming the first fault (event or batch, file
      and line).
  enclave audit export --data-dir <dir> --out <dir> [--key-file <file>]
                       [--from <time>] [--to <time>] [--user <UPN>]
                       [--action <action>] [--outcome success|failure|unknown] [--json]
      Seal the events waiting, then write a verifiable bundle of the matching
      events (with events.csv for reading) into a new or empty folder; the
      export itself is audited. The bundle ends with the signed batch that
      follows the range (a heartbeat sealed by the export when none does
      yet), which proves where the range ends; without --to, or with one after
      now, the range ends at the export. Times are ISO 8601 dates or
      date-times, UTC unless they name an offset; a date alone as --to means
      the end of that day. "0 events matched" is not an error (exit 0).
  enclave audit check-text --data-dir <dir> --event <id> [--key-file <file>] [--json] < text
      Was the text on standard input exactly the prompt, answer or typed text
      (a break-glass reason, a user name typed at sign-in) of that event?
      Compared by keyed hash (HMAC-SHA-256 with this workstation's secret), so
      it works only here. The check is audited (which event, whether it
      matched), never the text. Exit 0 when it matches, 1 when it does not.
  enclave model inspect <file.gguf> [--json]
      SHA-256, architecture, parameter count, context length and quantisation.
  enclave model make-test <out.gguf> [--shape ${Object.keys(TEST_MODEL_SHAPES).join('|')}]
      Write the random-weight test model (real GGUF, real tokenizer; its output is noise).
  enclave policy validate <file.json> [--json]
      Check a policy file exactly as a workstation would, before rollout:
      each problem names the key and what is wrong. Exit 1 if it is not valid.
  enclave policy show [--policy <file.json>] [--json]
      The effective policy on this machine, each value with the source it came
      from (registry, managed preferences, /etc/enclave, default).
  enclave enroll show --data-dir <dir> [--key-file <file>] [--json]
      This workstation's audit signing key: key id, algorithm and public key,
      for IT to register with the SIEM side.
  enclave enroll rotate --data-dir <dir> [--key-file <file>] [--json]
      Make a new signing key. Waiting events are sealed with the old key, in a
      batch that names the new one, so the SIEM can follow the change.
  enclave db rekey --data-dir <dir> [--key-file <file>] [--json]
      Re-encrypt the database under a new random 256-bit key and replace the
      key file with it. On a workstation whose key the OS key store keeps, run
      it as the installed app ("Enclave db rekey", data folder by default):
      the new key is wrapped by the key store. Quit Enclave first: it
      refuses while the app has the database open. Crash-safe: the new key is
      written beside the old one first (<key file>.new, or
      database-key.wrapped.new); after a crash, the next command or start
      keeps whichever key opens the database. Audited (db.rekey).
  enclave db rekey --recover --data-dir <dir> [--key-file <file>]
      Only settle what an interrupted rekey left; re-encrypt nothing.
  enclave doctor [--data-dir <dir>] [--policy <file.json>] [--json]
      Check this workstation: policy, database and audit chain, models and
      their hashes, GPU backend, directory servers and SIEM destinations
      (reachable, certificate trusted), PKCS#11 module and readers.
      Exit 1 if anything blocks use.
  enclave --version | --help
  enclave <command> --help
      What the command does, its usage and its options.
`;

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Standard input, whole (audit check-text); default: the process's. */
  readInput?: () => Promise<string>;
}

/** What only the installed app can add when it runs a command (Electron main unwraps the database key). */
export interface CliContext {
  databaseKey?: Buffer | undefined;
  /** Where the database key is kept, for `db rekey` (the installed app passes the OS key store's). */
  keyCustody?: KeyCustody | undefined;
}

export async function runCli(argv: string[], io: CliIo = { out: (l) => process.stdout.write(l + '\n'), err: (l) => process.stderr.write(l + '\n') }, context: CliContext = {}): Promise<number> {
  // Before any connection or child process, whether run as `enclave` or by the app's main process:
  // NODE_TLS_REJECT_UNAUTHORIZED, proxies and the like from whoever started it (core/child-environment.ts).
  scrubDangerousEnvironment();
  const [group, command, ...rest] = argv;
  try {
    if (group === undefined || group === '--help' || group === '-h' || group === 'help') {
      io.out(USAGE);
      return group === undefined ? 2 : 0;
    }
    if (group === '--version' || group === '-v') {
      io.out(ENCLAVE_VERSION);
      return 0;
    }
    const help = commandHelp(argv);
    if (help !== undefined) {
      io.out(help);
      return 0;
    }
    if (group === 'audit' && command === 'verify') return auditVerify(rest, io);
    if (group === 'audit' && command === 'export') return auditExport(rest, io, context);
    if (group === 'audit' && command === 'check-text') return await auditCheckText(rest, io, context);
    if (group === 'policy' && command === 'validate') return await policyValidate(rest, io);
    if (group === 'policy' && command === 'show') return await policyShow(rest, io);
    if (group === 'enroll' && command === 'show') return enrollShow(rest, io, context);
    if (group === 'enroll' && command === 'rotate') return enrollRotate(rest, io, context);
    if (group === 'db' && command === 'rekey') return await dbRekey(rest, io, context);
    if (group === 'doctor') return await runDoctor(command === undefined ? rest : [command, ...rest], io, context);
    if (group === 'model' && command === 'inspect') return await modelInspect(rest, io);
    if (group === 'model' && command === 'make-test') return await modelMakeTest(rest, io);
    io.err(`enclave: unknown command "${[group, command].filter(Boolean).join(' ')}"\n\n${USAGE}`);
    return 2;
  } catch (error) {
    if (error instanceof EnclaveError) {
      io.err(`enclave: ${error.message}`);
      return 2;
    }
    if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      io.err(`enclave: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
}

function reportResolution(resolution: PolicyResolution, json: boolean | undefined, io: CliIo, ok: () => string): number {
  if (json) {
    io.out(JSON.stringify(resolution.ok ? { ok: true, ...policyReport(resolution.effective) } : { ok: false, problems: resolution.problems, warnings: resolution.warnings }));
  } else if (resolution.ok) {
    io.out(ok());
  } else {
    io.out(`The policy is not valid; a workstation would apply none of it and start locked:\n${describeNotices(resolution.problems)}`);
    if (resolution.warnings.length > 0) io.out(`Warnings:\n${describeNotices(resolution.warnings)}`);
  }
  return resolution.ok ? 0 : 1;
}

async function policyValidate(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  if (positionals.length !== 1) {
    io.err('enclave: policy validate takes one policy file');
    return 2;
  }
  const resolution = await readPolicy({ overridePath: positionals[0] });
  return reportResolution(resolution, values.json, io, () => {
    if (!resolution.ok) return '';
    const { policy, warnings } = resolution.effective;
    const lines = [`${positionals[0]} is a valid ${policy.mode} policy (hash ${resolution.effective.hash}).`];
    if (warnings.length > 0) lines.push(`Warnings:\n${describeNotices(warnings)}`);
    return lines.join('\n');
  });
}

async function policyShow(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' }, policy: { type: 'string' } }, strict: true });
  const resolution = await readPolicy({ overridePath: values.policy });
  return reportResolution(resolution, values.json, io, () => (resolution.ok ? formatPolicyReport(policyReport(resolution.effective)) : ''));
}

/** The most text check-text reads (the contract's limit for audit.checkText). */
const CHECK_TEXT_MAX_BYTES = 4_000_000;

async function readProcessInput(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > CHECK_TEXT_MAX_BYTES)
      throw new EnclaveError('invalid_input', `The text on standard input is longer than ${CHECK_TEXT_MAX_BYTES.toLocaleString('en-US')} bytes; no event holds such a text.`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function auditCheckText(args: string[], io: CliIo, context: CliContext): Promise<number> {
  const { values } = parseArgs({ args, options: { 'data-dir': { type: 'string' }, 'key-file': { type: 'string' }, event: { type: 'string' }, json: { type: 'boolean' } }, strict: true });
  const usage = (message: string) => {
    io.err(`enclave: ${message}`);
    return 2;
  };
  if (!values['data-dir']) return usage(`audit check-text needs --data-dir <dir> (the folder that holds ${DATABASE_FILE})`);
  if (!values.event || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(values.event))
    return usage('audit check-text needs --event <id>: the event id (a UUID) shown on the compliance screen or in the SIEM');
  const dbPath = join(values['data-dir'], DATABASE_FILE);
  if (!existsSync(dbPath)) return usage(`there is no database at ${dbPath}`);
  const text = await (io.readInput ?? readProcessInput)();
  if (text.length === 0) return usage('audit check-text reads the text to check from standard input, and it was empty');
  const store = context.databaseKey
    ? openStore({ path: dbPath, key: context.databaseKey })
    : openStoreWithKeyFile(dbPath, values['key-file'] ?? join(values['data-dir'], KEY_FILE), { readonly: false });
  try {
    const check = auditServiceOf(store).checkText(values.event.toLowerCase(), text, { name: osAccount(), authMethod: 'os-account' });
    if (values.json) io.out(JSON.stringify(check));
    else if (check.matches) io.out(`Matches: the text is exactly ${check.field} of event ${check.sequence} (${check.eventId}).`);
    else if (check.fields.length === 0) io.out(`Event ${check.sequence} holds no hash of typed text to check against.`);
    else io.out(`No match: the text is not exactly ${check.fields.join(' or ')} of event ${check.sequence} (${check.eventId}).`);
    return check.matches ? 0 : 1;
  } finally {
    store.close();
  }
}

function auditVerify(args: string[], io: CliIo): number {
  const { values } = parseArgs({
    args,
    options: { db: { type: 'string' }, 'key-file': { type: 'string' }, bundle: { type: 'string' }, 'key-id': { type: 'string', multiple: true }, json: { type: 'boolean' } },
    strict: true,
  });
  if (values.bundle !== undefined) {
    if (values.db !== undefined || values['key-file'] !== undefined) {
      io.err('enclave: audit verify takes either --bundle <dir> --key-id <hex>, or --db <file> --key-file <file>, not both');
      return 2;
    }
    return auditVerifyBundle(values.bundle, values['key-id'] ?? [], values.json ?? false, io);
  }
  if (!values.db || !values['key-file']) {
    io.err('enclave: audit verify needs --db <file> and --key-file <file> (a database), or --bundle <dir> and --key-id <hex> (an exported bundle)');
    return 2;
  }
  const store = openStoreWithKeyFile(values.db, values['key-file'], { readonly: true });
  try {
    const report = auditServiceOf(store).checkChain();
    io.out(values.json ? JSON.stringify(report) : AuditService.describeChainReport(report));
    return report.ok ? 0 : 1;
  } finally {
    store.close();
  }
}

/** Verifies an exported bundle: needs nothing from the workstation but the key id IT registered. */
function auditVerifyBundle(bundle: string, keyIds: string[], json: boolean, io: CliIo): number {
  if (keyIds.length === 0) {
    io.err('enclave: audit verify --bundle needs --key-id <hex>: the key id registered for the workstation (enclave enroll show on it). A key id taken from the bundle itself proves nothing.');
    return 2;
  }
  const malformed = keyIds.find((id) => !/^[0-9a-fA-F]{64}$/.test(id));
  if (malformed !== undefined) {
    io.err(`enclave: --key-id ${malformed} is not a key id (64 hex digits, the SHA-256 of the public key)`);
    return 2;
  }
  if (!existsSync(bundle) || !statSync(bundle).isDirectory()) {
    io.err(`enclave: there is no bundle folder at ${bundle}`);
    return 2;
  }
  const report = AuditService.verifyBundle(bundle, keyIds);
  if (json) io.out(JSON.stringify(report));
  else for (const line of AuditService.describeBundleReport(report)) io.out(line);
  return report.ok ? 0 : 1;
}

const DAY_MS = 86_400_000;

/** An ISO 8601 date or date-time as UTC milliseconds; a date alone is its first (or, as an end, last) millisecond. */
function parseTimeOption(value: string, endOfDay: boolean): number | null {
  const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (date) {
    const start = Date.UTC(Number(date[1]), Number(date[2]) - 1, Number(date[3]));
    // Date.UTC rolls 2025-02-30 over to March: refuse it instead.
    if (new Date(start).toISOString().slice(0, 10) !== value) return null;
    return endOfDay ? start + DAY_MS - 1 : start;
  }
  const dateTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?$/i.exec(value);
  if (!dateTime) return null;
  const time = Date.parse(dateTime[3] ? value : `${value}Z`);
  return Number.isNaN(time) || time < 0 ? null : time;
}

function auditExport(args: string[], io: CliIo, context: CliContext): number {
  const { values } = parseArgs({
    args,
    options: {
      'data-dir': { type: 'string' },
      'key-file': { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      user: { type: 'string' },
      action: { type: 'string' },
      outcome: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
    },
    strict: true,
  });
  const usage = (message: string) => {
    io.err(`enclave: ${message}`);
    return 2;
  };
  if (!values['data-dir']) return usage(`audit export needs --data-dir <dir> (the folder that holds ${DATABASE_FILE})`);
  if (!values.out) return usage('audit export needs --out <dir>: a new or empty folder for the bundle');
  const from = values.from === undefined ? undefined : parseTimeOption(values.from, false);
  const to = values.to === undefined ? undefined : parseTimeOption(values.to, true);
  if (from === null) return usage(`--from ${values.from} is not an ISO 8601 date or date-time (e.g. 2025-03-01 or 2025-03-01T08:00:00Z)`);
  if (to === null) return usage(`--to ${values.to} is not an ISO 8601 date or date-time (e.g. 2025-03-31 or 2025-03-31T17:00:00Z)`);
  if (values.action !== undefined && !(AUDIT_ACTIONS as readonly string[]).includes(values.action)) {
    return usage(`--action ${values.action} is not an audit action; one of: ${AUDIT_ACTIONS.join(', ')}`);
  }
  const parsedFilter = AuditFilter.safeParse({ from, to, user: values.user, action: values.action, outcome: values.outcome });
  if (!parsedFilter.success) {
    const issue = parsedFilter.error.issues[0];
    return usage(`the filter is not valid: ${issue?.path.length ? `--${String(issue.path[0])}: ` : ''}${issue?.message ?? 'unknown problem'}`);
  }
  const filter = parsedFilter.data;
  const out = resolve(values.out);
  const outExisted = existsSync(out);
  if (outExisted && (!statSync(out).isDirectory() || readdirSync(out).length > 0)) return usage(`${out} exists and is not an empty folder; choose a new or empty folder for the bundle`);
  const dbPath = join(values['data-dir'], DATABASE_FILE);
  if (!existsSync(dbPath)) return usage(`there is no database at ${dbPath}`);

  const store = context.databaseKey
    ? openStore({ path: dbPath, key: context.databaseKey })
    : openStoreWithKeyFile(dbPath, values['key-file'] ?? join(values['data-dir'], KEY_FILE), { readonly: false });
  try {
    const audit = auditServiceOf(store);
    if (!store.getMeta('host.id') || !audit.signingKey()) {
      io.err('enclave: this database has no audit signing key yet, so nothing is sealed to export; it is made when Enclave first starts with it');
      return 1;
    }
    const actor = osAccount();
    let exported: AuditExport;
    try {
      // Seals what waits first, then (in its own transaction) the heartbeat that closes the range when no batch follows it yet.
      exported = audit.export({ filter, actor: { name: actor, authMethod: 'os-account' }, exportedBy: actor, directory: out });
    } catch (error) {
      // A damaged event that cannot be sealed is a finding about the log, not a usage error.
      if (error instanceof SealBeforeExportError) {
        io.err(`enclave: ${error.message} Nothing was exported; run enclave audit verify --db on this database.`);
        return 1;
      }
      if (error instanceof EnclaveError && error.code !== 'invalid_input') {
        io.err(`enclave: ${error.message}`);
        return 1;
      }
      throw error;
    }
    const { bundle: result, sealedFirst } = exported;

    const c = result.coverage;
    const proven = result.provenRange;
    if (values.json) {
      io.out(JSON.stringify({ ...result, sealedBatches: sealedFirst + result.sealedBatches }));
      return 0;
    }
    if (sealedFirst > 0) io.out(`Sealed ${sealedFirst} batch${sealedFirst === 1 ? '' : 'es'} of waiting events first.`);
    io.out(`${result.selectedEvents} event${result.selectedEvents === 1 ? '' : 's'} matched the filter.`);
    if (filter.to !== undefined && result.filter.to === undefined) {
      io.out(`--to ${new Date(filter.to).toISOString()} is after the export, so the range ends at the export.`);
    }
    io.out(
      c
        ? `The bundle covers batches ${c.first_batch_seq}–${c.last_batch_seq}${c.first_seq !== null ? ` (events ${c.first_seq}–${c.last_seq}, ${c.events} in all)` : ' (heartbeats only)'}, and proves that no other event there matches.`
        : 'No sealed batch has anything in the time range, so the bundle covers no batch.',
    );
    io.out(
      `Signed batch ${result.closingBatchSeq} follows the range${proven.endsAtExport ? ' (a heartbeat sealed for this export)' : ''}, so the bundle proves it complete from ${proven.from ?? 'the start of the log'} to ${proven.to}${proven.endsAtExport ? ' (the export)' : ''}.`,
    );
    if (c?.pruned_through_seq) io.out(`Note: events up to ${c.pruned_through_seq} were removed from this workstation after the SIEM confirmed them; the SIEM holds them.`);
    io.out(`Wrote ${result.directory} (for reading: ${result.csvFile}).`);
    io.out(`Verify it anywhere: enclave audit verify --bundle ${result.directory} --key-id <the key id registered for this workstation>`);
    if (result.keyIds.length > 0) io.out(`(signed with key${result.keyIds.length > 1 ? 's' : ''} ${result.keyIds.join(', ')})`);
    return 0;
  } finally {
    store.close();
  }
}

async function modelInspect(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  const file = positionals[0];
  if (!file || positionals.length > 1) {
    io.err('enclave: model inspect takes one GGUF file');
    return 2;
  }
  const report = await inspectGguf(file);
  if (values.json) {
    io.out(JSON.stringify(report));
    return 0;
  }
  const rows: [string, string][] = [
    ['file', report.path],
    ['size', `${report.sizeBytes.toLocaleString('en-US')} bytes`],
    ['sha256', report.sha256],
    ['name', report.name ?? '(none)'],
    ['architecture', report.architecture],
    ['parameters', report.parameterCount.toLocaleString('en-US')],
    ['context length', report.contextLength === null ? '(not stated)' : report.contextLength.toLocaleString('en-US')],
    ['quantisation', report.quantisation],
    ['tensors', String(report.tensorCount)],
  ];
  if (report.isTestModel) rows.push(['note', 'Enclave test model: random weights, output is noise']);
  for (const [k, v] of rows) io.out(`${(k + ':').padEnd(16)}${v}`);
  return 0;
}

async function modelMakeTest(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { shape: { type: 'string', default: 'tiny' } }, allowPositionals: true, strict: true });
  const out = positionals[0];
  if (!out || positionals.length > 1) {
    io.err('enclave: model make-test takes one output path');
    return 2;
  }
  const shape = values.shape as keyof typeof TEST_MODEL_SHAPES;
  if (!Object.hasOwn(TEST_MODEL_SHAPES, shape)) {
    io.err(`enclave: unknown shape "${values.shape}" (choose ${Object.keys(TEST_MODEL_SHAPES).join(', ')})`);
    return 2;
  }
  const result = await writeTestModel(out, TEST_MODEL_SHAPES[shape]);
  io.out(`wrote ${result.path} (${result.sizeBytes.toLocaleString('en-US')} bytes, random weights — for testing only)`);
  return 0;
}
