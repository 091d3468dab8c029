// `enclave`: the command-line tool for IT, compliance and the SIEM team.
// Plain Node; exit 0 = fine, 1 = the check found a problem, 2 = could not run.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EnclaveError } from '../../shared/errors.js';
import { currentEnrolmentKey, describeVerifyReport, verifyAuditChain } from '../audit/index.js';
import { ENCLAVE_VERSION } from '../core/version.js';
import { inspectGguf, TEST_MODEL_SHAPES, writeTestModel } from '../inference/index.js';
import { KEY_FILE, readKeyFile } from '../keys/index.js';
import { describeNotices, formatPolicyReport, policyReport, readPolicy, type PolicyResolution } from '../policy/index.js';
import { runDoctor } from './doctor.js';
import { DATABASE_FILE, openStore } from '../store/index.js';

const USAGE = `enclave ${ENCLAVE_VERSION} — Enclave's command-line tool

Usage:
  enclave audit verify --db <file> --key-file <file> [--json]
      Verify the audit chain of an Enclave database. Exit 0 when intact,
      1 naming the first bad sequence number and what is wrong with it.
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
  enclave doctor [--data-dir <dir>] [--policy <file.json>] [--json]
      Check this workstation: policy, database and audit chain, models and
      their hashes, GPU backend, directory servers and SIEM destinations
      (reachable, certificate trusted), PKCS#11 module and readers.
      Exit 1 if anything blocks use.
  enclave --version | --help
`;

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** What only the installed app can add when it runs a command (Electron main unwraps the database key). */
export interface CliContext {
  databaseKey?: Buffer | undefined;
}

export async function runCli(
  argv: string[],
  io: CliIo = { out: (l) => process.stdout.write(l + '\n'), err: (l) => process.stderr.write(l + '\n') },
  context: CliContext = {},
): Promise<number> {
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
    if (group === 'audit' && command === 'verify') return auditVerify(rest, io);
    if (group === 'policy' && command === 'validate') return await policyValidate(rest, io);
    if (group === 'policy' && command === 'show') return await policyShow(rest, io);
    if (group === 'enroll' && command === 'show') return enrollShow(rest, io, context);
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

function enrollShow(args: string[], io: CliIo, context: CliContext): number {
  const { values } = parseArgs({ args, options: { 'data-dir': { type: 'string' }, 'key-file': { type: 'string' }, json: { type: 'boolean' } }, strict: true });
  if (!values['data-dir']) {
    io.err('enclave: enroll show needs --data-dir <dir> (the folder that holds enclave.db)');
    return 2;
  }
  const key = context.databaseKey ?? readKeyFile(values['key-file'] ?? join(values['data-dir'], KEY_FILE));
  const store = openStore({ path: join(values['data-dir'], DATABASE_FILE), key, readonly: true });
  try {
    const enrolment = currentEnrolmentKey(store);
    if (!enrolment) {
      io.err('enclave: this database has no audit signing key yet; it is made when Enclave first starts with it');
      return 1;
    }
    const hostId = store.getMeta('host.id') ?? null;
    if (values.json) io.out(JSON.stringify({ hostId, ...enrolment }));
    else io.out([`Host id:    ${hostId ?? 'unknown'}`, `Key id:     ${enrolment.keyId}`, `Algorithm:  ${enrolment.algorithm}`, `Created:    ${new Date(enrolment.createdAt).toISOString()}`, '', enrolment.publicKeyPem.trimEnd()].join('\n'));
    return 0;
  } finally {
    store.close();
  }
}

function auditVerify(args: string[], io: CliIo): number {
  const { values } = parseArgs({ args, options: { db: { type: 'string' }, 'key-file': { type: 'string' }, json: { type: 'boolean' } }, strict: true });
  if (!values.db || !values['key-file']) {
    io.err('enclave: audit verify needs --db <file> and --key-file <file>');
    return 2;
  }
  const store = openStore({ path: values.db, key: readKeyFile(values['key-file']), readonly: true });
  try {
    const report = verifyAuditChain(store.db);
    io.out(values.json ? JSON.stringify(report) : describeVerifyReport(report));
    return report.ok ? 0 : 1;
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
