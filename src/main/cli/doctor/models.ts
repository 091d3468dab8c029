// The models policy deploys: each file is there, is the file IT approved (its
// SHA-256 matches policy; models are gigabytes, and the doctor hashes them in
// full), and holds a whole GGUF header; under managed policy, that only
// administrators can change the file or a folder above it.
import { FILE_PROTECTION_CHECKED, inspectGguf, modelFileProtectionProblem, sha256File } from '../../inference/index.js';
import type { Policy } from '../../policy/index.js';
import { fail, fileProblem, messageOf, ok, skip, warn, type CheckResult } from './check.js';

function bytes(size: number): string {
  if (size >= 1e9) return `${(size / 1e9).toFixed(1)} GB`;
  if (size >= 1e6) return `${(size / 1e6).toFixed(1)} MB`;
  return `${size.toLocaleString('en-US')} bytes`;
}

function count(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  return n.toLocaleString('en-US');
}

/** The same rule the core applies before it loads a model under managed policy (inference/file-protection.ts). */
async function checkProtection(model: Policy['inference']['models'][number], i: number): Promise<CheckResult> {
  const name = `model ${model.id} permissions`;
  if (!FILE_PROTECTION_CHECKED) {
    return skip(name, `not checked on Windows: make sure the ACLs of ${model.path} and its folders let only administrators change them`);
  }
  let problem: string | null;
  try {
    problem = await modelFileProtectionProblem(model.path);
  } catch (error) {
    return fail(name, `${model.path}: ${messageOf(error)}`);
  }
  if (problem) {
    return fail(name, `${problem} (inference.models[${i}].path); under managed policy Enclave refuses "${model.name}" until only administrators can change the file and every folder above it`);
  }
  return ok(name, `${model.path} and every folder above it can be changed only by root or the account this ran as (user id ${process.getuid?.() ?? 0})`);
}

export async function checkModels(policy: Policy): Promise<CheckResult[]> {
  const models = policy.inference.models;
  if (models.length === 0) {
    return [
      skip(
        'models',
        policy.inference.allowUserModels
          ? 'no models in policy (inference.models); in evaluation mode the user adds a GGUF file or the test model in the app'
          : 'no models in policy (inference.models)',
      ),
    ];
  }
  const results: CheckResult[] = [];
  // One at a time: hashing several multi-gigabyte files at once only thrashes the disk.
  for (const [i, model] of models.entries()) {
    const name = `model ${model.id}`;
    const problem = fileProblem(model.path, `inference.models[${i}].path`);
    if (problem) {
      results.push(fail(name, `${problem}; "${model.name}" cannot be loaded`));
      continue;
    }
    if (policy.mode === 'managed') results.push(await checkProtection(model, i));
    let sha256: string;
    try {
      sha256 = await sha256File(model.path);
    } catch (error) {
      results.push(fail(name, `${model.path}: ${messageOf(error)}`));
      continue;
    }
    if (sha256 !== model.sha256) {
      results.push(
        fail(
          name,
          `${model.path}: SHA-256 ${sha256} does not match the policy's ${model.sha256} (inference.models[${i}].sha256); it is not the file IT approved, so "${model.name}" will not be loaded. Copy the approved file again, or update the hash in policy`,
        ),
      );
      continue;
    }
    try {
      const report = await inspectGguf(model.path, { hash: async () => sha256 });
      const what = `${model.path}: hash matches; ${report.architecture}, ${count(report.parameterCount)} parameters, ${report.quantisation}, ${bytes(report.sizeBytes)}`;
      results.push(report.isTestModel ? warn(name, `${what}; this is Enclave's random-weight test model: its output is noise`) : ok(name, what));
    } catch (error) {
      results.push(fail(name, `${messageOf(error)} (the hash matches policy, so the approved file itself is damaged)`));
    }
  }
  return results;
}
