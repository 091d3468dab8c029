// The Group Policy template (ADMX) and its en-US strings (ADML).
import { POLICY_SECTIONS, POLICY_SETTINGS, type PolicySetting } from '../catalog.js';
import { REGISTRY_POLICY_KEY } from '../sources/registry.js';
import { ADMX_NAMESPACE, ADMX_PREFIX, ADMX_REGISTRY_ROOT } from './constants.js';
import { allowedParts, explainText, humanName, registryKey, sectionKeyOf, valueName } from './setting-text.js';
import { attributes, checkedId, escapeXmlText } from './xml.js';

const POLICY_DEFINITIONS_XMLNS = 'http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions';
const SUPPORTED_ON = { name: 'SUPPORTED_Enclave_0_1', text: 'Enclave 0.1 and later' };
const ROOT_CATEGORY = 'Enclave';
/** Group Policy's text box limit for JSON settings; the same bound Microsoft Edge's ADMX uses for JSON policies. */
const JSON_TEXT_MAX_LENGTH = 1_000_000;
/** A generous limit for a whole list; each item's own limit is the schema's, checked when Enclave reads the value. */
const MULTI_TEXT_MAX_LENGTH = 65_535;

if (ADMX_REGISTRY_ROOT.toLowerCase() !== REGISTRY_POLICY_KEY.toLowerCase()) {
  throw new Error(`The ADMX registry root ${ADMX_REGISTRY_ROOT} is not the key the registry source reads (${REGISTRY_POLICY_KEY})`);
}

type AdmxElementKind = 'decimal' | 'enum' | 'text' | 'multiText';

interface AdmxCategory {
  name: string;
  displayName: string;
  parent: string | null;
}

interface AdmxPolicy {
  setting: PolicySetting;
  name: string;
  class: 'Machine' | 'Both';
  key: string;
  category: string;
  displayName: string;
  explain: string;
  /** Null for a boolean: the policy's own valueName with enabled/disabled values. */
  element: { kind: AdmxElementKind; id: string; label: string } | null;
  /** String ids of the enum items, in the order of the schema's enum. */
  enumItems: { id: string; value: string; text: string }[];
}

interface AdmxModel {
  categories: AdmxCategory[];
  policies: AdmxPolicy[];
}

function categoryName(sectionKey: string): string {
  return sectionKey === '' ? ROOT_CATEGORY : checkedId(`${ROOT_CATEGORY}_${sectionKey.split('.').join('_')}`);
}

const ELEMENT_KIND: Record<PolicySetting['type'], AdmxElementKind | null> = {
  boolean: null,
  integer: 'decimal',
  enum: 'enum',
  string: 'text',
  'string-list': 'multiText',
  json: 'text',
};

function admxModel(): AdmxModel {
  const sectionKeys = new Set(POLICY_SECTIONS.map((section) => section.key));
  const categories: AdmxCategory[] = [{ name: ROOT_CATEGORY, displayName: 'Enclave', parent: null }];
  for (const section of POLICY_SECTIONS) {
    const parentKey = section.segments.slice(0, -1).join('.');
    if (parentKey !== '' && !sectionKeys.has(parentKey)) throw new Error(`Section ${section.key} has no parent section ${parentKey}`);
    categories.push({ name: categoryName(section.key), displayName: section.title, parent: categoryName(parentKey) });
  }
  const policies = POLICY_SETTINGS.map((setting): AdmxPolicy => {
    const name = checkedId(setting.segments.join('_'));
    const kind = ELEMENT_KIND[setting.type];
    const label = humanName(setting);
    const sectionKey = sectionKeyOf(setting);
    if (sectionKey !== '' && !sectionKeys.has(sectionKey)) throw new Error(`Setting ${setting.key} is in no known section`);
    return {
      setting,
      name,
      class: setting.userSettable ? 'Both' : 'Machine',
      key: registryKey(setting.segments.slice(0, -1), ADMX_REGISTRY_ROOT),
      category: categoryName(sectionKey),
      displayName: `${label} (${setting.key})`,
      explain: explainText(setting),
      element: kind === null ? null : { kind, id: checkedId(valueName(setting)), label },
      enumItems:
        setting.type === 'enum'
          ? (setting.schema.enum ?? []).map((value) => {
              if (String(value).length > 255) throw new Error(`${setting.key}: enum value ${String(value)} is longer than ADMX allows (255)`);
              return { id: checkedId(`${name}_${String(value).replace(/[^A-Za-z0-9]/g, '_')}`), value: String(value), text: String(value) };
            })
          : [],
    };
  });
  // Every string id shares one table in the ADML: none may be used twice.
  const ids = [SUPPORTED_ON.name, ...categories.map((c) => c.name), ...policies.flatMap((p) => [p.name, `${p.name}_Explain`, ...p.enumItems.map((i) => i.id)])];
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw new Error(`ADMX string id ${id} is used twice`);
    seen.add(id);
  }
  return { categories, policies };
}

function admxElement(policy: AdmxPolicy): string[] {
  const { setting, element } = policy;
  if (!element) return [];
  const node = setting.schema;
  const common = { id: element.id, valueName: valueName(setting) };
  switch (element.kind) {
    case 'decimal':
      return [`        <decimal${attributes({ ...common, required: 'true', minValue: node.minimum ?? 0, maxValue: node.maximum ?? 0xffff_ffff, storeAsText: 'false' })} />`];
    case 'enum':
      return [
        `        <enum${attributes({ ...common, required: 'true' })}>`,
        ...policy.enumItems.flatMap((item) => [
          `          <item${attributes({ displayName: `$(string.${item.id})` })}>`,
          `            <value><string>${escapeXmlText(item.value)}</string></value>`,
          '          </item>',
        ]),
        '        </enum>',
      ];
    case 'text': {
      const maxLength = setting.type === 'json' ? JSON_TEXT_MAX_LENGTH : (node.maxLength ?? 1023);
      // An empty REG_SZ is a value too; only require text where the schema rejects an empty string.
      const required = setting.type === 'json' || (node.minLength ?? 0) > 0 ? 'true' : undefined;
      return [`        <text${attributes({ ...common, required, maxLength })} />`];
    }
    case 'multiText':
      return [`        <multiText${attributes({ ...common, maxLength: MULTI_TEXT_MAX_LENGTH, maxStrings: 0 })} />`];
  }
}

export function renderAdmx(): string {
  const model = admxModel();
  const lines = [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<!-- Generated from the Enclave policy schema by npm run generate:policy; do not edit. -->',
    `<policyDefinitions xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" revision="1.0" schemaVersion="1.0" xmlns="${POLICY_DEFINITIONS_XMLNS}">`,
    '  <policyNamespaces>',
    `    <target${attributes({ prefix: ADMX_PREFIX, namespace: ADMX_NAMESPACE })} />`,
    '  </policyNamespaces>',
    '  <resources minRequiredRevision="1.0" />',
    '  <supportedOn>',
    '    <definitions>',
    `      <definition${attributes({ name: SUPPORTED_ON.name, displayName: `$(string.${SUPPORTED_ON.name})` })} />`,
    '    </definitions>',
    '  </supportedOn>',
    '  <categories>',
  ];
  for (const category of model.categories) {
    const open = `    <category${attributes({ name: category.name, displayName: `$(string.${category.name})` })}`;
    if (category.parent === null) lines.push(`${open} />`);
    else lines.push(`${open}>`, `      <parentCategory${attributes({ ref: category.parent })} />`, '    </category>');
  }
  lines.push('  </categories>', '  <policies>');
  for (const policy of model.policies) {
    lines.push(
      `    <policy${attributes({
        name: policy.name,
        class: policy.class,
        displayName: `$(string.${policy.name})`,
        explainText: `$(string.${policy.name}_Explain)`,
        presentation: policy.element ? `$(presentation.${policy.name})` : undefined,
        key: policy.key,
        valueName: policy.element ? undefined : valueName(policy.setting),
      })}>`,
      `      <parentCategory${attributes({ ref: policy.category })} />`,
      `      <supportedOn${attributes({ ref: SUPPORTED_ON.name })} />`,
    );
    if (policy.element) {
      lines.push('      <elements>', ...admxElement(policy), '      </elements>');
    } else {
      lines.push('      <enabledValue><decimal value="1" /></enabledValue>', '      <disabledValue><decimal value="0" /></disabledValue>');
    }
    lines.push('    </policy>');
  }
  lines.push('  </policies>', '</policyDefinitions>');
  return `${lines.join('\n')}\n`;
}

function presentation(policy: AdmxPolicy): string[] {
  const { setting, element } = policy;
  if (!element) return [];
  const ref = { refId: element.id };
  const open = `      <presentation${attributes({ id: policy.name })}>`;
  const close = '      </presentation>';
  switch (element.kind) {
    case 'decimal': {
      const fallback = typeof setting.schema.minimum === 'number' ? setting.schema.minimum : 0;
      const defaultValue = typeof setting.schema.default === 'number' ? setting.schema.default : fallback;
      const range = allowedParts(setting).join('; ');
      return [open, `        <decimalTextBox${attributes({ ...ref, defaultValue, spinStep: 1 })}>${escapeXmlText(`${element.label} (${range}):`)}</decimalTextBox>`, close];
    }
    case 'enum': {
      const values = (setting.schema.enum ?? []).map(String);
      const index = values.indexOf(String(setting.schema.default));
      return [open, `        <dropdownList${attributes({ ...ref, noSort: 'true', defaultItem: index >= 0 ? index : undefined })}>${escapeXmlText(`${element.label}:`)}</dropdownList>`, close];
    }
    case 'text': {
      const label = setting.type === 'json' ? `${element.label} (JSON, on one line):` : `${element.label}:`;
      const initial = setting.type === 'string' && typeof setting.schema.default === 'string' && setting.schema.default !== '' ? setting.schema.default : undefined;
      return [
        open,
        `        <textBox${attributes(ref)}>`,
        `          <label>${escapeXmlText(label)}</label>`,
        ...(initial === undefined ? [] : [`          <defaultValue>${escapeXmlText(initial)}</defaultValue>`]),
        '        </textBox>',
        close,
      ];
    }
    case 'multiText':
      // The schema gives multiTextBox no content, so its label is a text element before it.
      return [open, `        <text>${escapeXmlText(`${element.label} (one per line):`)}</text>`, `        <multiTextBox${attributes({ ...ref, defaultHeight: 4 })} />`, close];
  }
}

export function renderAdml(): string {
  const model = admxModel();
  const string = (id: string, text: string): string => `      <string${attributes({ id })}>${escapeXmlText(text)}</string>`;
  const lines = [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<!-- Generated from the Enclave policy schema by npm run generate:policy; do not edit. -->',
    `<policyDefinitionResources xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" revision="1.0" schemaVersion="1.0" xmlns="${POLICY_DEFINITIONS_XMLNS}">`,
    '  <displayName>Enclave</displayName>',
    '  <description>Managed policy for Enclave, the local, encrypted and audited language model for clinical and research workstations.</description>',
    '  <resources>',
    '    <stringTable>',
    string(SUPPORTED_ON.name, SUPPORTED_ON.text),
    ...model.categories.map((category) => string(category.name, category.displayName)),
  ];
  for (const policy of model.policies) {
    lines.push(string(policy.name, policy.displayName), string(`${policy.name}_Explain`, policy.explain), ...policy.enumItems.map((item) => string(item.id, item.text)));
  }
  lines.push('    </stringTable>', '    <presentationTable>');
  for (const policy of model.policies) lines.push(...presentation(policy));
  lines.push('    </presentationTable>', '  </resources>', '</policyDefinitionResources>');
  return `${lines.join('\n')}\n`;
}
