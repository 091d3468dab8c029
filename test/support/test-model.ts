// One generated test model per test process, shared by the tests that need it.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTestModel } from '../../src/main/inference/index.js';

let pending: Promise<string> | null = null;

export function testModelPath(): Promise<string> {
  pending ??= (async () => {
    const path = join(tmpdir(), `enclave-test-model-${process.pid}.gguf`);
    if (!existsSync(path)) await writeTestModel(path);
    return path;
  })();
  return pending;
}

/** The test model with its SHA-256, as a managed policy lists it. */
export async function approvedTestModel(): Promise<{ path: string; sha256: string }> {
  const path = await testModelPath();
  const { sha256File } = await import('../../src/main/inference/index.js');
  return { path, sha256: await sha256File(path) };
}
