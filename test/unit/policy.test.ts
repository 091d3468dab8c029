import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { evaluationPolicy, loadEffectivePolicy, parsePolicy, readPolicyFile, type PolicyInput } from '../../src/main/policy/index.js';
import { tempDir } from '../support/temp.js';

const managed: PolicyInput = {
  mode: 'managed',
  institution: { name: 'St Elsewhere' },
  storage: {},
  session: { idleLockMinutes: 5 },
  inference: {
    models: [{ id: 'llama-8b', name: 'Llama 8B', path: '/opt/models/llama.gguf', sha256: 'a'.repeat(64) }],
    workloads: [{ id: 'note-summary', name: 'Note summary', model: 'llama-8b' }],
  },
};

let dir: ReturnType<typeof tempDir> | undefined;
afterEach(() => dir?.remove());

describe('policy', () => {
  it('the built-in evaluation policy is evaluation mode and allows a key file and user models', () => {
    expect(evaluationPolicy.mode).toBe('evaluation');
    expect(evaluationPolicy.storage.allowKeyFile).toBe(true);
    expect(evaluationPolicy.inference.allowUserModels).toBe(true);
  });

  it('with no managed policy, evaluation mode is effective', () => {
    const effective = loadEffectivePolicy();
    expect(effective.source).toBe('built-in evaluation policy');
    expect(effective.policy.mode).toBe('evaluation');
  });

  it('fills defaults in a minimal managed policy', () => {
    const policy = parsePolicy(managed, 'test');
    expect(policy.inference.maxPromptChars).toBe(16_000);
    expect(policy.inference.models[0]!.contextSize).toBe(4096);
    expect(policy.storage.allowKeyFile).toBe(false);
  });

  it('names the offending field of a malformed policy', () => {
    const bad = structuredClone(managed) as { inference: { models: { sha256: string }[] } };
    bad.inference.models[0]!.sha256 = 'not-a-hash';
    expect(() => parsePolicy(bad, 'policy.json')).toThrow(/policy\.json is not valid: inference\.models\.0\.sha256: must be 64 lower-case hex/);
  });

  it('refuses a workload that names a model the policy does not list', () => {
    const bad = structuredClone(managed) as { inference: { workloads: { model: string }[] } };
    bad.inference.workloads[0]!.model = 'gpt-9';
    expect(() => parsePolicy(bad, 'p')).toThrow(/names model "gpt-9", which is not in inference\.models/);
  });

  it('refuses unknown keys rather than ignoring a typo', () => {
    expect(() => parsePolicy({ ...managed, sesion: {} }, 'p')).toThrow(/Unrecognized key.*sesion/);
  });

  it('refuses evaluation-only settings in a managed policy', () => {
    expect(() => parsePolicy({ ...managed, storage: { allowKeyFile: true } }, 'p')).toThrow(/evaluation mode only/);
  });

  it('a managed policy file that is not JSON is an error, not a fall-back to evaluation', () => {
    dir = tempDir();
    const path = join(dir.path, 'policy.json');
    writeFileSync(path, '{ "mode": "managed", ');
    expect(() => loadEffectivePolicy({ path })).toThrow(/policy file .*policy\.json is not valid JSON/);
    expect(() => readPolicyFile(join(dir!.path, 'absent.json'))).toThrow(/Cannot read the policy file/);
  });
});
