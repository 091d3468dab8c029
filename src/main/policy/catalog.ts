// The policy settings as a flat list, derived from the schema's JSON Schema:
// each setting is one value IT sets (one registry value, one plist key, one
// JSON member), with the registry kind it is stored as. The sources, the
// merge, `policy show` and the template generators all walk this list.
import { z } from 'zod';
import { PolicySchema } from './schema.js';

/** The subset of JSON Schema that z.toJSONSchema produces for this schema. */
export interface JsonSchemaNode {
  type?: string;
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
  additionalProperties?: boolean;
  items?: JsonSchemaNode;
  oneOf?: JsonSchemaNode[];
  anyOf?: JsonSchemaNode[];
  userSettable?: boolean;
  [key: string]: unknown;
}

/** How a setting is stored in the Windows registry. */
export type RegistryKind =
  | 'REG_DWORD' // booleans (0/1) and integers
  | 'REG_SZ' // strings and enums
  | 'REG_MULTI_SZ' // lists of strings
  | 'REG_SZ_JSON'; // structured values (lists of objects): JSON text in a REG_SZ

export type SettingType = 'boolean' | 'integer' | 'string' | 'enum' | 'string-list' | 'json';

export interface PolicySetting {
  /** Dotted path, e.g. "session.idleLockSeconds". */
  key: string;
  segments: string[];
  type: SettingType;
  registryKind: RegistryKind;
  userSettable: boolean;
  description: string;
  schema: JsonSchemaNode;
  /** The title of the section the setting is in. */
  section: string;
}

export interface PolicySection {
  key: string;
  segments: string[];
  title: string;
}

export function policyJsonSchema(): JsonSchemaNode {
  return z.toJSONSchema(PolicySchema, { io: 'input', target: 'draft-2020-12' }) as JsonSchemaNode;
}

function settingType(node: JsonSchemaNode): SettingType {
  if (node.type === 'boolean') return 'boolean';
  if (node.type === 'integer') return 'integer';
  if (node.type === 'string') return node.enum ? 'enum' : 'string';
  if (node.type === 'array' && node.items?.type === 'string') return 'string-list';
  return 'json';
}

const REGISTRY_KIND: Record<SettingType, RegistryKind> = {
  boolean: 'REG_DWORD',
  integer: 'REG_DWORD',
  string: 'REG_SZ',
  enum: 'REG_SZ',
  'string-list': 'REG_MULTI_SZ',
  json: 'REG_SZ_JSON',
};

function build(): { settings: PolicySetting[]; sections: PolicySection[] } {
  const settings: PolicySetting[] = [];
  const sections: PolicySection[] = [];
  const walk = (node: JsonSchemaNode, segments: string[], section: string): void => {
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      if (name === '$schema') continue;
      const path = [...segments, name];
      if (child.type === 'object' && child.properties) {
        const title = child.title ?? name;
        sections.push({ key: path.join('.'), segments: path, title });
        walk(child, path, title);
        continue;
      }
      const type = settingType(child);
      if (type === 'integer' && (child.maximum ?? Infinity) > 0xffff_ffff) throw new Error(`${path.join('.')} does not fit a REG_DWORD`);
      settings.push({
        key: path.join('.'),
        segments: path,
        type,
        registryKind: REGISTRY_KIND[type],
        userSettable: child.userSettable === true,
        description: child.description ?? '',
        schema: child,
        section,
      });
    }
  };
  walk(policyJsonSchema(), [], 'General');
  return { settings, sections };
}

const catalog = build();
export const POLICY_SETTINGS: readonly PolicySetting[] = catalog.settings;
export const POLICY_SECTIONS: readonly PolicySection[] = catalog.sections;
const byKey = new Map(POLICY_SETTINGS.map((s) => [s.key, s]));
const sectionKeys = new Set(POLICY_SECTIONS.map((s) => s.key));

export function settingByKey(key: string): PolicySetting | undefined {
  return byKey.get(key);
}

export function isSectionKey(key: string): boolean {
  return sectionKeys.has(key);
}

/** The setting a validation issue's path falls under, e.g. inference.models.0.sha256 → inference.models. */
export function settingForPath(path: readonly PropertyKey[]): PolicySetting | undefined {
  for (let n = path.length; n > 0; n--) {
    const found = byKey.get(path.slice(0, n).map(String).join('.'));
    if (found) return found;
  }
  return undefined;
}
