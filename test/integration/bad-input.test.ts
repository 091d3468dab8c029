// Hostile or careless input at the contract: a path with a NUL byte or control
// characters, a relative path, a huge unknown key. Each is refused with a
// clear invalid_input before any service runs, and no error sends back more
// than a capped quote of what it was given.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createHeadlessCore, type HeadlessCore } from '../../src/main/core/headless.js';
import { evaluationPolicy, policyFromDocument } from '../../src/main/policy/index.js';
import { ERROR_MESSAGE_MAX_CHARS } from '../../src/shared/errors.js';
import { call, callError, EVAL_USER } from '../support/core.js';
import { cleanupsAfterEach, tempDir } from '../support/temp.js';

const cleanups = cleanupsAfterEach();

async function signedInCore(): Promise<HeadlessCore> {
  const dir = tempDir();
  cleanups.push(dir.remove);
  const core = await createHeadlessCore({ dataDir: dir.path, log: () => undefined });
  cleanups.push(() => core.close());
  await call(core, 'auth.createFirstAccount', EVAL_USER);
  return core;
}

describe('paths that cross the contract', () => {
  it('model.addFile refuses a NUL byte, control characters, a relative path and an overlong path as invalid input, naming the problem', async () => {
    const core = await signedInCore();
    const cases: [string, string][] = [
      ['/opt/models/llama.gguf\u0000.txt', 'path: A path cannot contain a NUL byte'],
      ['/opt/models/llama\n.gguf', 'path: A path cannot contain control characters (line breaks, tabs, escapes)'],
      ['models/llama.gguf', 'path: Give the full path of the file (starting with / or a drive letter such as C:\\)'],
      [`/${'a'.repeat(5000)}`, 'path: A path has at most 4096 characters'],
    ];
    for (const [path, problem] of cases) {
      const error = await callError(core, 'model.addFile', { path });
      expect(error).toEqual({ code: 'invalid_input', message: `The request "model.addFile" was malformed — ${problem}.` });
    }
    // Nothing was added.
    expect((await call(core, 'model.status', {})).models).toEqual([]);
  });

  it('a policy path with a NUL byte is a policy problem naming the setting, not a crash later', () => {
    const policy = structuredClone(evaluationPolicy) as unknown as { inference: { models: unknown[] } };
    policy.inference.models = [{ id: 'm', name: 'M', path: '/opt/models/m.gguf\u0000', sha256: 'a'.repeat(64) }];
    expect(() => policyFromDocument(policy, 'test policy')).toThrow(/inference\.models\[0\]\.path \(test policy\): A path cannot contain a NUL byte\./);
  });
});

describe('what errors send back', () => {
  it('an unknown 1 MB key is quoted at most 64 characters long, in a message of bounded size', async () => {
    const core = await signedInCore();
    const key = 'k'.repeat(1024 * 1024);
    const error = await callError(core, 'chat.create', { title: 'x', [key]: 1 });
    expect(error.code).toBe('invalid_input');
    expect(error.message).toBe(`The request "chat.create" was malformed — unknown key "${'k'.repeat(63)}…".`);

    // Many of them, in a nested object: still bounded.
    const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`${i}${'x'.repeat(100_000)}`, i]));
    const nested = await callError(core, 'audit.search', { ...many });
    expect(nested.code).toBe('invalid_input');
    expect(nested.message.length).toBeLessThan(600);
    expect(nested.message).toMatch(/and 47 more/);
  });

  it('an unknown call with a huge name, and an error that quotes a long path, are capped too', async () => {
    const core = await signedInCore();
    const unknown = await callError(core, `x.${'y'.repeat(100_000)}`, {});
    expect(unknown).toEqual({ code: 'unknown_call', message: `There is no call named "x.${'y'.repeat(61)}…".` });

    // A valid but absent path of 4,000 characters: the service's error names it, and is capped.
    const path = join('/', ...Array.from({ length: 40 }, () => 'd'.repeat(99)), 'model.gguf');
    const missing = await callError(core, 'model.addFile', { path });
    expect(missing.code).not.toBe('internal');
    expect(missing.message.length).toBeLessThanOrEqual(ERROR_MESSAGE_MAX_CHARS);
  });
});
