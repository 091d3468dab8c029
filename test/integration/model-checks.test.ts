// The allowed models' files are checked in the background, one bad file never
// stops the others, and a check is cached yet redone: through the real core,
// the encrypted store and llama.cpp on generated models.
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, mkdirSync, readFileSync, realpathSync, renameSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/main/cli/index.js';
import { createCore, type Core } from '../../src/main/core/index.js';
import { createLlamaEngine } from '../../src/main/inference/engine.js';
import type { InferenceEngine } from '../../src/main/inference/engine-types.js';
import { policyFromDocument } from '../../src/main/policy/index.js';
import type { ModelSummary } from '../../src/shared/api.js';
import { writeTestModel } from '../../src/main/inference/gguf/test-model.js';
import { sha256File } from '../../src/main/inference/model-file.js';
import { call, callError, EVAL_USER, nextEvent, startWatchedCore } from '../support/core.js';
import { cleanupsAfterEach, tempDir } from '../support/temp.js';
import { approvedTestModel } from '../support/test-model.js';
import { answer, auditEvents, policyDocument, startWithPolicy, type ModelInput, type WorkloadInput } from '../support/workload-core.js';

let model: { path: string; sha256: string };
const cleanups = cleanupsAfterEach();

beforeAll(async () => {
  model = await approvedTestModel();
});

async function settledModels(core: Core): Promise<ModelSummary[]> {
  for (let i = 0; i < 400; i++) {
    const { models } = await call(core, 'model.status', {});
    if (models.every((m) => m.availability.state !== 'checking' && m.availability.reason !== 'cached')) return models;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('the model checks did not finish');
}

function byId(models: ModelSummary[]): Record<string, ModelSummary['availability']> {
  return Object.fromEntries(models.map((m) => [m.id, m.availability]));
}

describe('checking the allowed model files', () => {
  it('refuses a missing, a not-GGUF, a truncated and a swapped file, each named with its reason and audited once; the good one still answers', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const notGguf = join(dir.path, 'notes.gguf');
    writeFileSync(notGguf, 'This is a text file, renamed.\n');
    const truncated = join(dir.path, 'truncated.gguf');
    copyFileSync(model.path, truncated);
    truncateSync(truncated, Math.floor(statSync(truncated).size / 2));
    const swapped = join(dir.path, 'swapped.gguf');
    const bytes = readFileSync(model.path);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0x07;
    writeFileSync(swapped, bytes);
    const models: ModelInput[] = [
      { id: 'good', name: 'Good model', path: model.path, sha256: model.sha256 },
      { id: 'missing', name: 'Missing model', path: join(dir.path, 'nowhere.gguf'), sha256: model.sha256 },
      { id: 'text', name: 'Text file', path: notGguf, sha256: model.sha256 },
      { id: 'cut', name: 'Cut-off model', path: truncated, sha256: model.sha256 },
      { id: 'swapped', name: 'Swapped model', path: swapped, sha256: model.sha256 },
    ];
    const workloads: WorkloadInput[] = models.map((m) => ({ id: `on-${m.id}`, name: `On ${m.name}`, model: m.id }));
    const core = await startWithPolicy(cleanups, model, ['clinician'], { models, workloads });

    const settled = await settledModels(core);
    const states = byId(settled);
    expect(states['good']).toEqual({ state: 'ready', reason: null, message: null, progress: null });
    // The check read the file's size and saw that it is the random-weight test model (the UI then says its output is noise).
    expect(settled.find((m) => m.id === 'good')).toMatchObject({ sizeBytes: statSync(model.path).size, isTestModel: true });
    expect(states['missing']).toMatchObject({ state: 'rejected', reason: 'model_file_missing', message: expect.stringMatching(/^The model "Missing model" was refused: its file is missing/) });
    expect(states['text']).toMatchObject({ state: 'rejected', reason: 'model_corrupt', message: expect.stringMatching(/^The model "Text file" was refused: its file is not a whole GGUF model/) });
    expect(states['cut']).toMatchObject({ state: 'rejected', reason: 'model_corrupt', message: expect.stringContaining('is truncated') });
    expect(states['swapped']).toMatchObject({ state: 'rejected', reason: 'hash_mismatch', message: expect.stringContaining('"Swapped model" was refused: its file') });

    const rejects = auditEvents(core).filter((e) => e.action === 'model.reject');
    expect(rejects.map((e) => [e.model?.id, e.reason]).sort()).toEqual([
      ['cut', 'model_corrupt'],
      ['missing', 'model_file_missing'],
      ['swapped', 'hash_mismatch'],
      ['text', 'model_corrupt'],
    ]);
    expect(rejects.find((e) => e.model?.id === 'swapped')?.detail).toMatchObject({ file: swapped, expected_sha256: model.sha256 });

    // A workload on a refused model cannot be started, with the reason; the refusal is audited.
    const refused = await callError(core, 'chat.create', { workloadId: 'on-swapped' });
    expect(refused).toMatchObject({ code: 'model_not_allowed', message: expect.stringContaining('"Swapped model" was refused') });
    expect(auditEvents(core).at(-1)).toMatchObject({ action: 'session.create', outcome: 'failure', reason: 'model_rejected', workload: 'on-swapped' });

    // The good model is untouched by the others.
    const session = await call(core, 'chat.create', { workloadId: 'on-good' });
    expect((await answer(core, session.id, 'Summarise the note.')).text.length).toBeGreaterThan(0);
    // Asking again does not audit the same refusal again.
    await callError(core, 'chat.create', { workloadId: 'on-missing' });
    expect(auditEvents(core).filter((e) => e.action === 'model.reject')).toHaveLength(4);
  });

  it('a file not deployed yet is refused with its reason, and taken at the next session once IT deploys it', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const later = join(dir.path, 'later.gguf');
    const core = await startWithPolicy(cleanups, model, ['clinician'], {
      models: [{ id: 'later', name: 'Late model', path: later, sha256: model.sha256 }],
      workloads: [{ id: 'notes', name: 'Notes', model: 'later' }],
    });
    // Signed in (startWithPolicy did) with the model refused: the file is not deployed yet.
    expect(byId(await settledModels(core))['later']).toMatchObject({ state: 'rejected', reason: 'model_file_missing' });
    expect((await callError(core, 'chat.create', {})).code).toBe('model_not_allowed');
    copyFileSync(model.path, later);
    // Starting a session looks at a refused file again, and now it is the allowed one.
    const session = await call(core, 'chat.create', {});
    expect((await answer(core, session.id, 'Hello.')).text.length).toBeGreaterThan(0);
    expect(byId((await call(core, 'model.status', {})).models)['later']).toMatchObject({ state: 'ready' });
  });

  it('a file checked before is used again from the cached hash, which is re-checked in the background: a change its stamp hides is caught and audited', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const copy = join(dir.path, 'model.gguf');
    copyFileSync(model.path, copy);
    const dataDir = join(dir.path, 'data');
    const options = { dataDir, models: [{ id: 'cached', name: 'Cached model', path: copy, sha256: model.sha256 }], workloads: [{ id: 'notes', name: 'Notes', model: 'cached' }] };
    const first = await startWithPolicy(cleanups, model, ['clinician'], options);
    expect(byId(await settledModels(first))['cached']).toMatchObject({ state: 'ready' });
    await first.close();

    // Started again: the cached check makes the model usable without waiting for a hash.
    const second = await startWithPolicy(cleanups, model, ['clinician'], options);
    const session = await call(second, 'chat.create', {});
    expect((await answer(second, session.id, 'Hello.')).text.length).toBeGreaterThan(0);
    expect(auditEvents(second).filter((e) => e.action === 'model.reject')).toHaveLength(0);
    // The file is altered without its stamp showing it: simulated by giving the cache row the
    // altered file's stamp with the allowed hash (no user-space tool can do this to a real stamp).
    const altered = readFileSync(copy);
    altered[altered.length - 1] = altered[altered.length - 1]! ^ 0x55;
    writeFileSync(copy, altered);
    const stamp = statSync(copy, { bigint: true });
    second.store.writer
      .prepare('UPDATE model_hash_cache SET size_bytes = ?, mtime_ms = ?, ctime_ms = ?, inode = ?, sha256 = ? WHERE path = ?')
      .run(Number(stamp.size), Number(stamp.mtimeMs), Number(stamp.ctimeMs), `${stamp.dev}:${stamp.ino}`, model.sha256, copy);
    await second.close();

    // Accepted from the cache at start; the background re-hash then finds the change and refuses it.
    const third = await startWithPolicy(cleanups, model, ['clinician'], options);
    expect(byId(await settledModels(third))['cached']).toMatchObject({ state: 'rejected', reason: 'hash_mismatch' });
    expect(auditEvents(third).filter((e) => e.action === 'model.reject')).toMatchObject([{ reason: 'hash_mismatch', model: { id: 'cached' } }]);
    expect((await callError(third, 'chat.create', {})).code).toBe('model_not_allowed');
  });

  it('a model swapped in policy is checked while the old one serves, and used from the next session, audited as policy.apply and model.load', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    // The replacement: another generated model (another seed, so another hash), deployed next to the first.
    const replacement = join(dir.path, 'clinical-v2.gguf');
    await writeTestModel(replacement, { seed: 2 });
    const v2 = { path: replacement, sha256: await sha256File(replacement) };
    const workloads: WorkloadInput[] = [{ id: 'notes', name: 'Notes', model: 'clinical' }];
    const policyWith = (file: { path: string; sha256: string }) =>
      JSON.stringify(policyDocument(model, ['clinician'], { models: [{ id: 'clinical', name: 'Clinical', path: file.path, sha256: file.sha256 }], workloads }));
    const { core, policyFile, dispose } = await startWatchedCore(policyWith(model));
    cleanups.push(dispose);
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    const before = await call(core, 'chat.create', {});
    await answer(core, before.id, 'Hello.');

    const applied = nextEvent(core, 'policy.changed');
    writeFileSync(policyFile, policyWith(v2));
    await applied;
    expect(auditEvents(core).findLast((e) => e.action === 'policy.apply')).toMatchObject({ outcome: 'success' });
    expect((await settledModels(core)).map((m) => [m.id, m.sha256, m.availability.state])).toEqual([['clinical', v2.sha256, 'ready']]);

    const after = await call(core, 'chat.create', {});
    await answer(core, after.id, 'Hello again.');
    const loads = auditEvents(core).filter((e) => e.action === 'model.load');
    expect(loads.map((e) => e.model)).toEqual([
      { id: 'clinical', sha256: model.sha256 },
      { id: 'clinical', sha256: v2.sha256 },
    ]);
    expect(auditEvents(core).findLast((e) => e.action === 'ai.prompt')).toMatchObject({ sessionId: after.id, model: { id: 'clinical', sha256: v2.sha256 } });
  });
});

/** The real engine, with `beforeLoad` run between the core's check and llama.cpp opening the file: where a swap would land. */
function engineWithHook(beforeLoad: (path: string) => void): { engine: InferenceEngine; loadedPaths: string[] } {
  const real = createLlamaEngine();
  const loadedPaths: string[] = [];
  const engine: InferenceEngine = {
    ...real,
    load: (model, options) => {
      loadedPaths.push(model.path);
      beforeLoad(model.path);
      return real.load(model, options);
    },
  };
  return { engine, loadedPaths };
}

describe('what loads is what was checked', () => {
  it.each([
    // Deployment tools swap files by rename: another inode.
    { how: 'renamed over it', swap: (other: string, allowed: string) => renameSync(other, allowed), changes: 'replaced by another file' },
    // The same inode, other bytes (the same size: another seed of the same shape): the times show it.
    { how: 'rewritten in place', swap: (other: string, allowed: string) => writeFileSync(allowed, readFileSync(other)), changes: 'modification time, change time' },
  ])('a file $how after its check, before llama.cpp opens it, is unloaded, refused and audited, and nothing is answered', async ({ swap, changes }) => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const allowed = join(dir.path, 'clinical.gguf');
    copyFileSync(model.path, allowed);
    // Another valid model (another seed): llama.cpp loads it as happily as the allowed one.
    const other = join(dir.path, 'other.gguf');
    await writeTestModel(other, { seed: 2 });
    let swapped = false;
    const { engine } = engineWithHook(() => {
      if (swapped) return;
      swapped = true;
      swap(other, allowed);
    });
    const core = await startWithPolicy(cleanups, model, ['clinician'], {
      engine,
      models: [{ id: 'clinical', name: 'Clinical', path: allowed, sha256: model.sha256 }],
      workloads: [{ id: 'notes', name: 'Notes', model: 'clinical' }],
    });
    expect(byId(await settledModels(core))['clinical']).toMatchObject({ state: 'ready' });

    const session = await call(core, 'chat.create', {});
    const done = nextEvent(core, 'chat.done', (d) => d.sessionId === session.id);
    await call(core, 'chat.send', { sessionId: session.id, text: 'Summarise the note.' });
    const result = await done;
    expect(swapped).toBe(true);
    expect(result).toMatchObject({
      status: 'failed',
      error: { code: 'model_not_allowed', message: expect.stringContaining('"Clinical" was refused: the file changed while it was being loaded') },
    });
    expect(result.message?.content ?? '').toBe('');

    const status = await call(core, 'model.status', {});
    expect(status.loadedModelId).toBeNull();
    expect(byId(status.models)['clinical']).toMatchObject({ state: 'rejected', reason: 'model_file_changed', message: expect.stringContaining('the file changed while it was being loaded') });
    const events = auditEvents(core);
    expect(events.filter((e) => e.action === 'model.load')).toHaveLength(0);
    const reject = events.find((e) => e.action === 'model.reject');
    expect(reject).toMatchObject({ outcome: 'failure', reason: 'model_file_changed', model: { id: 'clinical' } });
    // The audit does not name the allowed hash as what was loaded: what llama.cpp read is not known.
    expect(reject?.model?.sha256).toBeUndefined();
    expect(reject?.detail).toMatchObject({ file: allowed, expected_sha256: model.sha256, changes: expect.stringContaining(changes) });
    expect(events.findLast((e) => e.action === 'ai.response')).toMatchObject({ outcome: 'failure', reason: 'model_not_allowed' });

    // The next prompt looks at the file again and finds the other model's hash.
    const refused = await callError(core, 'chat.send', { sessionId: session.id, text: 'Again.' });
    expect(refused).toMatchObject({ code: 'model_not_allowed', message: expect.stringContaining('is not the one policy allows') });
  });

  it('llama.cpp is given the checked file itself: a symbolic link retargeted after the check does not redirect the load', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const allowed = join(dir.path, 'clinical-v1.gguf');
    copyFileSync(model.path, allowed);
    const other = join(dir.path, 'other.gguf');
    await writeTestModel(other, { seed: 2 });
    const link = join(dir.path, 'current.gguf');
    symlinkSync(allowed, link);
    let retargeted = false;
    const { engine, loadedPaths } = engineWithHook(() => {
      if (retargeted) return;
      retargeted = true;
      const next = join(dir.path, 'next.gguf');
      symlinkSync(other, next);
      renameSync(next, link);
    });
    const core = await startWithPolicy(cleanups, model, ['clinician'], {
      engine,
      models: [{ id: 'clinical', name: 'Clinical', path: link, sha256: model.sha256 }],
      workloads: [{ id: 'notes', name: 'Notes', model: 'clinical' }],
    });
    expect(byId(await settledModels(core))['clinical']).toMatchObject({ state: 'ready' });
    const session = await call(core, 'chat.create', {});
    expect((await answer(core, session.id, 'Hello.')).text.length).toBeGreaterThan(0);
    expect(retargeted).toBe(true);
    // What llama.cpp opened is the allowed file, whatever the link says by then.
    expect(loadedPaths).toEqual([realpathSync(allowed)]);
    expect(statSync(loadedPaths[0]!).ino).toBe(statSync(allowed).ino);
    expect(
      auditEvents(core)
        .filter((e) => e.action === 'model.load')
        .map((e) => e.model),
    ).toEqual([{ id: 'clinical', sha256: model.sha256 }]);

    // A new session's prompt checks the path again: it now leads to another file, refused by its hash.
    const next = await call(core, 'chat.create', {});
    expect(await callError(core, 'chat.send', { sessionId: next.id, text: 'Hello again.' })).toMatchObject({ code: 'model_not_allowed' });
    expect(auditEvents(core).findLast((e) => e.action === 'model.reject')).toMatchObject({ reason: 'hash_mismatch', model: { id: 'clinical' } });
  });
});

describe('under managed policy, model files only administrators can change', () => {
  function managedDocument(path: string): Record<string, unknown> {
    return {
      mode: 'managed',
      institution: { name: 'Test Hospital' },
      inference: {
        models: [{ id: 'clinical', name: 'Clinical', path, sha256: model.sha256, contextSize: 512 }],
        workloads: [{ id: 'notes', name: 'Notes', model: 'clinical' }],
      },
    };
  }

  async function rejectionsOf(core: Core): Promise<ReturnType<typeof auditEvents>> {
    for (let i = 0; i < 400; i++) {
      const rejects = auditEvents(core).filter((e) => e.action === 'model.reject');
      if (rejects.length > 0) return rejects;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return [];
  }

  async function doctorModels(policyPath: string): Promise<{ name: string; status: string; detail: string }[]> {
    let out = '';
    await runCli(['doctor', '--policy', policyPath, '--json'], { out: (line) => (out += line), err: () => undefined });
    return (JSON.parse(out) as { checks: { name: string; status: string; detail: string }[] }).checks.filter((c) => c.name.startsWith('model '));
  }

  it('refuses a model in a group-writable folder, naming the folder and its mode, audited as model.reject; doctor reports it', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const folder = join(dir.path, 'models');
    mkdirSync(folder);
    const file = join(folder, 'clinical.gguf');
    copyFileSync(model.path, file);
    chmodSync(file, 0o644);
    // Mode bits set here, not access tried: these tests run as root, whom permissions do not stop.
    chmodSync(folder, 0o775);
    // A group of non-administrators (gid 0, root's group, may write).
    chownSync(folder, -1, 4242);
    const core = await createCore({
      dataDir: join(dir.path, 'data'),
      databaseKey: randomBytes(32),
      policy: policyFromDocument(managedDocument(file), 'managed test policy'),
      version: 'test',
      log: () => undefined,
    });
    cleanups.push(() => core.close());
    const [reject, ...more] = await rejectionsOf(core);
    expect(more).toHaveLength(0);
    expect(reject).toMatchObject({ outcome: 'failure', reason: 'model_file_unprotected', model: { id: 'clinical' }, detail: { file } });
    // Refused before it was hashed: the record names no hash for what is there.
    expect(reject?.model?.sha256).toBeUndefined();

    const policyPath = join(dir.path, 'policy.json');
    writeFileSync(policyPath, JSON.stringify(managedDocument(file)));
    const checks = await doctorModels(policyPath);
    expect(checks.find((c) => c.name === 'model clinical permissions')).toEqual({
      name: 'model clinical permissions',
      status: 'fail',
      detail: `the folder ${folder} can be written by its group (group id 4242) (mode 0775) (inference.models[0].path); under managed policy Enclave refuses "Clinical" until only administrators can change the file and every folder above it`,
    });
    // Put right: the doctor passes it.
    chmodSync(folder, 0o755);
    expect((await doctorModels(policyPath)).find((c) => c.name === 'model clinical permissions')).toMatchObject({ status: 'ok' });
    chmodSync(file, 0o664);
    chownSync(file, -1, 4242);
    expect((await doctorModels(policyPath)).find((c) => c.name === 'model clinical permissions')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/^the file \S+clinical\.gguf can be written by its group \(group id 4242\) \(mode 0664\)/),
    });
  });

  it('evaluation mode does not require it: the same group-writable folder serves', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const folder = join(dir.path, 'models');
    mkdirSync(folder);
    const file = join(folder, 'clinical.gguf');
    copyFileSync(model.path, file);
    chmodSync(folder, 0o775);
    chownSync(folder, -1, 4242);
    const core = await startWithPolicy(cleanups, model, ['clinician'], {
      models: [{ id: 'clinical', name: 'Clinical', path: file, sha256: model.sha256 }],
      workloads: [{ id: 'notes', name: 'Notes', model: 'clinical' }],
    });
    expect(byId(await settledModels(core))['clinical']).toMatchObject({ state: 'ready' });
  });
});
