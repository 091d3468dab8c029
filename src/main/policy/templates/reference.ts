// The policy reference in docs/admin-guide.md, and splicing it into the guide.
import { POLICY_SECTIONS, POLICY_SETTINGS, type PolicySetting } from '../catalog.js';
import { REGISTRY_POLICY_KEY } from '../sources/registry.js';
import { POLICY_REFERENCE_BEGIN, POLICY_REFERENCE_END } from './constants.js';
import { allowedParts, registryKey, registryKindText, sectionKeyOf, valueName } from './setting-text.js';

function markdownCell(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
}

function code(text: string): string {
  const fence = text.includes('`') ? '``' : '`';
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

function markdownDefault(setting: PolicySetting): string {
  const value = setting.schema.default;
  if (value === undefined) return 'not set';
  if (typeof value === 'string') return value === '' ? 'empty' : code(value);
  if (Array.isArray(value) && value.length === 0) return 'none';
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value.map(code).join(', ');
  return code(JSON.stringify(value));
}

function markdownAllowed(setting: PolicySetting): string {
  const node = setting.schema;
  switch (setting.type) {
    case 'boolean':
      return '`true` / `false`';
    case 'integer':
      return allowedParts(setting).join('; ');
    case 'enum':
      return (node.enum ?? []).map((value) => code(String(value))).join(', ');
    default:
      return allowedParts(setting)
        .map((part) => part.replace(/matching the pattern (\S+)/, (_, pattern: string) => `matching ${code(pattern)}`))
        .join('; ');
  }
}

export function renderPolicyReference(): string {
  const groups: { title: string; key: string; settings: PolicySetting[] }[] = [];
  const general = POLICY_SETTINGS.filter((setting) => setting.segments.length === 1);
  if (general.length > 0) groups.push({ title: 'General', key: '', settings: general });
  for (const section of POLICY_SECTIONS) {
    const settings = POLICY_SETTINGS.filter((setting) => sectionKeyOf(setting) === section.key);
    if (settings.length > 0) groups.push({ title: section.title, key: section.key, settings });
  }
  const covered = groups.reduce((n, group) => n + group.settings.length, 0);
  if (covered !== POLICY_SETTINGS.length) throw new Error('Some policy settings belong to no section');

  const lines = [
    'Each setting is one JSON member (by its dotted key), one key of the macOS profile (a nested dictionary per section) and one registry value:',
    `the setting \`a.b.c\` is the value \`c\` of the key \`${REGISTRY_POLICY_KEY}\\a\\b\`. Structured settings are JSON text in a REG_SZ;`,
    'the JSON Schema (`resources/policy/enclave-policy.schema.json`) describes their fields in full.',
  ];
  for (const group of groups) {
    lines.push('', `### ${group.title}${group.key ? ` (\`${group.key}\`)` : ''}`, '');
    lines.push('| Setting | Type | Default | Allowed | Registry value | User-settable | Description |', '|---|---|---|---|---|---|---|');
    for (const setting of group.settings) {
      const registry = `${code(registryKey(setting.segments.slice(0, -1)))} ${code(valueName(setting))} (${registryKindText(setting)})`;
      const cells = [
        code(setting.key),
        setting.type,
        markdownDefault(setting),
        markdownAllowed(setting),
        registry,
        setting.userSettable ? 'yes (HKCU too)' : 'no',
        setting.description.replace(/</g, '&lt;').replace(/>/g, '&gt;'),
      ];
      lines.push(`| ${cells.map(markdownCell).join(' | ')} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The admin guide with its generated region replaced by the current reference;
 * null when the guide lacks either marker (or has them out of order).
 */
export function spliceAdminGuide(markdown: string): string | null {
  const begin = markdown.indexOf(POLICY_REFERENCE_BEGIN);
  const end = markdown.indexOf(POLICY_REFERENCE_END);
  if (begin < 0 || end < 0 || end < begin) return null;
  if (markdown.indexOf(POLICY_REFERENCE_BEGIN, begin + 1) >= 0 || markdown.indexOf(POLICY_REFERENCE_END, end + 1) >= 0) return null;
  const head = markdown.slice(0, begin + POLICY_REFERENCE_BEGIN.length);
  const tail = markdown.slice(end);
  return `${head}\n\n${renderPolicyReference()}\n${tail}`;
}
