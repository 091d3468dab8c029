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
