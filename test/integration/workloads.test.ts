// Workloads and models as managed policy describes them, through the real core
// and the real llama.cpp engine on the generated test model: who may use which
// workload, and how a workload's limits and a model's load settings reach
// node-llama-cpp.
import { writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HeadlessCore } from '../../src/main/core/headless.js';
import type { Core } from '../../src/main/core/index.js';
import { createLlamaEngine } from '../../src/main/inference/index.js';
import type { ChatTemplate } from '../../src/main/policy/index.js';
import type { Role } from '../../src/shared/roles.js';
import { call, callError, EVAL_USER, nextEvent, startWatchedCore } from '../support/core.js';
import { answer, auditEvents, policyDocument as policyDocumentFor, startWithPolicy, WORKLOADS, type WorkloadInput } from '../support/workload-core.js';
import { cleanupsAfterEach } from '../support/temp.js';
import { approvedTestModel } from '../support/test-model.js';

let model: { path: string; sha256: string };
const cleanups = cleanupsAfterEach();

beforeAll(async () => {
  model = await approvedTestModel();
});

function policyDocument(roles: Role[], options: Parameters<typeof policyDocumentFor>[2] = {}) {
  return policyDocumentFor(model, roles, options);
}

function start(roles: Role[], options: Parameters<typeof startWithPolicy>[3] = {}): Promise<HeadlessCore> {
  return startWithPolicy(cleanups, model, roles, options);
}

describe('workloads by role', () => {
  it("model.status lists only the workloads the user's roles allow, with their descriptions", async () => {
    const clinician = await start(['clinician']);
    expect((await call(clinician, 'model.status', {})).workloads).toEqual([
      {
        id: 'notes',
        name: 'Clinical notes',
        description: 'Draft and summarise clinical notes.',
        modelId: 'test',
        copyAllowed: true,
        availability: expect.objectContaining({ state: expect.any(String) }),
      },
    ]);
    const researcher = await start(['researcher']);
    expect((await call(researcher, 'model.status', {})).workloads.map((w) => w.id)).toEqual(['research', 'notes']);
    // A compliance officer may read the status but chats with nothing.
    const officer = await start(['compliance']);
    expect((await call(officer, 'model.status', {})).workloads).toEqual([]);
  });

  it("a clinician's default is the first workload they may use; one they may not is refused, audited, and nothing is created", async () => {
    const core = await start(['clinician']);
    const session = await call(core, 'chat.create', {});
    expect(session.workloadId).toBe('notes');
    expect(auditEvents(core).at(-1)).toMatchObject({ action: 'session.create', outcome: 'success', workload: 'notes' });

    expect(await callError(core, 'chat.create', { workloadId: 'research' })).toEqual({
      code: 'forbidden',
      message: 'The workload "Research questions" is not open to your roles (clinician); it is for researcher.',
    });
    expect(auditEvents(core).at(-1)).toEqual({ action: 'session.create', outcome: 'failure', reason: 'forbidden', workload: 'research', detail: { allowed_roles: 'researcher' } });
    expect((await call(core, 'chat.list', {})).map((s) => s.workloadId)).toEqual(['notes']);
    // A workload policy does not have is not found, not forbidden.
    expect((await callError(core, 'chat.create', { workloadId: 'no-such' })).code).toBe('not_found');

    // The researcher gets the researchers' workload by default, the first in policy order.
    const researcher = await start(['researcher']);
    expect((await call(researcher, 'chat.create', {})).workloadId).toBe('research');
    expect((await call(researcher, 'chat.create', { workloadId: 'notes' })).workloadId).toBe('notes');
  });

  it('a user whose roles allow no workload is told so, and the refusal is audited', async () => {
    const core = await start(['clinician'], { workloads: [WORKLOADS[0]!] });
    expect((await call(core, 'model.status', {})).workloads).toEqual([]);
    const error = await callError(core, 'chat.create', {});
    expect(error).toEqual({
      code: 'forbidden',
      message: 'None of the workloads set by policy is open to your roles (clinician), so you cannot start a session. Ask IT to give your role a workload.',
    });
    expect(auditEvents(core).at(-1)).toEqual({ action: 'session.create', outcome: 'failure', reason: 'no_workload' });
    expect(await call(core, 'chat.list', {})).toEqual([]);
  });

  it('when policy takes a workload away from a role, its open sessions take no more prompts', async () => {
    const { core, policyFile, dispose } = await startWatchedCore(JSON.stringify(policyDocument(['clinician'])));
    cleanups.push(dispose);
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    const session = await call(core, 'chat.create', { workloadId: 'notes' });

    const changed = nextEvent(core, 'policy.changed', () => true, 10_000);
    writeFileSync(policyFile, JSON.stringify(policyDocument(['clinician'], { workloads: [WORKLOADS[0]!, { ...WORKLOADS[1]!, roles: ['researcher'] }] })));
    await changed;
    expect((await call(core, 'model.status', {})).workloads).toEqual([]);
    expect(await callError(core, 'chat.send', { sessionId: session.id, text: 'Summarise this note.' })).toEqual({
      code: 'forbidden',
      message: 'The workload "Clinical notes" of this session is no longer open to your roles (clinician). Start a new session — nothing was sent.',
    });
    expect(auditEvents(core).at(-1)).toMatchObject({ action: 'ai.prompt', outcome: 'failure', reason: 'forbidden', workload: 'notes', sessionId: session.id });
    expect((await call(core, 'chat.open', { sessionId: session.id })).messages).toEqual([]);
  });
});

describe("a workload's generation settings", () => {
  it('maxTokens caps the answer, and inference.maxResponseTokens caps maxTokens; each prompt names workload, model and hash', async () => {
    const core = await start(['clinician'], {
      inference: { maxResponseTokens: 40 },
      workloads: [
        { id: 'brief', name: 'Brief', model: 'test', maxTokens: 5, temperature: 0 },
        { id: 'capped', name: 'Capped by policy', model: 'test', maxTokens: 500, temperature: 0 },
        { id: 'default', name: 'Policy limit', model: 'test', temperature: 0 },
      ],
    });
    const prompt = 'Write a long discharge summary for a patient admitted with pneumonia.';
    const lengths: Record<string, number> = {};
    for (const workloadId of ['brief', 'capped', 'default']) {
      const session = await call(core, 'chat.create', { workloadId });
      lengths[workloadId] = (await answer(core, session.id, prompt)).tokens;
      const promptEvent = auditEvents(core).findLast((e) => e.action === 'ai.prompt' && e.sessionId === session.id);
      expect(promptEvent).toMatchObject({ outcome: 'success', workload: workloadId, model: { id: 'test', sha256: model.sha256 } });
    }
    // The random-weight model never stops by itself this early, so each answer runs to its limit.
    expect(lengths).toEqual({ brief: 5, capped: 40, default: 40 });
  });

  it('temperature 0 gives the same answer to the same prompt every time; a high temperature samples another', async () => {
    const core = await start(['clinician'], {
      workloads: [
        { id: 'greedy', name: 'Deterministic', model: 'test', maxTokens: 24, temperature: 0 },
        { id: 'creative', name: 'Creative', model: 'test', maxTokens: 24, temperature: 2 },
      ],
    });
    const prompt = 'List three causes of chest pain.';
    const ask = async (workloadId: string) => (await answer(core, (await call(core, 'chat.create', { workloadId })).id, prompt)).text;
    const greedy = [await ask('greedy'), await ask('greedy'), await ask('greedy')];
    expect(greedy[0]!.length).toBeGreaterThan(0);
    expect(new Set(greedy).size).toBe(1);
    // At temperature 2 the 24 tokens are sampled, not the most likely ones. (Two sampled answers are not
    // compared with each other: node-llama-cpp seeds its sampler with the current second when none is given.)
    expect(await ask('creative')).not.toBe(greedy[0]);
  });

  it("deterministic mode (policy) overrides a workload's temperature: the same answer across seconds, equal to the greedy one", async () => {
    const workloads: WorkloadInput[] = [
      { id: 'greedy', name: 'Deterministic', model: 'test', maxTokens: 24, temperature: 0 },
      { id: 'creative', name: 'Creative', model: 'test', maxTokens: 24, temperature: 2 },
    ];
    const prompt = 'List three causes of chest pain.';
    const askIn = async (core: Core, workloadId: string) => (await answer(core, (await call(core, 'chat.create', { workloadId })).id, prompt)).text;
    const reference = await askIn(await start(['clinician'], { workloads }), 'greedy');
    const core = await start(['clinician'], { workloads, inference: { deterministic: true } });
    const first = await askIn(core, 'creative');
    // node-llama-cpp would otherwise seed by the current second: cross one.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await askIn(core, 'creative')).toBe(first);
    expect(first).toBe(reference);
  });

  it('gpuLayers 0 loads the model on the CPU, and model.load records the device and the layers offloaded', async () => {
    const core = await start(['clinician'], { model: { gpuLayers: 0 } });
    const session = await call(core, 'chat.create', {});
    await answer(core, session.id, 'Hello.');
    expect((await call(core, 'model.status', {})).device).toMatchObject({ kind: 'cpu' });
    expect(auditEvents(core).find((e) => e.action === 'model.load')).toMatchObject({
      outcome: 'success',
      model: { id: 'test', sha256: model.sha256 },
      detail: { device: 'cpu', gpu_layers: 0, chat_template: 'auto' },
    });
  });
});

describe("the model's load settings in the engine", () => {
  it('gpuLayers 0 keeps the model on the CPU even where "auto" offloads it to a GPU', async () => {
    const engine = createLlamaEngine();
    cleanups.push(() => engine.unload());
    const auto = await engine.load({ id: 'test', path: model.path, contextSize: 1024 }, { gpu: 'auto' });
    const cpu = await engine.load({ id: 'test', path: model.path, contextSize: 1024, gpuLayers: 0 }, { gpu: 'auto' });
    expect(cpu).toMatchObject({ gpuLayers: 0, device: { kind: 'cpu' } });
    // Where this runs on a GPU machine, 'auto' really offloaded, so the 0 above is the setting at work.
    if (auto.device.kind !== 'cpu') expect(auto.gpuLayers).toBeGreaterThan(0);
    else expect(auto.gpuLayers).toBe(0);
  });

  it('chatTemplate chooses the chat wrapper the prompt is written in; a changed setting reloads the model', async () => {
    const engine = createLlamaEngine();
    cleanups.push(() => engine.unload());
    const promptTokens = async (chatTemplate: ChatTemplate | undefined) => {
      await engine.load({ id: 'test', path: model.path, contextSize: 1024, chatTemplate }, { gpu: 'off' });
      const result = await engine.generate({
        chatId: `chat-${chatTemplate ?? 'auto'}`,
        systemPrompt: 'You are brief.',
        history: [],
        prompt: 'Hello.',
        maxTokens: 1,
        signal: new AbortController().signal,
        onText: () => undefined,
      });
      return result.promptTokens;
    };
    const counts = { auto: await promptTokens(undefined), llama3: await promptTokens('llama3'), mistral: await promptTokens('mistral'), gemma: await promptTokens('gemma') };
    // Each wrapper frames the same turn with its own markers, so the model reads a different number of tokens.
    expect(new Set(Object.values(counts)).size).toBe(4);
    expect(await promptTokens('llama3')).toBe(counts.llama3);
  });
});
