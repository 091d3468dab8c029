// A setting described in words: its name, default, allowed values and where it
// lives, for the Group Policy help text and the admin guide's reference.
import type { JsonSchemaNode, PolicySetting } from '../catalog.js';
import { REGISTRY_POLICY_KEY } from '../sources/registry.js';
import { EXAMPLE_MANAGED_POLICY } from './constants.js';

const WORDS: Record<string, string> = {
  ca: 'CA',
  crl: 'CRL',
  dn: 'DN',
  ekus: 'EKUs',
  gpu: 'GPU',
  netbios: 'NetBIOS',
  oids: 'OIDs',
  pkcs11: 'PKCS#11',
  siem: 'SIEM',
  tls: 'TLS',
  upn: 'UPN',
};

/** "maxFailedSignIns" → "Max failed sign-ins"; a schema title wins when the setting has one. */
export function humanName(setting: PolicySetting): string {
  if (setting.schema.title) return setting.schema.title;
  const name = setting.segments[setting.segments.length - 1]!;
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(' ')
    .map((word) => WORDS[word.toLowerCase()] ?? word.toLowerCase());
  const text = words
    .join(' ')
    .replace(/\bsign ins\b/g, 'sign-ins')
    .replace(/\bsign in\b/g, 'sign-in');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function sectionKeyOf(setting: PolicySetting): string {
  return setting.segments.slice(0, -1).join('.');
}

export function valueName(setting: PolicySetting): string {
  return setting.segments[setting.segments.length - 1]!;
}

export function registryKey(segments: readonly string[], root: string = REGISTRY_POLICY_KEY): string {
  return [root, ...segments].join('\\');
}

export function registryKindText(setting: PolicySetting): string {
  return setting.registryKind === 'REG_SZ_JSON' ? 'REG_SZ holding JSON' : setting.registryKind;
}

/** Plain-text rendering of a value, for explain text and the reference. */
function plainValue(value: unknown): string {
  if (typeof value === 'string') return value === '' ? '(empty)' : value;
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value.length === 0 ? '(none)' : value.join(', ');
  return JSON.stringify(value);
}

function defaultText(setting: PolicySetting): string {
  const value = setting.schema.default;
  if (value === undefined) return 'not set';
  if (setting.type === 'boolean') return value ? 'enabled (1)' : 'disabled (0)';
  return plainValue(value);
}

function lengthText(node: JsonSchemaNode, each: boolean): string[] {
  const parts: string[] = [];
  const prefix = each ? 'each ' : '';
  if (node.enum) parts.push(`${prefix}one of ${node.enum.map(String).join(', ')}`);
  if (node.format === 'uri') parts.push(`${prefix}a URL`);
  if (node.pattern) parts.push(`${prefix}matching the pattern ${node.pattern}`);
  if (node.minLength !== undefined && node.minLength > 0 && node.maxLength !== undefined) parts.push(`${prefix}${node.minLength} to ${node.maxLength} characters`);
  else if (node.maxLength !== undefined) parts.push(`${prefix}up to ${node.maxLength} characters`);
  else if (node.minLength !== undefined && node.minLength > 0) parts.push(`${prefix}at least ${node.minLength} characters`);
  return parts;
}

function objectShape(node: JsonSchemaNode): string {
  const required = new Set(node.required ?? []);
  // A oneOf of single required names (a Splunk destination's token or tokenFile): "one of a or b", in the first one's place.
  const alternatives = node.oneOf?.every((option) => option.required?.length === 1) ? node.oneOf.map((option) => option.required![0]!) : [];
  return Object.keys(node.properties ?? {})
    .filter((name) => !alternatives.includes(name) || name === alternatives[0])
    .map((name) => (name === alternatives[0] ? `${alternatives.join(' or ')} (exactly one)` : required.has(name) ? name : `${name} (optional)`))
    .join(', ');
}

/** The allowed values of a setting, in words; the JSON Schema has the full detail. */
export function allowedParts(setting: PolicySetting): string[] {
  const node = setting.schema;
  switch (setting.type) {
    case 'boolean':
      return ['true or false (registry: 1 or 0)'];
    case 'integer': {
      if (node.minimum !== undefined && node.maximum !== undefined) return [`${node.minimum} to ${node.maximum}`];
      if (node.minimum !== undefined) return [`at least ${node.minimum}`];
      if (node.maximum !== undefined) return [`at most ${node.maximum}`];
      return ['any whole number'];
    }
    case 'enum':
      return [`one of ${(node.enum ?? []).map(String).join(', ')}`];
    case 'string':
      return lengthText(node, false).length > 0 ? lengthText(node, false) : ['any text'];
    case 'string-list': {
      const parts = ['a list of strings', ...lengthText(node.items ?? {}, true)];
      if (typeof node.minItems === 'number' && node.minItems > 0) parts.push(`at least ${node.minItems}`);
      return parts;
    }
    case 'json': {
      const items = node.items ?? {};
      const parts: string[] = [];
      if (node.type === 'array' && items.oneOf) {
        const variants = items.oneOf.map((variant) => {
          const discriminator = Object.entries(variant.properties ?? {}).find(([, p]) => p.const !== undefined);
          const label = discriminator ? `${discriminator[0]} ${String(discriminator[1].const)}` : 'object';
          return `${label}: ${objectShape(variant)}`;
        });
        parts.push(`a JSON array of objects, one of: ${variants.join('; ')}`);
      } else if (node.type === 'array' && items.properties) {
        parts.push(`a JSON array of objects with ${objectShape(items)}`);
      } else {
        parts.push(`JSON (${node.type ?? 'value'})`);
      }
      if (typeof node.minItems === 'number' && node.minItems > 0) parts.push(`at least ${node.minItems}`);
      return parts;
    }
  }
}

function exampleValue(setting: PolicySetting): unknown {
  let node: unknown = EXAMPLE_MANAGED_POLICY;
  for (const segment of setting.segments) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}

const MAC_DATA_DIRECTORY = '/Library/Application Support/Enclave/';
const WINDOWS_DATA_DIRECTORY = 'C:\\ProgramData\\Enclave\\';

/** The example's macOS paths as the Windows equivalents, for examples in the Group Policy editor. */
function windowsPaths(value: unknown): unknown {
  if (typeof value === 'string' && value.startsWith(MAC_DATA_DIRECTORY)) return WINDOWS_DATA_DIRECTORY + value.slice(MAC_DATA_DIRECTORY.length).replace(/\//g, '\\');
  if (Array.isArray(value)) return value.map(windowsPaths);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, windowsPaths(v)]));
  return value;
}

export function explainText(setting: PolicySetting): string {
  const lines: string[] = [];
  if (setting.description) lines.push(setting.description, '');
  switch (setting.type) {
    case 'boolean':
      lines.push('Enabled: on (REG_DWORD 1). Disabled: off (REG_DWORD 0). Not configured: the default applies.');
      break;
    case 'string-list':
      lines.push('Enter one value per line. Not configured: the default applies.');
      break;
    case 'json': {
      lines.push('Enter the value as JSON text on a single line. Group Policy stores it as a REG_SZ string, which Enclave parses as JSON. Not configured: the default applies.');
      const example = exampleValue(setting) ?? setting.schema.default;
      if (example !== undefined) lines.push('', `Example: ${JSON.stringify(windowsPaths(example))}`);
      break;
    }
    default:
      lines.push('Not configured: the default applies.');
  }
  lines.push('', `Default: ${defaultText(setting)}.`);
  lines.push(`Allowed: ${allowedParts(setting).join('; ')}.`);
  lines.push(`Registry: HKLM\\${registryKey(setting.segments.slice(0, -1))}, value ${valueName(setting)} (${registryKindText(setting)}).`);
  lines.push(`JSON and macOS profile key: ${setting.key}.`);
  lines.push(
    setting.userSettable
      ? 'This setting may also be set per user (User Configuration, the same path under HKCU); the computer setting wins when both are set.'
      : 'This setting applies to the whole computer only; a per-user value is ignored.',
  );
  return lines.join('\n');
}
