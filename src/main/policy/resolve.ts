// Merging policy layers into the effective policy. Each source becomes a layer
// of setting values; the highest-precedence layer that sets a key wins, and
// every value remembers where it came from and whom it overrode. A policy that
// does not validate is rejected whole, never half-applied.
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { isSectionKey, POLICY_SETTINGS, settingByKey, settingForPath } from './catalog.js';
import { PolicySchema, type Policy } from './schema.js';

/** Something about the policy that IT should read: the setting, where it was set, what is wrong. */
export interface PolicyNotice {
  /** The setting, e.g. "session.idleLockSeconds" or "inference.models[0].sha256"; null for a whole source. */
  key: string | null;
  /** Where: a file, a registry value, "default". */
  source: string;
  message: string;
}

export interface LayerValue {
  key: string;
  value: unknown;
  /** The exact place the value was read from, e.g. a registry value's full path. */
  origin: string;
}

export interface PolicyLayer {
  /** The source as a whole, e.g. "/etc/enclave/policy.json" or "HKLM\\SOFTWARE\\Policies\\Enclave". */
  source: string;
  values: LayerValue[];
  warnings: PolicyNotice[];
  /** Problems that make the source unusable (syntax error, wrong registry kind). */
  problems: PolicyNotice[];
}

export interface SettingProvenance {
  key: string;
  value: unknown;
  /** Where the effective value came from; "default" when no source set it. */
  source: string;
  /** Lower-precedence sources that also set the key, with their values. */
  overridden: { source: string; value: unknown }[];
}

export interface EffectivePolicy {
  policy: Policy;
  /** One line for logs and the status screen: the sources in precedence order. */
  source: string;
  sources: string[];
  settings: SettingProvenance[];
  warnings: PolicyNotice[];
  /** SHA-256 of the canonical JSON of the effective policy; audited with policy.apply. */
  hash: string;
}

export type PolicyResolution = { ok: true; effective: EffectivePolicy } | { ok: false; problems: PolicyNotice[]; warnings: PolicyNotice[]; sources: string[] };

export const DEFAULT_SOURCE = 'default';

export function emptyLayer(source: string): PolicyLayer {
  return { source, values: [], warnings: [], problems: [] };
}

/**
 * Turns a nested document (a JSON file, a plist) into setting values. Keys the
 * schema does not know are warnings, not errors: an older Enclave must start
 * under a policy written for a newer one.
 */
export function layerFromDocument(document: unknown, source: string): PolicyLayer {
  const layer = emptyLayer(source);
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    layer.problems.push({ key: null, source, message: 'must hold an object of policy settings at the top level' });
    return layer;
  }
  const walk = (node: Record<string, unknown>, prefix: string[]): void => {
    for (const [name, value] of Object.entries(node)) {
      if (prefix.length === 0 && name === '$schema') continue;
      const key = [...prefix, name].join('.');
      if (settingByKey(key)) {
        layer.values.push({ key, value, origin: source });
      } else if (isSectionKey(key)) {
        if (typeof value === 'object' && value !== null && !Array.isArray(value)) walk(value as Record<string, unknown>, [...prefix, name]);
        else layer.problems.push({ key, source, message: 'must be an object of settings' });
      } else {
        layer.warnings.push({ key, source, message: 'is not a policy setting this version of Enclave knows; it was ignored' });
      }
    }
  };
  walk(document as Record<string, unknown>, []);
  return layer;
}

export function policyHash(policy: Policy): string {
  return createHash('sha256')
    .update(canonicalize(policy) ?? '', 'utf8')
    .digest('hex');
}

function displayPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${String(part)}` : String(part)), '');
}

function setAt(target: Record<string, unknown>, segments: string[], value: unknown): void {
  let node = target;
  for (const segment of segments.slice(0, -1)) {
    node = (node[segment] ??= {}) as Record<string, unknown>;
  }
  node[segments.at(-1)!] = value;
}

function getAt(source: unknown, segments: readonly string[]): unknown {
  return segments.reduce<unknown>((node, segment) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[segment] : undefined), source);
}

function deleteAt(target: unknown, path: readonly PropertyKey[], name: string): void {
  const node = path.reduce<unknown>((n, part) => (n && typeof n === 'object' ? (n as Record<PropertyKey, unknown>)[part] : undefined), target);
  if (node && typeof node === 'object') delete (node as Record<string, unknown>)[name];
}

/**
 * Merges layers given highest precedence first. `layers` holding no values at
 * all means no managed policy exists; the caller then uses evaluation mode.
 */
export function resolvePolicy(layers: PolicyLayer[]): PolicyResolution {
  const sources = layers.map((l) => l.source);
  const warnings = layers.flatMap((l) => l.warnings);
  const problems = layers.flatMap((l) => l.problems);

  const winners = new Map<string, LayerValue>();
  const overridden = new Map<string, { source: string; value: unknown }[]>();
  for (const layer of layers) {
    for (const entry of layer.values) {
      if (!winners.has(entry.key)) winners.set(entry.key, entry);
      else {
        const list = overridden.get(entry.key) ?? [];
        list.push({ source: entry.origin, value: entry.value });
        overridden.set(entry.key, list);
      }
    }
  }

  const document: Record<string, unknown> = {};
  for (const [key, entry] of winners) setAt(document, settingByKey(key)!.segments, entry.value);

  // Unknown members inside structured values (a model entry, a SIEM destination)
  // are warned about and dropped, like unknown settings; everything else is fatal.
  let parsed = PolicySchema.safeParse(document);
  for (let round = 0; !parsed.success && round < 10; round++) {
    const unknown = parsed.error.issues.filter((i) => i.code === 'unrecognized_keys' && i.path.length > 0);
    if (unknown.length === 0) break;
    for (const issue of unknown) {
      if (issue.code !== 'unrecognized_keys') continue;
      const setting = settingForPath(issue.path);
      for (const name of issue.keys) {
        warnings.push({
          key: displayPath([...issue.path, name]),
          source: (setting && winners.get(setting.key)?.origin) ?? DEFAULT_SOURCE,
          message: 'is not a field this version of Enclave knows; it was ignored',
        });
        deleteAt(document, issue.path, name);
      }
    }
    parsed = PolicySchema.safeParse(document);
  }

  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const setting = settingForPath(issue.path);
      problems.push({ key: displayPath(issue.path) || null, source: (setting && winners.get(setting.key)?.origin) ?? DEFAULT_SOURCE, message: issue.message });
    }
  }
  if (problems.length > 0 || !parsed.success) return { ok: false, problems, warnings, sources };

  const policy = parsed.data;
  policy.siem.destinations.forEach((destination, i) => {
    if (destination.type !== 'splunk-hec' || destination.token === undefined) return;
    warnings.push({
      key: `siem.destinations[${i}].token`,
      source: winners.get('siem.destinations')?.origin ?? DEFAULT_SOURCE,
      message:
        'holds the HEC token inline, where every local account can read it (policy is world-readable: the registry, /etc/enclave, managed preferences). Put the token in a file only Enclave can read and name it in tokenFile, or use mutual TLS where the collector supports it',
    });
  });
  const settings: SettingProvenance[] = POLICY_SETTINGS.map((setting) => ({
    key: setting.key,
    value: getAt(policy, setting.segments) ?? null,
    source: winners.get(setting.key)?.origin ?? DEFAULT_SOURCE,
    overridden: overridden.get(setting.key) ?? [],
  }));
  const used = sources.filter((source) => layers.find((l) => l.source === source)!.values.length > 0);
  return {
    ok: true,
    effective: { policy, source: used.join(' over ') || DEFAULT_SOURCE, sources: used, settings, warnings, hash: policyHash(policy) },
  };
}

/** The problems as IT reads them: one line each, "key (source): message". */
export function describeNotices(notices: readonly PolicyNotice[]): string {
  return notices.map((n) => `${n.key ? `${n.key} ` : ''}(${n.source}): ${n.message}`).join('\n');
}
