// `enclave doctor`: the one command an IT admin runs on a workstation. It
// checks, in order: the policy; the database and its audit chain; chat
// retention (its schedule, sessions past it, the last sweep); the models
// and their hashes; the llama.cpp GPU backend; the directory servers; the SIEM
// destinations; the smart-card middleware. One line per check (OK, WARN, FAIL,
// SKIP and why), or JSON. Exit 0 when nothing blocks use, 1 when a check
// failed, 2 when the doctor could not run (bad arguments).
import { parseArgs } from 'node:util';
import { ENCLAVE_VERSION } from '../core/version.js';
import type { EffectivePolicy } from '../policy/index.js';
import { fail, messageOf, skip, type CheckResult, type CheckStatus } from './doctor/check.js';
import { checkStorage } from './doctor/database.js';
import { checkDirectory } from './doctor/directory.js';
import { checkGpu } from './doctor/gpu.js';
import { checkModels } from './doctor/models.js';
import { checkPolicy } from './doctor/policy.js';
import { checkSiem } from './doctor/siem.js';
import { checkSmartCard } from './doctor/smart-card.js';
import type { CliContext, CliIo } from './main.js';

export type { CheckResult, CheckStatus } from './doctor/check.js';

export interface DoctorOptions {
  dataDir?: string | undefined;
  policyPath?: string | undefined;
  /** The unwrapped database key, when the installed app runs the doctor. */
  databaseKey?: Buffer | undefined;
}

/** A check that throws is reported as failed, and the others still run. */
async function guarded(name: string, run: () => CheckResult[] | Promise<CheckResult[]>): Promise<CheckResult[]> {
  try {
    return await run();
  } catch (error) {
    return [fail(name, `the check itself failed: ${messageOf(error)}`)];
  }
}

export async function diagnose(options: DoctorOptions = {}): Promise<CheckResult[]> {
  let policyResult: CheckResult;
  let effective: EffectivePolicy | null = null;
  try {
    ({ result: policyResult, effective } = await checkPolicy(options.policyPath));
  } catch (error) {
    policyResult = fail('policy', `could not be read: ${messageOf(error)}`);
  }
  const policy = effective?.policy ?? null;
  const notChecked = (name: string): CheckResult[] => [skip(name, 'not checked: the policy is not valid')];

  // The network checks run first and together, while nothing else holds the
  // event loop: a TLS 1.3 receiver's verdict on the client certificate comes
  // just after the handshake, and the probe waits for it only briefly.
  const [directory, siem] = await Promise.all([
    policy ? guarded('directory', () => checkDirectory(policy)) : notChecked('directory'),
    policy ? guarded('siem', () => checkSiem(policy)) : notChecked('siem'),
  ]);
  const database = await guarded('database', () => checkStorage(options.dataDir, policy, options.databaseKey));
  const models = policy ? await guarded('models', () => checkModels(policy)) : notChecked('models');
  const gpu = await guarded('gpu', async () => [await checkGpu(policy)]);
  const smartCard = policy ? await guarded('smart card', () => checkSmartCard(policy)) : notChecked('smart card');
  return [policyResult, ...database, ...models, ...gpu, ...directory, ...siem, ...smartCard];
}

const LABEL: Record<CheckStatus, string> = { ok: 'OK', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' };

export function summarise(results: readonly CheckResult[]): Record<CheckStatus, number> {
  const counts: Record<CheckStatus, number> = { ok: 0, warn: 0, fail: 0, skip: 0 };
  for (const r of results) counts[r.status] += 1;
  return counts;
}

export function formatResults(results: readonly CheckResult[]): string[] {
  const lines = results.map((r) => `${LABEL[r.status].padEnd(5)} ${r.name}: ${r.detail.split('\n').join('\n        ')}`);
  const c = summarise(results);
  lines.push(
    '',
    `${c.fail} failed, ${c.warn} warning${c.warn === 1 ? '' : 's'}, ${c.ok} ok, ${c.skip} skipped: ${c.fail > 0 ? 'something blocks use of Enclave on this workstation' : 'nothing blocks use of Enclave on this workstation'}`,
  );
  return lines;
}

export async function runDoctor(args: string[], io: CliIo, context: CliContext = {}): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { 'data-dir': { type: 'string' }, policy: { type: 'string' }, json: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) {
    io.err(`enclave: doctor takes no arguments besides --data-dir, --policy and --json (got "${positionals.join(' ')}")`);
    return 2;
  }
  const results = await diagnose({ dataDir: values['data-dir'], policyPath: values.policy, databaseKey: context.databaseKey });
  const failed = results.some((r) => r.status === 'fail');
  if (values.json) {
    io.out(JSON.stringify({ ok: !failed, version: ENCLAVE_VERSION, checks: results, summary: summarise(results) }));
  } else {
    io.out(`Enclave doctor ${ENCLAVE_VERSION}`);
    for (const line of formatResults(results)) io.out(line);
  }
  return failed ? 1 : 0;
}
