import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CHAT_TEMPLATES,
  evaluationPolicy,
  formatPolicyReport,
  loadEffectivePolicy,
  policyFromDocument,
  policyReport,
  readPolicy,
  watchPolicy,
  type PolicyEnvironment,
  type PolicyResolution,
} from '../../src/main/policy/index.js';
import { parseRegQueryOutput } from '../../src/main/policy/sources/registry.js';
import { tempDir } from '../support/temp.js';

const fixtures = join(import.meta.dirname, '../fixtures/policy');
const fixture = (name: string): string => readFileSync(join(fixtures, name), 'utf8');

const managed = {
  mode: 'managed',
  institution: { name: 'St Elsewhere' },
  session: { idleLockSeconds: 300 },
  inference: {
    models: [{ id: 'llama-8b', name: 'Llama 8B', path: '/opt/models/llama.gguf', sha256: 'a'.repeat(64) }],
    workloads: [{ id: 'note-summary', name: 'Note summary', model: 'llama-8b' }],
  },
};

let dirs: ReturnType<typeof tempDir>[] = [];
afterEach(() => {
  for (const d of dirs) d.remove();
  dirs = [];
});

/** An /etc/enclave of our own, with the given files written into it. */
function linuxEtc(files: Record<string, unknown>): PolicyEnvironment {
  const dir = tempDir();
  dirs.push(dir);
  mkdirSync(join(dir.path, 'policy.d'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir.path, name), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return { platform: 'linux', linuxDirectory: dir.path };
}

function expectProblems(resolution: PolicyResolution): { key: string | null; source: string; message: string }[] {
  if (resolution.ok) throw new Error('expected the policy to be rejected');
  return resolution.problems;
}

function expectEffective(resolution: PolicyResolution) {
  if (!resolution.ok) throw new Error(`expected a valid policy, got: ${JSON.stringify(resolution.problems)}`);
  return resolution.effective;
}

const setting = (resolution: PolicyResolution, key: string) => expectEffective(resolution).settings.find((s) => s.key === key)!;

describe('policy: evaluation and defaults', () => {
  it('the built-in evaluation policy allows a key file and user models', () => {
    expect(evaluationPolicy.mode).toBe('evaluation');
    expect(evaluationPolicy.storage.allowKeyFile).toBe(true);
    expect(evaluationPolicy.inference.allowUserModels).toBe(true);
  });

  it('with no managed source anywhere, the evaluation policy is in force', async () => {
    const effective = expectEffective(await readPolicy(linuxEtc({})));
    expect(effective.policy.mode).toBe('evaluation');
    expect(effective.source).toBe('built-in evaluation policy');
  });

  it('a managed policy gets the schema defaults, never the evaluation ones, and each default says so', async () => {
    const env = linuxEtc({ 'policy.json': managed });
    const resolution = await readPolicy(env);
    const effective = expectEffective(resolution);
    expect(effective.policy.storage.allowKeyFile).toBe(false);
    expect(effective.policy.inference.allowUserModels).toBe(false);
    expect(effective.policy.inference.models[0]!.contextSize).toBe(4096);
    expect(setting(resolution, 'session.maxFailedSignIns')).toMatchObject({ value: 5, source: 'default' });
    expect(setting(resolution, 'session.idleLockSeconds')).toMatchObject({ value: 300, source: join(env.linuxDirectory!, 'policy.json') });
  });

  it('the policy hash changes with any value and ignores key order', () => {
    const a = policyFromDocument(managed, 'a');
    const b = policyFromDocument({ inference: managed.inference, session: managed.session, institution: managed.institution, mode: 'managed' }, 'b');
    const c = policyFromDocument({ ...managed, session: { idleLockSeconds: 301 } }, 'c');
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.hash).toBe(a.hash);
    expect(c.hash).not.toBe(a.hash);
  });
});

describe('policy: Linux /etc/enclave', () => {
  it('policy.d fragments override policy.json in file-name order, and show names what they overrode', async () => {
    const env = linuxEtc({
      'policy.json': managed,
      'policy.d/10-site.json': { session: { idleLockSeconds: 600, maxFailedSignIns: 4 } },
      'policy.d/20-ward.json': { session: { idleLockSeconds: 120 } },
      'policy.d/README.txt': 'not json, not read',
    });
    const resolution = await readPolicy(env);
    const effective = expectEffective(resolution);
    expect(effective.policy.session).toMatchObject({ idleLockSeconds: 120, maxFailedSignIns: 4 });
    const idle = setting(resolution, 'session.idleLockSeconds');
    expect(idle.source).toBe(join(env.linuxDirectory!, 'policy.d/20-ward.json'));
    expect(idle.overridden).toEqual([
      { source: join(env.linuxDirectory!, 'policy.d/10-site.json'), value: 600 },
      { source: join(env.linuxDirectory!, 'policy.json'), value: 300 },
    ]);
    const text = formatPolicyReport(policyReport(effective));
    expect(text).toMatch(/session\.idleLockSeconds\s+120\s+\[.*20-ward\.json\]/);
    expect(text).toMatch(/overrides 600 from .*10-site\.json/);
  });

  it('a JSON syntax error names the file, the line and the column, and nothing is applied', async () => {
    const env = linuxEtc({ 'policy.json': managed, 'policy.d/50-bad.json': '{\n  "session": {\n    "idleLockSeconds": 60,\n  }\n}\n' });
    const problems = expectProblems(await readPolicy(env));
    expect(problems).toEqual([{ key: null, source: join(env.linuxDirectory!, 'policy.d/50-bad.json'), message: expect.stringMatching(/not valid JSON: .* at line 4, column 3/) }]);
    await expect(loadEffectivePolicy(env)).rejects.toMatchObject({ code: 'policy_invalid', message: expect.stringMatching(/none of it was applied[\s\S]*50-bad\.json.*line 4/) });
  });

  it('a wrong type or an out-of-range value names the key and the file it came from', async () => {
    const env = linuxEtc({ 'policy.json': { ...managed, session: { idleLockSeconds: 2, maxFailedSignIns: 'five' } } });
    const problems = expectProblems(await readPolicy(env));
    const source = join(env.linuxDirectory!, 'policy.json');
    expect(problems).toContainEqual({ key: 'session.idleLockSeconds', source, message: expect.stringMatching(/>=\s*5/) });
    expect(problems).toContainEqual({ key: 'session.maxFailedSignIns', source, message: expect.stringMatching(/expected number/i) });
  });

  it('a problem inside a model entry points into the list', async () => {
    const bad = structuredClone(managed);
    bad.inference.models[0]!.sha256 = 'not-a-hash';
    const problems = expectProblems(await readPolicy(linuxEtc({ 'policy.json': bad })));
    expect(problems[0]).toMatchObject({ key: 'inference.models[0].sha256', message: expect.stringMatching(/64 lower-case hex/) });
  });

  it('unknown keys are warnings, not errors, at the top level and inside entries', async () => {
    const doc = { ...managed, sesion: { idleLockSeconds: 1 }, inference: { ...managed.inference, models: [{ ...managed.inference.models[0], quantisation: 'q4' }] } };
    const effective = expectEffective(await readPolicy(linuxEtc({ 'policy.json': doc })));
    expect(effective.warnings.map((w) => w.key)).toEqual(expect.arrayContaining(['sesion', 'inference.models[0].quantisation']));
    expect(effective.policy.inference.models[0]).not.toHaveProperty('quantisation');
  });

  it('cross-field rules: a workload naming an unlisted model; evaluation-only settings in managed mode; plain LDAP', async () => {
    const doc = {
      ...managed,
      storage: { allowKeyFile: true },
      directory: { servers: ['ldap://dc1.corp.example.org'], startTls: false },
      inference: { ...managed.inference, workloads: [{ id: 'x', name: 'X', model: 'gpt-9' }] },
    };
    const messages = expectProblems(await readPolicy(linuxEtc({ 'policy.json': doc }))).map((p) => `${p.key}: ${p.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^inference\.workloads\[0\]\.model: names model "gpt-9"/),
        'storage.allowKeyFile: is for evaluation mode only',
        expect.stringMatching(/^directory\.startTls: must be true for ldap:\/\/dc1/),
      ]),
    );
  });

  it('malformed identity and SIEM sections name what is missing', async () => {
    const doc = {
      ...managed,
      smartCard: { enabled: true },
      breakGlass: { enabled: true },
      directory: { lookupAccount: 'svc-enclave@corp.example.org' },
      siem: {
        destinations: [
          { id: 'siem', type: 'syslog-tls', address: 'siem.example.org:6514', clientCertFile: '/etc/enclave/client.pem' },
          { id: 'siem', type: 'https-json', url: 'http://collector.example.org' },
        ],
      },
    };
    const messages = expectProblems(await readPolicy(linuxEtc({ 'policy.json': doc }))).map((p) => `${p.key}: ${p.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        'smartCard.pkcs11Module: is required when smartCard.enabled is true',
        'smartCard.caFiles: needs at least one CA file when smartCard.enabled is true',
        'breakGlass.groups: needs at least one group when breakGlass.enabled is true',
        'directory.lookupPasswordFile: directory.lookupAccount and directory.lookupPasswordFile go together',
        'siem.destinations[1].url: must be an https:// URL',
      ]),
    );
    const valid = {
      ...doc,
      smartCard: {},
      breakGlass: {},
      directory: {},
      siem: { destinations: [doc.siem.destinations[0], { id: 'siem', type: 'https-json', url: 'https://collector.example.org' }] },
    };
    const again = expectProblems(await readPolicy(linuxEtc({ 'policy.json': valid }))).map((p) => `${p.key}: ${p.message}`);
    expect(again.sort()).toEqual(['siem.destinations[0].clientKeyFile: clientCertFile and clientKeyFile go together', 'siem.destinations[1].id: "siem" is used by two destinations']);
  });

  it('an explicit file replaces every managed source; a missing one is an error, not evaluation mode', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const path = join(dir.path, 'policy.json');
    writeFileSync(path, JSON.stringify(managed));
    expect(expectEffective(await readPolicy({ overridePath: path })).source).toBe(path);
    expect(expectProblems(await readPolicy({ overridePath: join(dir.path, 'absent.json') }))[0]!.message).toMatch(/cannot be read/);
  });
});

describe('policy: Windows registry (reg query output)', () => {
  const registry = (outputs: Partial<Record<'HKLM' | 'HKCU', string>>): PolicyEnvironment => ({
    platform: 'win32',
    env: { ProgramData: 'C:\\ProgramData' },
    queryRegistry: async (hive) => outputs[hive] ?? null,
  });

  it('parses reg query /s output: keys, value names, kinds and data', () => {
    const values = parseRegQueryOutput(fixture('reg-query-hklm.txt'), 'HKLM');
    expect(values).toContainEqual({ keyPath: [], name: 'mode', type: 'REG_SZ', data: 'managed' });
    expect(values).toContainEqual({ keyPath: ['directory', 'roleGroups'], name: 'clinician', type: 'REG_MULTI_SZ', data: 'CN=Enclave Clinicians,OU=Groups,DC=corp,DC=example,DC=org' });
    expect(values).toContainEqual({ keyPath: ['session'], name: 'idleLockSeconds', type: 'REG_DWORD', data: '0x258' });
  });

  it('HKLM becomes a typed policy: DWORDs, multi-strings, expanded paths and JSON lists', async () => {
    const resolution = await readPolicy(registry({ HKLM: fixture('reg-query-hklm.txt') }));
    const { policy } = expectEffective(resolution);
    expect(policy.mode).toBe('managed');
    expect(policy.session.idleLockSeconds).toBe(600);
    expect(policy.directory.startTls).toBe(true);
    expect(policy.directory.servers).toEqual(['ldaps://dc1.corp.example.org:636', 'ldaps://dc2.corp.example.org:636']);
    expect(policy.directory.caFile).toBe('C:\\ProgramData\\Enclave\\corp-root-ca.pem');
    expect(policy.inference.models[0]).toMatchObject({ id: 'llama-8b', contextSize: 8192 });
    expect(policy.inference.maxResponseTokens).toBe(2048);
    expect(setting(resolution, 'session.idleLockSeconds').source).toBe('HKLM\\SOFTWARE\\Policies\\Enclave\\session\\idleLockSeconds');
  });

  it('HKCU sets only user-settable keys, and only where HKLM is silent', async () => {
    const resolution = await readPolicy(registry({ HKLM: fixture('reg-query-hklm.txt'), HKCU: fixture('reg-query-hkcu.txt') }));
    const effective = expectEffective(resolution);
    expect(effective.policy.inference.gpu).toBe('off');
    expect(setting(resolution, 'inference.gpu').source).toBe('HKCU\\SOFTWARE\\Policies\\Enclave\\inference\\gpu');
    // idleLockSeconds is machine-only: the user's 8 hours is ignored, with a warning.
    expect(effective.policy.session.idleLockSeconds).toBe(600);
    expect(effective.warnings).toContainEqual({
      key: 'session.idleLockSeconds',
      source: 'HKCU\\SOFTWARE\\Policies\\Enclave\\session\\idleLockSeconds',
      message: expect.stringMatching(/whole machine/),
    });
  });

  it('when HKLM and HKCU disagree on a user-settable key, HKLM wins and show names the value it overrode', async () => {
    const hklm = `${fixture('reg-query-hklm.txt')}HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Enclave\\inference\r\n    gpu    REG_SZ    auto\r\n\r\n`;
    const resolution = await readPolicy(registry({ HKLM: hklm, HKCU: fixture('reg-query-hkcu.txt') }));
    expect(expectEffective(resolution).policy.inference.gpu).toBe('auto');
    expect(setting(resolution, 'inference.gpu')).toEqual({
      key: 'inference.gpu',
      value: 'auto',
      source: 'HKLM\\SOFTWARE\\Policies\\Enclave\\inference\\gpu',
      overridden: [{ source: 'HKCU\\SOFTWARE\\Policies\\Enclave\\inference\\gpu', value: 'off' }],
    });
  });

  it('a value of the wrong registry kind, or a boolean that is not 0 or 1, names the value and the kind it must be', async () => {
    const problems = expectProblems(await readPolicy(registry({ HKLM: fixture('reg-query-wrong-kind.txt') })));
    expect(problems).toContainEqual({ key: 'session.idleLockSeconds', source: 'HKLM\\SOFTWARE\\Policies\\Enclave\\session\\idleLockSeconds', message: 'is REG_SZ; it must be REG_DWORD' });
    expect(problems).toContainEqual({ key: 'directory.startTls', source: 'HKLM\\SOFTWARE\\Policies\\Enclave\\directory\\startTls', message: 'must be 0 (off) or 1 (on), not 2' });
  });

  it('no Enclave key in either hive is evaluation mode', async () => {
    expect(expectEffective(await readPolicy(registry({}))).policy.mode).toBe('evaluation');
  });
});

describe('policy: macOS managed preferences', () => {
  it("reads the binary plist an MDM profile leaves, skipping the profile's Payload keys", async () => {
    const resolution = await readPolicy({ platform: 'darwin', macPlistPath: join(fixtures, 'org.enclave.desktop.binary.plist') });
    const effective = expectEffective(resolution);
    expect(effective.policy.institution.name).toBe('Hôpital Saint-Éloi');
    expect(effective.policy.session.idleLockSeconds).toBe(300);
    expect(effective.warnings).toEqual([]);
    expect(setting(resolution, 'institution.name').source).toBe(join(fixtures, 'org.enclave.desktop.binary.plist'));
  });

  it('reads an XML plist too, and a string where a number belongs is a problem naming the key', async () => {
    const problems = expectProblems(await readPolicy({ platform: 'darwin', macPlistPath: join(fixtures, 'org.enclave.desktop.xml.plist') }));
    expect(problems).toEqual([expect.objectContaining({ key: 'session.idleLockSeconds', message: expect.stringMatching(/expected number/i) })]);
  });

  it('a damaged plist is a problem, not evaluation mode', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const path = join(dir.path, 'org.enclave.desktop.plist');
    writeFileSync(path, 'bplist00 this is not a property list');
    expect(expectProblems(await readPolicy({ platform: 'darwin', macPlistPath: path }))[0]).toMatchObject({ key: null, source: path, message: expect.stringMatching(/not a readable property list/) });
  });
});

describe('policy: models and workloads', () => {
  const model = managed.inference.models[0]!;
  const workload = managed.inference.workloads[0]!;
  /** The managed example with one model and one workload changed as given. */
  const withEntries = (modelFields: Record<string, unknown>, workloadFields: Record<string, unknown> = {}) => ({
    ...managed,
    inference: { models: [{ ...model, ...modelFields }], workloads: [{ ...workload, ...workloadFields }] },
  });
  const problemsOf = async (doc: unknown) => expectProblems(await readPolicy(linuxEtc({ 'policy.json': doc }))).map((p) => `${p.key}: ${p.message}`);

  it("defaults: GPU layers auto, no chat template, the chat roles, the policy's answer limit and temperature, and copying allowed", () => {
    const { policy } = policyFromDocument(managed, 'p');
    expect(policy.inference.models[0]).toEqual({ ...model, contextSize: 4096, gpuLayers: 'auto' });
    expect(policy.inference.workloads[0]).toEqual({ ...workload, roles: ['clinician', 'researcher'], allowCopy: true });
  });

  it('accepts every new field within its bounds', () => {
    const doc = withEntries({ gpuLayers: 0, chatTemplate: 'chatML' }, { description: 'Summaries of discharge notes.', roles: ['researcher'], maxTokens: 32_768, temperature: 2 });
    const { policy } = policyFromDocument(doc, 'p');
    expect(policy.inference.models[0]).toMatchObject({ gpuLayers: 0, chatTemplate: 'chatML' });
    expect(policy.inference.workloads[0]).toMatchObject({ description: 'Summaries of discharge notes.', roles: ['researcher'], maxTokens: 32_768, temperature: 2 });
    expect(policyFromDocument(withEntries({}, { allowCopy: false }), 'p').policy.inference.workloads[0]!.allowCopy).toBe(false);
    expect(policyFromDocument(withEntries({ gpuLayers: 1024 }, { temperature: 0, maxTokens: 1 }), 'p').policy.inference.models[0]!.gpuLayers).toBe(1024);
  });

  it('a bad gpuLayers names the key and says what is allowed', async () => {
    for (const gpuLayers of [-1, 2.5, 1025, 'max', 'AUTO', null]) {
      expect(await problemsOf(withEntries({ gpuLayers })), String(gpuLayers)).toEqual(['inference.models[0].gpuLayers: must be "auto" or a whole number of layers from 0 to 1024']);
    }
  });

  it('an unknown chatTemplate names the key and lists the templates node-llama-cpp knows', async () => {
    const [problem, ...rest] = await problemsOf(withEntries({ chatTemplate: 'chatml' }));
    expect(rest).toEqual([]);
    expect(problem).toMatch(/^inference\.models\[0\]\.chatTemplate: must be one of general, /);
    for (const name of ['chatML', 'llama3', 'mistral', 'gemma']) expect(problem).toContain(` ${name},`);
    // A template body is not a name: those wrappers need settings a policy cannot give.
    expect(await problemsOf(withEntries({ chatTemplate: 'jinjaTemplate' }))).toEqual([expect.stringMatching(/^inference\.models\[0\]\.chatTemplate: must be one of/)]);
  });

  it('the chat templates are exactly the wrappers node-llama-cpp builds from a name', async () => {
    const { specializedChatWrapperTypeNames } = await import('node-llama-cpp');
    expect([...CHAT_TEMPLATES].sort()).toEqual([...specializedChatWrapperTypeNames].sort());
  });

  it('temperature and maxTokens out of range name the key and the bound', async () => {
    expect(await problemsOf(withEntries({}, { temperature: 2.5 }))).toEqual([expect.stringMatching(/^inference\.workloads\[0\]\.temperature: .*<=\s*2/)]);
    expect(await problemsOf(withEntries({}, { temperature: -0.1 }))).toEqual([expect.stringMatching(/^inference\.workloads\[0\]\.temperature: .*>=\s*0/)]);
    expect(await problemsOf(withEntries({}, { temperature: 'hot' }))).toEqual([expect.stringMatching(/^inference\.workloads\[0\]\.temperature: .*expected number/i)]);
    expect(await problemsOf(withEntries({}, { maxTokens: 0 }))).toEqual([expect.stringMatching(/^inference\.workloads\[0\]\.maxTokens: .*>=\s*1/)]);
    expect(await problemsOf(withEntries({}, { maxTokens: 40_000 }))).toEqual([expect.stringMatching(/^inference\.workloads\[0\]\.maxTokens: .*<=\s*32768/)]);
    expect(await problemsOf(withEntries({}, { maxTokens: 1.5 }))).toEqual([expect.stringMatching(/^inference\.workloads\[0\]\.maxTokens: .*int/i)]);
    expect(await problemsOf(withEntries({}, { description: 'x'.repeat(501) }))).toEqual([expect.stringMatching(/^inference\.workloads\[0\]\.description: .*<=\s*500/)]);
  });

  it('unknown role names, no roles, or only roles that cannot chat are refused with the key', async () => {
    expect(await problemsOf(withEntries({}, { roles: ['clinician', 'nurse'] }))).toEqual(['inference.workloads[0].roles[1]: must be one of clinician, researcher, compliance, administrator']);
    expect(await problemsOf(withEntries({}, { roles: 'clinician' }))).toEqual([expect.stringMatching(/^inference\.workloads\[0\]\.roles: .*expected array/i)]);
    expect(await problemsOf(withEntries({}, { roles: [] }))).toEqual(['inference.workloads[0].roles: needs at least one role; to offer a workload to nobody, remove it']);
    expect(await problemsOf(withEntries({}, { roles: ['compliance', 'administrator'] }))).toEqual([
      'inference.workloads[0].roles: needs clinician or researcher: only they can chat, so no one with compliance, administrator alone could use this workload',
    ]);
    expect(policyFromDocument(withEntries({}, { roles: ['administrator', 'clinician'] }), 'p').policy.inference.workloads[0]!.roles).toEqual(['administrator', 'clinician']);
  });

  it('two models or two workloads with one id are refused', async () => {
    const doc = {
      ...managed,
      inference: { models: [model, { ...model, name: 'Again' }], workloads: [workload, { ...workload, name: 'Again' }] },
    };
    expect((await problemsOf(doc)).sort()).toEqual(['inference.models[1].id: "llama-8b" is used by two models', 'inference.workloads[1].id: "note-summary" is used by two workloads']);
  });
});

describe('policy: report and watch', () => {
  it('show masks a Splunk token', () => {
    const effective = policyFromDocument({ ...managed, siem: { destinations: [{ id: 'splunk', type: 'splunk-hec', url: 'https://splunk.example.org:8088', token: 'secret-token-1234' }] } }, 'p');
    const text = formatPolicyReport(policyReport(effective));
    expect(text).not.toContain('secret-token-1234');
    expect(text).toContain('(set; hidden)');
  });

  it('a Splunk destination takes exactly one of token and tokenFile; an inline token is a warning that every local account can read it', async () => {
    const hec = { id: 'splunk', type: 'splunk-hec', url: 'https://splunk.example.org:8088' };
    const both = expectProblems(await readPolicy(linuxEtc({ 'policy.json': { ...managed, siem: { destinations: [{ ...hec, token: 'secret-token-1234', tokenFile: '/etc/enclave/hec.token' }] } } })));
    expect(both).toContainEqual(expect.objectContaining({ key: 'siem.destinations[0].token', message: 'set either token or tokenFile, not both' }));
    const neither = expectProblems(await readPolicy(linuxEtc({ 'policy.json': { ...managed, siem: { destinations: [hec] } } })));
    expect(neither).toContainEqual(expect.objectContaining({ key: 'siem.destinations[0].tokenFile', message: 'needs the HEC token: set tokenFile (a file only Enclave can read) or token' }));

    const inline = expectEffective(await readPolicy(linuxEtc({ 'policy.json': { ...managed, siem: { destinations: [{ ...hec, token: 'secret-token-1234' }] } } })));
    expect(inline.warnings).toEqual([
      expect.objectContaining({
        key: 'siem.destinations[0].token',
        message: expect.stringMatching(/^holds the HEC token inline, where every local account can read it .* tokenFile, or use mutual TLS/),
      }),
    ]);
    expect(JSON.stringify(inline.warnings)).not.toContain('secret-token-1234');
    const fromFile = expectEffective(await readPolicy(linuxEtc({ 'policy.json': { ...managed, siem: { destinations: [{ ...hec, tokenFile: '/etc/enclave/hec.token' }] } } })));
    expect(fromFile.warnings).toEqual([]);
    expect(fromFile.policy.siem.destinations[0]).toMatchObject({ tokenFile: '/etc/enclave/hec.token' });
  });

  it('a watched change is reported once, and a broken edit is reported as a problem', async () => {
    const env = linuxEtc({ 'policy.json': managed });
    const initial = await readPolicy(env);
    const seen: PolicyResolution[] = [];
    const stop = watchPolicy(env, initial, (r) => seen.push(r), { intervalMs: 100 });
    try {
      writeFileSync(join(env.linuxDirectory!, 'policy.d/10-lock.json'), JSON.stringify({ session: { idleLockSeconds: 60 } }));
      await expect.poll(() => seen.length, { timeout: 5000 }).toBe(1);
      expect(expectEffective(seen[0]!).policy.session.idleLockSeconds).toBe(60);
      writeFileSync(join(env.linuxDirectory!, 'policy.d/10-lock.json'), '{ "session": ');
      await expect.poll(() => seen.length, { timeout: 5000 }).toBe(2);
      expect(seen[1]!.ok).toBe(false);
    } finally {
      stop();
    }
  });
});
