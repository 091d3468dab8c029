// Front door of the policy service: read every managed source for this
// platform, merge them by precedence with each value's provenance, and watch
// them for changes. With no managed source, Enclave runs in evaluation mode.
//
// Precedence, highest first:
//   Windows  HKLM\SOFTWARE\Policies\Enclave, then HKCU (user-settable keys only)
//   macOS    /Library/Managed Preferences/org.enclave.desktop.plist
//   Linux    /etc/enclave/policy.d/*.json (later file names win), then /etc/enclave/policy.json
//   then the schema's defaults; the built-in evaluation policy only when no
//   machine-wide source exists.
import { readdirSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { EnclaveError } from '../../shared/errors.js';
import evaluationPolicyJson from '../../../resources/policy/evaluation.json' with { type: 'json' };
import { describeNotices, layerFromDocument, resolvePolicy, type EffectivePolicy, type PolicyLayer, type PolicyResolution } from './resolve.js';
import { readJsonPolicyFile } from './sources/json-file.js';
import { readPlistPolicy, MAC_MANAGED_PREFERENCES_PATH } from './sources/plist.js';
import { queryRegistry, registryLayer, type RegistryHive } from './sources/registry.js';
import type { Policy } from './schema.js';

export { CHAT_TEMPLATES, PolicySchema, type ChatTemplate, type Policy, type PolicyInput, type ModelEntry, type WorkloadEntry, type SiemDestination } from './schema.js';
export { policyReport, formatPolicyReport } from './report.js';
export { describeNotices, type EffectivePolicy, type PolicyNotice, type PolicyResolution, type SettingProvenance } from './resolve.js';
export { POLICY_SETTINGS, POLICY_SECTIONS, policyJsonSchema, type PolicySetting } from './catalog.js';
export { readJsonPolicyFile } from './sources/json-file.js';
export { MAC_BUNDLE_ID, MAC_MANAGED_PREFERENCES_PATH } from './sources/plist.js';
export { REGISTRY_POLICY_KEY, parseRegQueryOutput } from './sources/registry.js';

export const EVALUATION_SOURCE = 'built-in evaluation policy';
export const LINUX_POLICY_DIRECTORY = '/etc/enclave';

export interface PolicyEnvironment {
  platform?: NodeJS.Platform;
  /** One policy file that replaces every managed source: tests, unpackaged builds, `--policy`. */
  overridePath?: string | undefined;
  linuxDirectory?: string;
  macPlistPath?: string;
  /** reg.exe's output for a hive, or null when the key is absent; tests pass captured output. */
  queryRegistry?: (hive: RegistryHive) => Promise<string | null>;
  env?: NodeJS.ProcessEnv;
}

function evaluationLayer(): PolicyLayer {
  return layerFromDocument(evaluationPolicyJson, EVALUATION_SOURCE);
}

const evaluation = resolvePolicy([evaluationLayer()]);
if (!evaluation.ok) throw new Error(`The built-in evaluation policy is not valid:\n${describeNotices(evaluation.problems)}`);
export const evaluationPolicy: Policy = evaluation.effective.policy;

function linuxLayers(directory: string): PolicyLayer[] {
  let fragments: string[] = [];
  try {
    fragments = readdirSync(join(directory, 'policy.d'))
      .filter((name) => name.endsWith('.json'))
      .sort();
  } catch {
    // No policy.d: only policy.json, if that.
  }
  const paths = [...fragments.reverse().map((name) => join(directory, 'policy.d', name)), join(directory, 'policy.json')];
  return paths.map((path) => readJsonPolicyFile(path)).filter((layer): layer is PolicyLayer => layer !== null);
}

/** The layers in precedence order, highest first, with the evaluation policy at the bottom when no machine source exists. */
export async function readPolicyLayers(environment: PolicyEnvironment = {}): Promise<PolicyLayer[]> {
  if (environment.overridePath) return [readJsonPolicyFile(environment.overridePath, { required: true })!];
  const platform = environment.platform ?? process.platform;
  let machine: PolicyLayer[];
  let user: PolicyLayer[] = [];
  if (platform === 'win32') {
    const query = environment.queryRegistry ?? queryRegistry;
    const [hklm, hkcu] = await Promise.all([query('HKLM'), query('HKCU')]);
    machine = [registryLayer(hklm, 'HKLM', environment.env)].filter((l): l is PolicyLayer => l !== null);
    user = [registryLayer(hkcu, 'HKCU', environment.env)].filter((l): l is PolicyLayer => l !== null);
  } else if (platform === 'darwin') {
    machine = [readPlistPolicy(environment.macPlistPath ?? MAC_MANAGED_PREFERENCES_PATH)].filter((l): l is PolicyLayer => l !== null);
  } else {
    machine = linuxLayers(environment.linuxDirectory ?? LINUX_POLICY_DIRECTORY);
  }
  const managed = machine.some((layer) => layer.values.length > 0 || layer.problems.length > 0);
  return [...machine, ...user, ...(managed ? [] : [evaluationLayer()])];
}

/** The effective policy, or the reasons there is none. Never throws for bad policy content. */
export async function readPolicy(environment: PolicyEnvironment = {}): Promise<PolicyResolution> {
  return resolvePolicy(await readPolicyLayers(environment));
}

/** Like readPolicy, for callers that cannot go on without a policy: a bad one is an error naming every problem. */
export async function loadEffectivePolicy(environment: PolicyEnvironment = {}): Promise<EffectivePolicy> {
  const resolution = await readPolicy(environment);
  if (resolution.ok) return resolution.effective;
  throw new EnclaveError('policy_invalid', `The policy is not valid, so none of it was applied:\n${describeNotices(resolution.problems)}`);
}

/** A policy given as an object (tests, benchmarks), checked exactly as a file would be. */
export function policyFromDocument(document: unknown, source: string): EffectivePolicy {
  const resolution = resolvePolicy([layerFromDocument(document, source)]);
  if (resolution.ok) return resolution.effective;
  throw new EnclaveError('policy_invalid', `The policy in ${source} is not valid:\n${describeNotices(resolution.problems)}`);
}

/** What the watcher compares: a change of effective policy, or of its problems. */
function fingerprint(resolution: PolicyResolution): string {
  return resolution.ok ? `ok:${resolution.effective.hash}:${describeNotices(resolution.effective.warnings)}` : `bad:${describeNotices(resolution.problems)}`;
}

export interface PolicyWatchOptions {
  /** How often to re-read every source; file-system events make Linux and macOS changes quicker. */
  intervalMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * Re-reads the sources on a timer (Group Policy has no change event a plain
 * process can wait on; reg.exe is cheap at this rate) and on file-system
 * events, and calls `onChange` when the result differs from `initial`.
 */
export function watchPolicy(environment: PolicyEnvironment, initial: PolicyResolution, onChange: (resolution: PolicyResolution) => void, options: PolicyWatchOptions = {}): () => void {
  let last = fingerprint(initial);
  let running = false;
  let again = false;
  let stopped = false;
  const check = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        const resolution = await readPolicy(environment);
        const next = fingerprint(resolution);
        if (!stopped && next !== last) {
          last = next;
          onChange(resolution);
        }
      } while (again && !stopped);
    } catch (error) {
      options.onError?.(error);
    } finally {
      running = false;
    }
  };
  const platform = environment.platform ?? process.platform;
  const timer = setInterval(() => void check(), options.intervalMs ?? (platform === 'win32' ? 60_000 : 30_000));
  timer.unref();

  const watchers: FSWatcher[] = [];
  let debounce: NodeJS.Timeout | undefined;
  const soon = (): void => {
    clearTimeout(debounce);
    debounce = setTimeout(() => void check(), 250);
    debounce.unref();
  };
  const directories = environment.overridePath
    ? [join(environment.overridePath, '..')]
    : platform === 'darwin'
      ? [join(environment.macPlistPath ?? MAC_MANAGED_PREFERENCES_PATH, '..')]
      : platform === 'win32'
        ? []
        : [environment.linuxDirectory ?? LINUX_POLICY_DIRECTORY, join(environment.linuxDirectory ?? LINUX_POLICY_DIRECTORY, 'policy.d')];
  for (const directory of directories) {
    try {
      const watcher = watch(directory, { persistent: false }, soon);
      watcher.on('error', () => watcher.close());
      watchers.push(watcher);
    } catch {
      // The directory may appear later; the timer still catches it.
    }
  }
  return () => {
    stopped = true;
    clearInterval(timer);
    clearTimeout(debounce);
    for (const watcher of watchers) watcher.close();
  };
}
