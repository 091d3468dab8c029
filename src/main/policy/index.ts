// Front door of the policy service: find the effective policy and say where it
// came from. With no managed policy present Enclave runs in evaluation mode.
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { EnclaveError } from '../../shared/errors.js';
import { PolicySchema, type Policy } from './schema.js';
import evaluationPolicyJson from '../../../resources/policy/evaluation.json' with { type: 'json' };

export { PolicySchema, type Policy, type ModelEntry, type WorkloadEntry } from './schema.js';

export interface EffectivePolicy {
  policy: Policy;
  /** A path, or 'built-in evaluation policy'. */
  source: string;
}

/** Where IT puts the managed policy on Linux; Windows and macOS sources come with the deployment issue. */
export const DEFAULT_MANAGED_POLICY_PATH = '/etc/enclave/policy.json';

export function parsePolicy(value: unknown, source: string): Policy {
  const result = PolicySchema.safeParse(value);
  if (!result.success) {
    const first = result.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new EnclaveError('invalid_input', `The policy in ${source} is not valid: ${first.join('; ')}.`);
  }
  return result.data;
}

export function readPolicyFile(path: string): Policy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new EnclaveError('invalid_input', `Cannot read the policy file ${path}: ${(cause as Error).message}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new EnclaveError('invalid_input', `The policy file ${path} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  return parsePolicy(json, path);
}

export const evaluationPolicy: Policy = parsePolicy(evaluationPolicyJson, 'the built-in evaluation policy');

/**
 * The managed policy if one is present (an explicit path wins), otherwise the
 * evaluation policy. A managed policy that is present but malformed is an
 * error, never a silent fall-back to evaluation mode.
 */
export function loadEffectivePolicy(options: { path?: string | undefined } = {}): EffectivePolicy {
  const path = options.path ?? (existsSync(DEFAULT_MANAGED_POLICY_PATH) ? DEFAULT_MANAGED_POLICY_PATH : undefined);
  if (path) return { policy: readPolicyFile(path), source: path };
  return { policy: evaluationPolicy, source: 'built-in evaluation policy' };
}

export type PolicyInput = z.input<typeof PolicySchema>;
