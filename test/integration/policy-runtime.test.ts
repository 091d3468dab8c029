// The core under managed policy: the locked policy-error state, watched
// changes applied without a restart, refused changes keeping the last valid
// policy, and every outcome audited as policy.apply.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Core } from '../../src/main/core/index.js';
import type { PolicyInput } from '../../src/main/policy/index.js';
import { call, callError, EVAL_USER, nextEvent, startWatchedCore } from '../support/core.js';
import { cleanupsAfterEach } from '../support/temp.js';

const cleanups = cleanupsAfterEach();

/** A watched core (test/support/core.ts), closed and removed after the test. */
async function startWatched(policyText: string): Promise<{ core: Core; policyFile: string }> {
  const started = await startWatchedCore(policyText);
  cleanups.push(started.dispose);
  return started;
}

function policyEvents(core: Core): { outcome: string; reason?: string; detail: Record<string, unknown> }[] {
  return (core.store.writer.prepare('SELECT record FROM audit_events ORDER BY seq').all() as { record: string }[])
    .map((r) => JSON.parse(r.record) as { event: { action: string; outcome: string; reason?: string }; enclave?: { detail?: Record<string, unknown> } })
    .filter((r) => r.event.action === 'policy.apply')
    .map((r) => ({ outcome: r.event.outcome, ...(r.event.reason ? { reason: r.event.reason } : {}), detail: r.enclave?.detail ?? {} }));
}

type EvaluationFile = PolicyInput & { inference: NonNullable<PolicyInput['inference']> & { workloads: { id: string; name: string; model: string | null }[] } };
const evaluationFile = JSON.parse(readFileSync(join(import.meta.dirname, '../../resources/policy/evaluation.json'), 'utf8')) as EvaluationFile;

/** The shipped evaluation policy file, changed as a test needs. */
const evaluationText = (changes: (p: EvaluationFile) => void = () => undefined): string => {
  const policy = structuredClone(evaluationFile);
  changes(policy);
  return JSON.stringify(policy, null, 2);
};

describe('core under managed policy', () => {
  it('an invalid policy at start: locked in the policy-error state, naming key and source, audited, nothing else works', async () => {
    const { core, policyFile } = await startWatched(JSON.stringify({ mode: 'managed', session: { idleLockSeconds: 'soon' } }));
    const status = await call(core, 'app.status', {});
    expect(status.policy.state).toBe('error');
    expect(status.policy.hash).toBeNull();
    expect(status.policy.problems).toContainEqual({ key: 'session.idleLockSeconds', source: policyFile, message: expect.stringMatching(/expected number/i) });
    const refused = await callError(core, 'auth.signIn', { username: 'someone', password: 'whatever password' });
    expect(refused.code).toBe('policy_invalid');
    expect(refused.message).toMatch(/session\.idleLockSeconds/);
    expect(policyEvents(core)).toEqual([
      { outcome: 'failure', reason: 'invalid', detail: expect.objectContaining({ trigger: 'start', kept_policy_hash: null, problems: expect.stringContaining('session.idleLockSeconds') }) },
    ]);
  });

  it('when IT fixes the policy, Enclave comes out of the policy error without a restart', async () => {
    const { core, policyFile } = await startWatched('{ "mode": ');
    expect((await call(core, 'app.status', {})).policy.state).toBe('error');
    const changed = nextEvent(core, 'policy.changed', (p) => p.state === 'applied', 10_000);
    writeFileSync(policyFile, evaluationText());
    await changed;
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    expect((await call(core, 'app.status', {})).session.state).toBe('active');
    expect(policyEvents(core).map((e) => e.outcome)).toEqual(['failure', 'success']);
  });

  it('a watched change takes effect at once and is audited with the old and new hash', async () => {
    const { core, policyFile } = await startWatched(evaluationText());
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    const before = await call(core, 'app.status', {});
    expect(before.policy.state).toBe('applied');

    const changed = nextEvent(core, 'policy.changed', (p) => p.hash !== before.policy.hash, 10_000);
    writeFileSync(
      policyFile,
      evaluationText((p) => {
        p.inference.maxPromptChars = 50;
        p.inference.workloads[0]!.name = 'Discharge letters';
      }),
    );
    await changed;
    const after = await call(core, 'app.status', {});
    expect(after.limits.maxPromptChars).toBe(50);
    expect((await call(core, 'model.status', {})).workloads[0]!.name).toBe('Discharge letters');
    expect(policyEvents(core).at(-1)).toEqual({ outcome: 'success', detail: expect.objectContaining({ trigger: 'change', policy_hash: after.policy.hash, previous_policy_hash: before.policy.hash }) });
  });

  it('a broken change is refused whole: the previous policy stays, the problem is shown and audited', async () => {
    const { core, policyFile } = await startWatched(evaluationText());
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    const before = await call(core, 'app.status', {});

    const refused = nextEvent(core, 'policy.changed', (p) => p.state === 'previous', 10_000);
    // One good change and one bad one in the same edit: neither may be applied.
    writeFileSync(
      policyFile,
      evaluationText((p) => Object.assign(p.inference, { maxPromptChars: 50, maxResponseTokens: -1 })),
    );
    await refused;
    const during = await call(core, 'app.status', {});
    expect(during.policy).toMatchObject({ state: 'previous', hash: before.policy.hash, problems: [expect.objectContaining({ key: 'inference.maxResponseTokens' })] });
    expect(during.limits.maxPromptChars).toBe(before.limits.maxPromptChars);
    expect(during.session.state).toBe('active');
    expect(policyEvents(core).at(-1)).toMatchObject({ outcome: 'failure', reason: 'invalid', detail: { trigger: 'change', kept_policy_hash: before.policy.hash } });

    const fixed = nextEvent(core, 'policy.changed', (p) => p.state === 'applied', 10_000);
    writeFileSync(policyFile, evaluationText());
    await fixed;
    expect((await call(core, 'app.status', {})).policy).toEqual({ state: 'applied', hash: before.policy.hash, problems: [] });
  });

  it('policy.show gives an administrator every value with its source, and nobody signed out', async () => {
    const { core, policyFile } = await startWatched(evaluationText());
    expect((await callError(core, 'policy.show', {})).code).toBe('not_signed_in');
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    const report = await call(core, 'policy.show', {});
    expect(report.sources).toEqual([policyFile]);
    expect(report.settings.find((s) => s.key === 'session.idleLockSeconds')).toEqual({ key: 'session.idleLockSeconds', value: 900, source: policyFile, overridden: [] });
    expect(report.settings.find((s) => s.key === 'directory.timeoutSeconds')).toMatchObject({ source: 'default' });
  });
});

describe('the running core re-reading its policy', () => {
  // The watcher reads the policy sources in the core's own process: a FIFO put
  // where the policy file was must be refused at once, not block the core.
  // A writer is attached to the FIFO so that a regression (a plain read) reads
  // its broken JSON and fails the assertion instead of hanging the test.
  it.skipIf(process.platform === 'win32')('a FIFO in place of the policy file is refused as such; the previous policy stays', async () => {
    const { core, policyFile } = await startWatched(evaluationText());
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    const before = await call(core, 'app.status', {});
    const refused = nextEvent(core, 'policy.changed', (p) => p.state === 'previous', 10_000);
    rmSync(policyFile);
    execFileSync('mkfifo', [policyFile]);
    const writer = spawn('sh', ['-c', 'printf "{ \\"mode\\": " > "$1"', 'sh', policyFile], { stdio: 'ignore' });
    cleanups.push(() => writer.kill('SIGKILL'));
    await refused;
    const during = await call(core, 'app.status', {});
    expect(during.policy).toMatchObject({ state: 'previous', hash: before.policy.hash });
    expect(during.policy.problems).toContainEqual({ key: null, source: policyFile, message: 'is a FIFO (named pipe), not a regular file' });
    expect(during.session.state).toBe('active');
  });
});
