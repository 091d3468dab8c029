// A real headless core on a managed-style policy that lists the generated test
// model by hash, with workloads, for the inference integration tests; and
// readers for what it audited.
import { expect } from 'vitest';
import { createHeadlessCore, type HeadlessCore } from '../../src/main/core/headless.js';
import type { Core } from '../../src/main/core/index.js';
import type { InferenceEngine } from '../../src/main/inference/index.js';
import { evaluationPolicy, policyFromDocument, type Policy } from '../../src/main/policy/index.js';
import type { Role } from '../../src/shared/roles.js';
import { call, EVAL_USER, nextEvent } from './core.js';
import { tempDir } from './temp.js';

export type Inference = Policy['inference'];
export type WorkloadInput = Omit<Inference['workloads'][number], 'roles' | 'allowCopy'> & { roles?: Role[]; allowCopy?: boolean };
export type ModelInput = Omit<Inference['models'][number], 'gpuLayers' | 'contextSize'> & Partial<Pick<Inference['models'][number], 'gpuLayers' | 'contextSize'>>;

/** Two workloads on the test model; the researchers' one comes first, so a clinician's default must skip it. */
export const WORKLOADS: WorkloadInput[] = [
  { id: 'research', name: 'Research questions', description: 'Questions about de-identified cohorts.', model: 'test', roles: ['researcher'] },
  { id: 'notes', name: 'Clinical notes', description: 'Draft and summarise clinical notes.', model: 'test' },
];

/** The evaluation policy with the test model listed by hash, these workloads, and the evaluation account holding `roles`. */
export function policyDocument(
  model: { path: string; sha256: string },
  roles: Role[],
  options: { workloads?: WorkloadInput[]; model?: Partial<ModelInput>; models?: ModelInput[]; inference?: Partial<Inference>; storage?: Partial<Policy['storage']> } = {},
) {
  const document = structuredClone(evaluationPolicy) as unknown as Record<string, unknown> & { inference: Record<string, unknown>; storage: Record<string, unknown> };
  document.roles = { evaluationAccount: roles };
  document.storage = { ...document.storage, ...options.storage };
  document.inference = {
    ...document.inference,
    ...options.inference,
    models: options.models ?? [{ id: 'test', name: 'Test model', path: model.path, sha256: model.sha256, contextSize: 2048, ...options.model }],
    workloads: options.workloads ?? WORKLOADS,
  };
  return document;
}

/** A signed-in core on that policy; what it leaves behind is added to `cleanups`. */
export async function startWithPolicy(
  cleanups: (() => unknown)[],
  model: { path: string; sha256: string },
  roles: Role[],
  options: Parameters<typeof policyDocument>[2] & { dataDir?: string; engine?: InferenceEngine; now?: () => number; retentionSweepMs?: number } = {},
): Promise<HeadlessCore> {
  let dataDir = options.dataDir;
  if (!dataDir) {
    const dir = tempDir();
    cleanups.push(dir.remove);
    dataDir = dir.path;
  }
  const core = await createHeadlessCore({
    dataDir,
    policy: policyFromDocument(policyDocument(model, roles, options), 'test policy'),
    log: () => undefined,
    ...(options.engine ? { engine: options.engine } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.retentionSweepMs ? { retentionSweepMs: options.retentionSweepMs } : {}),
  });
  cleanups.push(() => core.close());
  if ((await call(core, 'app.status', {})).needsFirstAccount) await call(core, 'auth.createFirstAccount', EVAL_USER);
  else await call(core, 'auth.signIn', { username: EVAL_USER.username, password: EVAL_USER.password });
  return core;
}

export interface AuditEntry {
  action: string;
  outcome: string;
  reason?: string;
  workload?: string;
  sessionId?: string;
  model?: { id: string; sha256?: string };
  response?: { tokens?: number };
  detail?: Record<string, unknown>;
}

export function auditEvents(core: Core): AuditEntry[] {
  return (core.store.writer.prepare('SELECT record FROM audit_events ORDER BY seq').all() as { record: string }[]).map((row) => {
    const record = JSON.parse(row.record) as {
      event: { action: string; outcome: string; reason?: string };
      enclave?: { workload?: string; session_id?: string; model?: { id: string; sha256?: string }; detail?: Record<string, unknown> };
      ai?: { response?: { tokens?: number } };
    };
    return {
      action: record.event.action,
      outcome: record.event.outcome,
      ...(record.event.reason ? { reason: record.event.reason } : {}),
      ...(record.enclave?.workload ? { workload: record.enclave.workload } : {}),
      ...(record.enclave?.session_id ? { sessionId: record.enclave.session_id } : {}),
      ...(record.enclave?.model ? { model: record.enclave.model } : {}),
      ...(record.ai?.response ? { response: record.ai.response } : {}),
      ...(record.enclave?.detail ? { detail: record.enclave.detail } : {}),
    };
  });
}

/** Sends a prompt and waits for the whole answer; returns its text and the token count the audit recorded. */
export async function answer(core: Core, sessionId: string, text: string): Promise<{ text: string; tokens: number }> {
  const done = nextEvent(core, 'chat.done', (d) => d.sessionId === sessionId);
  await call(core, 'chat.send', { sessionId, text });
  const result = await done;
  expect(result).toMatchObject({ status: 'complete', error: null });
  const audited = auditEvents(core).findLast((e) => e.action === 'ai.response' && e.sessionId === sessionId);
  return { text: result.message!.content, tokens: audited!.response!.tokens! };
}
