// The IT-facing policy templates are generated from the schema; these tests
// fail when a generated file is stale, when the ADMX and ADML do not fit each
// other or the registry layout Enclave reads, and when the example profile or
// the JSON Schema disagree with the schema's own validation.
import { readFileSync } from 'node:fs';
import { DOMParser, type Document as XmlDocument, type Element as XmlElement } from '@xmldom/xmldom';
import Ajv2020 from 'ajv/dist/2020.js';
import { parse as parsePlist } from 'plist';
import { describe, expect, it } from 'vitest';
import { POLICY_SETTINGS, policyFromDocument, REGISTRY_POLICY_KEY, type PolicySetting } from '../../src/main/policy/index.js';
import { MAC_BUNDLE_ID } from '../../src/main/policy/sources/plist.js';
import {
  ADMX_NAMESPACE,
  ADMX_PREFIX,
  escapeXmlAttribute,
  escapeXmlText,
  exampleManagedSettings,
  MOBILECONFIG_IDENTIFIER,
  POLICY_REFERENCE_BEGIN,
  POLICY_REFERENCE_END,
  POLICY_TEMPLATE_PATHS,
  renderPolicyReference,
  renderPolicyTemplates,
  spliceAdminGuide,
} from '../../src/main/policy/templates/index.js';

const root = new URL('../../', import.meta.url);
const readText = (path: string): string | null => {
  try {
    return readFileSync(new URL(path, root), 'utf8');
  } catch {
    return null;
  }
};
const REGENERATE = 'run `npm run generate:policy` and commit the result';
const PD = 'http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions';
const ID = /^[A-Za-z0-9_]+$/;

function parseXml(path: string): XmlDocument {
  const text = readText(path);
  if (text === null) throw new Error(`${path} is missing; ${REGENERATE}`);
  const problems: string[] = [];
  const document = new DOMParser({ onError: (level, message) => void problems.push(`${level}: ${message}`) }).parseFromString(text, 'text/xml');
  expect(problems, `${path} is not well-formed XML`).toEqual([]);
  return document;
}

function children(element: XmlElement, localName?: string): XmlElement[] {
  const found: XmlElement[] = [];
  for (let i = 0; i < element.childNodes.length; i++) {
    const node = element.childNodes.item(i);
    if (node && node.nodeType === 1) {
      const child = node as XmlElement;
      expect(child.namespaceURI, `<${child.tagName}> is outside the PolicyDefinitions namespace`).toBe(PD);
      if (localName === undefined || child.localName === localName) found.push(child);
    }
  }
  return found;
}

function only(element: XmlElement, localName: string): XmlElement {
  const found = children(element, localName);
  expect(found, `<${element.localName}> must have exactly one <${localName}>`).toHaveLength(1);
  return found[0]!;
}

function all(document: XmlDocument, localName: string): XmlElement[] {
  const list = document.getElementsByTagNameNS(PD, localName);
  return Array.from({ length: list.length }, (_, i) => list.item(i)!);
}

function attr(element: XmlElement, name: string): string | null {
  return element.hasAttribute(name) ? element.getAttribute(name) : null;
}

/** "$(string.X)" → "X". */
function reference(kind: 'string' | 'presentation', value: string | null): string {
  const match = new RegExp(`^\\$\\(${kind}\\.([A-Za-z0-9_]+)\\)$`).exec(value ?? '');
  expect(match, `"${value}" is not a $(${kind}.id) reference`).not.toBeNull();
  return match![1]!;
}

describe('generated policy templates', () => {
  it('match the schema (no file is stale)', () => {
    const stale = renderPolicyTemplates()
      .filter((file) => readText(file.path) !== file.content)
      .map((file) => file.path);
    expect(stale, `These files differ from what the schema generates; ${REGENERATE}`).toEqual([]);
  });

  it('include the current policy reference in the admin guide', () => {
    const guide = readText(POLICY_TEMPLATE_PATHS.adminGuide);
    expect(guide, `${POLICY_TEMPLATE_PATHS.adminGuide} is missing`).not.toBeNull();
    const spliced = spliceAdminGuide(guide!);
    expect(spliced, `${POLICY_TEMPLATE_PATHS.adminGuide} must contain "${POLICY_REFERENCE_BEGIN}" and "${POLICY_REFERENCE_END}" once each, in that order`).not.toBeNull();
    expect(spliced === guide, `The policy reference in ${POLICY_TEMPLATE_PATHS.adminGuide} is stale; ${REGENERATE}`).toBe(true);
  });

  it('splice the reference only between the markers, and refuse a guide without them', () => {
    const guide = `# Guide\n\nBefore.\n\n${POLICY_REFERENCE_BEGIN}\nold text\n${POLICY_REFERENCE_END}\n\nAfter.\n`;
    const spliced = spliceAdminGuide(guide)!;
    expect(spliced.startsWith(`# Guide\n\nBefore.\n\n${POLICY_REFERENCE_BEGIN}\n`)).toBe(true);
    expect(spliced.endsWith(`${POLICY_REFERENCE_END}\n\nAfter.\n`)).toBe(true);
    expect(spliced).not.toContain('old text');
    expect(spliceAdminGuide(spliced)).toBe(spliced);
    expect(spliceAdminGuide('# Guide\n')).toBeNull();
    expect(spliceAdminGuide(`${POLICY_REFERENCE_END}\n${POLICY_REFERENCE_BEGIN}\n`)).toBeNull();
    expect(spliceAdminGuide(`${POLICY_REFERENCE_BEGIN}\n${POLICY_REFERENCE_END}\n${POLICY_REFERENCE_BEGIN}\n`)).toBeNull();
  });

  it('give every setting a row in the reference', () => {
    const reference = renderPolicyReference();
    for (const setting of POLICY_SETTINGS) expect(reference).toContain(`| \`${setting.key}\` | ${setting.type} |`);
  });
});

describe('ADMX and ADML', () => {
  const admx = parseXml(POLICY_TEMPLATE_PATHS.admx);
  const adml = parseXml(POLICY_TEMPLATE_PATHS.adml);
  const policies = all(admx, 'policy');

  it('have the PolicyDefinitions root elements, versions and namespace', () => {
    for (const [document, rootName] of [
      [admx, 'policyDefinitions'],
      [adml, 'policyDefinitionResources'],
    ] as const) {
      const rootElement = document.documentElement!;
      expect(rootElement.localName).toBe(rootName);
      expect(rootElement.namespaceURI).toBe(PD);
      expect(attr(rootElement, 'revision')).toBe('1.0');
      expect(attr(rootElement, 'schemaVersion')).toBe('1.0');
    }
    const admxRoot = admx.documentElement!;
    // PolicyDefinitions: policyNamespaces, resources, supportedOn, categories, policies, in this order.
    expect(children(admxRoot).map((e) => e.localName)).toEqual(['policyNamespaces', 'resources', 'supportedOn', 'categories', 'policies']);
    const target = only(only(admxRoot, 'policyNamespaces'), 'target');
    expect([attr(target, 'prefix'), attr(target, 'namespace')]).toEqual([ADMX_PREFIX, ADMX_NAMESPACE]);
    expect(attr(only(admxRoot, 'resources'), 'minRequiredRevision')).toBe('1.0');
    const admlRoot = adml.documentElement!;
    expect(children(admlRoot).map((e) => e.localName)).toEqual(['displayName', 'description', 'resources']);
    expect(children(only(admlRoot, 'resources')).map((e) => e.localName)).toEqual(['stringTable', 'presentationTable']);
  });

  it('use only valid identifiers, each defined once', () => {
    const names = (document: XmlDocument, localName: string, attribute: string): string[] => all(document, localName).map((e) => attr(e, attribute) ?? '');
    for (const [label, ids] of [
      ['category', names(admx, 'category', 'name')],
      ['policy', names(admx, 'policy', 'name')],
      ['supportedOn definition', names(admx, 'definition', 'name')],
      ['string', names(adml, 'string', 'id')],
      ['presentation', names(adml, 'presentation', 'id')],
    ] as const) {
      for (const id of ids) expect(id, `${label} id "${id}"`).toMatch(ID);
      expect(new Set(ids).size, `${label} ids must be unique`).toBe(ids.length);
    }
  });

  it('cross-reference: every string, presentation, category and supportedOn the ADMX uses is defined', () => {
    const strings = new Set(all(adml, 'string').map((e) => attr(e, 'id')!));
    const presentations = new Map(all(adml, 'presentation').map((e) => [attr(e, 'id')!, e]));
    const categories = new Set(all(admx, 'category').map((e) => attr(e, 'name')!));
    const supported = new Set(all(admx, 'definition').map((e) => attr(e, 'name')!));
    const usedStrings = new Set<string>();

    const walk = (element: XmlElement): void => {
      for (let i = 0; i < element.attributes.length; i++) {
        const value = element.attributes.item(i)!.value;
        if (value.startsWith('$(string.')) usedStrings.add(reference('string', value));
      }
      children(element).forEach(walk);
    };
    walk(admx.documentElement!);
    for (const id of usedStrings) expect(strings.has(id), `ADML has no string "${id}"`).toBe(true);
    for (const id of strings) expect(usedStrings.has(id), `ADML string "${id}" is used by nothing in the ADMX`).toBe(true);

    for (const category of all(admx, 'category')) {
      for (const parent of children(category, 'parentCategory')) expect(categories.has(attr(parent, 'ref')!), `category parent ${attr(parent, 'ref')}`).toBe(true);
    }

    const usedPresentations = new Set<string>();
    for (const policy of policies) {
      const name = attr(policy, 'name')!;
      expect(categories.has(attr(only(policy, 'parentCategory'), 'ref')!), `${name}: parent category`).toBe(true);
      expect(supported.has(attr(only(policy, 'supportedOn'), 'ref')!), `${name}: supportedOn`).toBe(true);
      const elements = children(policy, 'elements').flatMap((e) => children(e));
      const presentationRef = attr(policy, 'presentation');
      if (elements.length === 0) {
        expect(presentationRef, `${name} has no elements, so no presentation`).toBeNull();
        continue;
      }
      const id = reference('presentation', presentationRef);
      usedPresentations.add(id);
      const presentation = presentations.get(id);
      expect(presentation, `ADML has no presentation "${id}"`).toBeDefined();
      // <text> is a plain label; every other child is a control bound to an element.
      const controls = children(presentation!).filter((c) => c.localName !== 'text');
      const elementIds = elements.map((e) => attr(e, 'id'));
      for (const control of controls) expect(elementIds, `${id}: <${control.localName} refId="${attr(control, 'refId')}"> names no element of ${name}`).toContain(attr(control, 'refId'));
      const CONTROL: Record<string, string> = { decimal: 'decimalTextBox', text: 'textBox', enum: 'dropdownList', multiText: 'multiTextBox' };
      for (const element of elements) {
        const matching = controls.filter((c) => attr(c, 'refId') === attr(element, 'id'));
        expect(
          matching.map((c) => c.localName),
          `${name}: element ${attr(element, 'id')} needs one presentation control`,
        ).toEqual([CONTROL[element.localName ?? '']]);
      }
    }
    for (const id of presentations.keys()) expect(usedPresentations.has(id), `ADML presentation "${id}" is used by no policy`).toBe(true);
  });

  it("order each policy's children as the PolicyDefinitions schema requires", () => {
    for (const policy of policies) {
      const order = children(policy).map((e) => e.localName);
      const allowed = ['parentCategory', 'supportedOn', 'enabledValue', 'disabledValue', 'elements'];
      const positions = order.map((n) => allowed.indexOf(n ?? ''));
      expect(
        positions.every((p) => p >= 0),
        `${attr(policy, 'name')}: unexpected child in ${order.join(', ')}`,
      ).toBe(true);
      expect(
        [...positions].sort((a, b) => a - b),
        `${attr(policy, 'name')}: children out of order`,
      ).toEqual(positions);
      expect(order.slice(0, 2)).toEqual(['parentCategory', 'supportedOn']);
      expect(['Machine', 'Both']).toContain(attr(policy, 'class'));
    }
  });

  it('define one policy per setting, at the registry key and value Enclave reads, with the right element', () => {
    expect(policies).toHaveLength(POLICY_SETTINGS.length);
    const located = new Map<string, XmlElement>();
    for (const policy of policies) {
      const elements = children(policy, 'elements').flatMap((e) => children(e));
      expect(elements.length, `${attr(policy, 'name')} must write exactly one value`).toBeLessThanOrEqual(1);
      const valueName = elements.length === 0 ? attr(policy, 'valueName') : attr(elements[0]!, 'valueName');
      expect(valueName, `${attr(policy, 'name')} has no valueName`).not.toBeNull();
      expect(elements[0] ? attr(elements[0], 'key') : null, 'elements use the policy key').toBeNull();
      located.set(`${attr(policy, 'key')!.toLowerCase()}|${valueName}`, policy);
    }
    const expectedElement = (setting: PolicySetting): string | null => ({ boolean: null, integer: 'decimal', enum: 'enum', string: 'text', 'string-list': 'multiText', json: 'text' })[setting.type];
    for (const setting of POLICY_SETTINGS) {
      const key = [REGISTRY_POLICY_KEY, ...setting.segments.slice(0, -1)].join('\\').toLowerCase();
      const valueName = setting.segments[setting.segments.length - 1]!;
      const policy = located.get(`${key}|${valueName}`);
      expect(policy, `no ADMX policy writes ${key}\\${valueName} (${setting.key})`).toBeDefined();
      expect(attr(policy!, 'class'), setting.key).toBe(setting.userSettable ? 'Both' : 'Machine');
      const element = children(policy!, 'elements').flatMap((e) => children(e))[0] ?? null;
      expect(element?.localName ?? null, `${setting.key}: element kind`).toBe(expectedElement(setting));
      const schema = setting.schema;
      switch (setting.type) {
        case 'boolean': {
          expect(attr(only(only(policy!, 'enabledValue'), 'decimal'), 'value'), setting.key).toBe('1');
          expect(attr(only(only(policy!, 'disabledValue'), 'decimal'), 'value'), setting.key).toBe('0');
          break;
        }
        case 'integer':
          expect([attr(element!, 'minValue'), attr(element!, 'maxValue')], setting.key).toEqual([String(schema.minimum), String(schema.maximum)]);
          expect(Number(attr(element!, 'maxValue'))).toBeLessThanOrEqual(0xffff_ffff);
          expect(attr(element!, 'storeAsText'), setting.key).toBe('false');
          break;
        case 'enum': {
          const values = children(element!, 'item').map((item) => only(only(item, 'value'), 'string').textContent);
          expect(values, setting.key).toEqual(schema.enum);
          break;
        }
        case 'string':
          expect(attr(element!, 'maxLength'), setting.key).toBe(String(schema.maxLength));
          break;
        case 'json': {
          expect(Number(attr(element!, 'maxLength')), setting.key).toBeGreaterThanOrEqual(100_000);
          const explain = all(adml, 'string').find((s) => `$(string.${attr(s, 'id')})` === attr(policy!, 'explainText'));
          expect(explain?.textContent, `${setting.key}: explain text says it is JSON`).toMatch(/JSON/);
          break;
        }
        case 'string-list':
          break;
      }
    }
  });
});

describe('example managed policy and macOS profile', () => {
  const example = JSON.parse(readText('resources/policy/example-managed.json')!) as Record<string, unknown>;

  it('the example passes the schema, cross-field rules included', () => {
    const effective = policyFromDocument(example, 'resources/policy/example-managed.json');
    expect(effective.policy.mode).toBe('managed');
    expect(effective.policy.directory.servers.every((s) => s.startsWith('ldaps://'))).toBe(true);
    expect(effective.policy.smartCard.enabled).toBe(true);
    expect(effective.policy.siem.destinations.map((d) => d.type)).toContain('syslog-tls');
    expect(effective.policy.inference.models[0]?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(effective.warnings).toEqual([]);
  });

  it('the mobileconfig parses and its payload is the example, valid under the schema', () => {
    const profile = parsePlist(readText(POLICY_TEMPLATE_PATHS.mobileconfig)!) as Record<string, unknown>;
    expect(profile).toMatchObject({ PayloadType: 'Configuration', PayloadScope: 'System', PayloadIdentifier: MOBILECONFIG_IDENTIFIER, PayloadVersion: 1 });
    const content = profile.PayloadContent as Record<string, unknown>[];
    expect(content).toHaveLength(1);
    const payload = content[0]!;
    expect(payload.PayloadType).toBe(MAC_BUNDLE_ID);
    const uuids = [profile.PayloadUUID, payload.PayloadUUID];
    for (const uuid of uuids) expect(uuid).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
    expect(new Set(uuids).size).toBe(2);
    const settings = Object.fromEntries(Object.entries(payload).filter(([key]) => !key.startsWith('Payload')));
    expect(settings).toEqual(exampleManagedSettings());
    const effective = policyFromDocument(settings, POLICY_TEMPLATE_PATHS.mobileconfig);
    expect(effective.warnings).toEqual([]);
    expect(effective.policy).toEqual(policyFromDocument(example, 'example').policy);
  });
});

describe('JSON Schema file', () => {
  const schema = JSON.parse(readText(POLICY_TEMPLATE_PATHS.jsonSchema)!) as Record<string, unknown>;
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  // Enclave's own annotation (user-settable settings); JSON Schema allows extra keywords, Ajv's strict mode wants them declared.
  ajv.addKeyword({ keyword: 'userSettable', schemaType: 'boolean' });
  // Ajv ships no formats without ajv-formats; a URL check is enough here.
  ajv.addFormat('uri', /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$/);
  const validate = ajv.compile(schema);

  it('is draft 2020-12 with an $id', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(typeof schema.$id).toBe('string');
  });

  it('accepts the example managed policy and the built-in evaluation policy', () => {
    for (const path of ['resources/policy/example-managed.json', 'resources/policy/evaluation.json']) {
      const ok = validate(JSON.parse(readText(path)!));
      expect(ok, `${path}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    }
  });

  it('rejects an unknown top-level key and an out-of-range value', () => {
    const example = JSON.parse(readText('resources/policy/example-managed.json')!) as Record<string, unknown>;
    expect(validate({ ...example, idleLockSeconds: 600 })).toBe(false);
    expect(validate({ ...example, session: { idleLockSeconds: 1 } })).toBe(false);
  });

  it('takes a Splunk destination with token or tokenFile, and refuses one with both or neither', () => {
    const example = JSON.parse(readText('resources/policy/example-managed.json')!) as Record<string, unknown>;
    const hec = { id: 'splunk', type: 'splunk-hec', url: 'https://splunk.example.org:8088' };
    const withDestination = (destination: Record<string, unknown>) => ({ ...example, siem: { destinations: [{ ...hec, ...destination }] } });
    expect(validate(withDestination({ tokenFile: '/etc/enclave/hec.token' })), ajv.errorsText(validate.errors)).toBe(true);
    expect(validate(withDestination({ token: 'secret' })), ajv.errorsText(validate.errors)).toBe(true);
    expect(validate(withDestination({ token: 'secret', tokenFile: '/etc/enclave/hec.token' }))).toBe(false);
    expect(validate(withDestination({}))).toBe(false);
  });
});

describe('XML escaping', () => {
  it('escapes markup characters in text and quotes in attributes', () => {
    expect(escapeXmlText('a < b & c > "d"')).toBe('a &lt; b &amp; c &gt; "d"');
    expect(escapeXmlAttribute(`x="1" & y='2'`)).toBe('x=&quot;1&quot; &amp; y=&apos;2&apos;');
    expect(() => escapeXmlText('bell\u0007')).toThrow();
  });
});
