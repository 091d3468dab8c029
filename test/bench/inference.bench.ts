// What Enclave costs on top of llama.cpp: the same prompt, the same model and
// the same number of tokens, (a) straight through node-llama-cpp and (b)
// through Enclave's core with the encrypted store and the audit log on.
// Run with `npm run bench`. Each run starts a new chat (a new context) in both
// paths, so time to first token includes what a user waits for after "send".
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama, LlamaChatSession, LlamaLogLevel } from 'node-llama-cpp';
import type { CallInput, CallName, CallOutput, EventPayload } from '../../src/shared/api.js';
import { createCore, type Core } from '../../src/main/core/index.js';
import { defaultThreadCount } from '../../src/main/inference/engine.js';
import type { GpuSetting } from '../../src/main/inference/engine-types.js';
import { TEST_MODEL_SHAPES, writeTestModel, type TestModelShape } from '../../src/main/inference/gguf/test-model.js';
import { sha256File } from '../../src/main/inference/model-file.js';
import { evaluationPolicy, policyFromDocument } from '../../src/main/policy/index.js';

const MAX_TOKENS = 128;
const RUNS = 3;
const PROMPT =
  'Summarise this clinic note for the discharge letter in three sentences. The patient is a 67 year old man admitted ' +
  'with community acquired pneumonia, treated with intravenous antibiotics for three days and then oral antibiotics. ' +
  'Oxygen saturation improved from 89 percent to 96 percent on room air. Renal function stayed normal. He is to ' +
  'follow up with his physician in two weeks and repeat the chest imaging in six weeks.';

interface Run {
  ttftMs: number;
  tokens: number;
  /** Decode speed: tokens after the first over the time from the first text to the last. */
  tokensPerSecond: number;
  /** From the last text to "done": for Enclave, storing the answer with its audit record. */
  finishMs: number;
  /** Text messages: (a) node-llama-cpp's text chunks; (b) Enclave's chat.token events, each one IPC message per hop to the UI. */
  messages: number;
  /** (b) only: "send" until chat.send returned (checks, prompt and its audit record stored, answer queued), before the engine starts. */
  sendMs?: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

function summarise(runs: Run[]): Run {
  return {
    ttftMs: median(runs.map((r) => r.ttftMs)),
    tokens: median(runs.map((r) => r.tokens)),
    tokensPerSecond: median(runs.map((r) => r.tokensPerSecond)),
    finishMs: median(runs.map((r) => r.finishMs)),
    messages: median(runs.map((r) => r.messages)),
    sendMs: median(runs.map((r) => r.sendMs ?? NaN)),
  };
}

interface Clock {
  start: number;
  first: number | null;
  last: number | null;
}

function timing(clock: Clock, end: number, tokens: number, messages: number): Run {
  if (clock.first === null || clock.last === null) throw new Error('No text was generated.');
  return {
    ttftMs: clock.first - clock.start,
    tokens,
    tokensPerSecond: tokens > 1 ? ((tokens - 1) * 1000) / (clock.last - clock.first) : NaN,
    finishMs: end - clock.last,
    messages,
  };
}

function tick(clock: Clock): void {
  const now = performance.now();
  clock.first ??= now;
  clock.last = now;
}

type Runner = () => Promise<Run>;

/** (a): node-llama-cpp as its own examples use it, one new context per chat. */
async function rawRunner(modelPath: string, gpu: GpuSetting, maxTokens: number): Promise<{ run: Runner; dispose: () => Promise<void> }> {
  const llama = await getLlama({ gpu: gpu === 'off' ? false : gpu, build: 'never', logLevel: LlamaLogLevel.warn });
  // The thread count Enclave's engine picks, so both paths compute alike.
  const threads = defaultThreadCount(llama);
  const model = await llama.loadModel({ modelPath, gpuLayers: gpu === 'off' ? 0 : 'auto' });
  const gpuNames = llama.gpu === false ? [] : await llama.getGpuDeviceNames();
  console.log(
    `llama.cpp ${llama.llamaCppRelease.release} (${llama.buildType} binary), gpu: ${llama.gpu === false ? 'none' : llama.gpu}` +
      `${gpuNames.length ? ` [${gpuNames.join(', ')}]` : ''}, ${threads} of ${llama.cpuMathCores} CPU math cores used`,
  );
  console.log(`CPU features: ${llama.systemInfo.replace(/\s+/g, ' ').trim()}`);
  const run: Runner = async () => {
    const clock: Clock = { start: performance.now(), first: null, last: null };
    const context = await model.createContext({ contextSize: 4096, threads });
    const session = new LlamaChatSession({ contextSequence: context.getSequence() });
    // No system prompt, as Enclave's evaluation workload has none (the session would add a default one).
    session.setChatHistory([]);
    let tokens = 0;
    let chunks = 0;
    await session.prompt(PROMPT, {
      maxTokens,
      onTextChunk: () => {
        tick(clock);
        chunks++;
      },
      onToken: (chunk) => {
        tokens += chunk.length;
      },
    });
    const end = performance.now();
    await context.dispose();
    return timing(clock, end, tokens, chunks);
  };
  return { run, dispose: () => model.dispose() };
}

let nextId = 1;
async function call<K extends CallName>(core: Core, method: K, input: CallInput<K>): Promise<CallOutput<K>> {
  const response = await core.handle({ id: nextId++, method, input });
  if (!response.ok) throw new Error(`${method} failed: ${response.error.code}: ${response.error.message}`);
  return response.output as CallOutput<K>;
}

/** (b): the same through Enclave's core, as the UI drives it, one new chat session per run. */
async function coreRunner(modelPath: string, dataDir: string, maxTokens: number): Promise<{ run: Runner; core: Core }> {
  const input = structuredClone(evaluationPolicy);
  input.inference.maxResponseTokens = maxTokens;
  const core = await createCore({ dataDir, databaseKey: randomBytes(32), policy: policyFromDocument(input, 'bench policy'), version: 'bench' });
  await call(core, 'auth.createFirstAccount', { username: 'bench', displayName: 'Benchmark', password: 'benchmark password' });
  await call(core, 'model.addFile', { path: modelPath });
  const run: Runner = async () => {
    const { id: sessionId } = await call(core, 'chat.create', {});
    let chunks = 0;
    let resolveDone: (payload: EventPayload<'chat.done'>) => void = () => undefined;
    const done = new Promise<EventPayload<'chat.done'>>((resolve) => (resolveDone = resolve));
    const clock: Clock = { start: 0, first: null, last: null };
    const off = core.onEvent(({ event, payload }) => {
      if (event === 'chat.token' && (payload as EventPayload<'chat.token'>).sessionId === sessionId) {
        tick(clock);
        chunks++;
      }
      if (event === 'chat.done' && (payload as EventPayload<'chat.done'>).sessionId === sessionId) resolveDone(payload as EventPayload<'chat.done'>);
    });
    clock.start = performance.now();
    const { responseId } = await call(core, 'chat.send', { sessionId, text: PROMPT });
    const sendMs = performance.now() - clock.start;
    const result = await done;
    const end = performance.now();
    off();
    if (result.status !== 'complete') throw new Error(`The answer ended as ${result.status}: ${result.error?.message ?? ''}`);
    // The token count the audit recorded for this answer (chunks streamed, if the record has none).
    const row = core.store.writer
      .prepare("SELECT json_extract(record, '$.ai.response.tokens') AS tokens FROM audit_events WHERE json_extract(record, '$.enclave.message_id') = ? ORDER BY seq DESC LIMIT 1")
      .get(responseId) as { tokens: number | null } | undefined;
    await call(core, 'chat.end', { sessionId });
    return { ...timing(clock, end, row?.tokens ?? chunks, chunks), sendMs };
  };
  return { run, core };
}

function row(label: string, r: Run): string {
  const perThousand = (r.messages * 1000) / r.tokens;
  return `${label.padEnd(36)} ${r.tokensPerSecond.toFixed(1).padStart(8)} ${r.ttftMs.toFixed(1).padStart(9)} ${r.finishMs.toFixed(1).padStart(10)} ${String(r.tokens).padStart(7)} ${perThousand.toFixed(0).padStart(10)}`;
}

/** Both paths on one generated model: decode speed, time to first token, and messages per 1,000 tokens. */
async function compare(dir: string, label: string, shape: TestModelShape, maxTokens: number, runs: number): Promise<void> {
  const started = performance.now();
  const { path, sizeBytes } = await writeTestModel(join(dir, `${label}.gguf`), shape);
  console.log(
    `\n== ${label}: llama, ${shape.blockCount} blocks, n_embd ${shape.embeddingLength}, ff ${shape.feedForwardLength}, ${shape.fileType}, ` +
      `${(sizeBytes / 2 ** 20).toFixed(1)} MiB (written in ${((performance.now() - started) / 1000).toFixed(1)} s); ` +
      `${maxTokens} tokens per answer, median of ${runs} runs after a warm-up`,
  );
  const raw = await rawRunner(path, evaluationPolicy.inference.gpu, maxTokens);
  const enclave = await coreRunner(path, join(dir, `${label}-data`), maxTokens);
  const a: Run[] = [];
  const b: Run[] = [];
  try {
    // Warm-up, then alternate, so a change in machine load hits both paths alike.
    await raw.run();
    await enclave.run();
    for (let i = 0; i < runs; i++) {
      a.push(await raw.run());
      b.push(await enclave.run());
    }
    const status = await call(enclave.core, 'model.status', {});
    console.log(`Enclave engine device: ${status.device ? `${status.device.kind}, ${status.device.name}` : 'unknown'}`);
  } finally {
    await enclave.core.close();
    await raw.dispose();
  }
  const ma = summarise(a);
  const mb = summarise(b);
  console.log(`${'path'.padEnd(36)} ${'tok/s'.padStart(8)} ${'TTFT ms'.padStart(9)} ${'finish ms'.padStart(10)} ${'tokens'.padStart(7)} ${'msgs/1k'.padStart(10)}`);
  console.log(row('(a) node-llama-cpp direct', ma));
  console.log(row('(b) Enclave core (SQLCipher + audit)', mb));
  console.log(
    `${'b/a'.padEnd(36)} ${(mb.tokensPerSecond / ma.tokensPerSecond).toFixed(3).padStart(8)} ${`+${(mb.ttftMs - ma.ttftMs).toFixed(1)}`.padStart(9)}` +
      `   (goals: decode ratio >= 0.97, first-token overhead < 15 ms)`,
  );
  console.log(`Enclave's own work before the engine starts (chat.send: checks, prompt and audit record stored, queued): ${mb.sendMs!.toFixed(1)} ms`);
  console.log(`TTFT per run, ms: (a) ${a.map((r) => r.ttftMs.toFixed(0)).join(' ')}; (b) ${b.map((r) => r.ttftMs.toFixed(0)).join(' ')}`);
  if (ma.tokens !== maxTokens || mb.tokens !== maxTokens) console.log(`Note: answers were ${ma.tokens} and ${mb.tokens} tokens, not ${maxTokens}.`);
  results.push({ label, sizeBytes, path });
}

/** Model SHA-256 verification speed, against SHA-256 of the same bytes already in memory. */
async function hashing(path: string, sizeBytes: number): Promise<void> {
  // Warm the page cache first, so both figures are about hashing, not the disk.
  await sha256File(path);
  let started = performance.now();
  await sha256File(path);
  const fileSeconds = (performance.now() - started) / 1000;
  const chunk = randomBytes(64 << 20);
  const rounds = Math.max(1, Math.round(sizeBytes / chunk.length));
  started = performance.now();
  const hash = createHash('sha256');
  for (let i = 0; i < rounds; i++) hash.update(chunk);
  hash.digest();
  const memorySeconds = (performance.now() - started) / 1000;
  const gbps = (bytes: number, seconds: number) => bytes / 1e9 / seconds;
  const file = gbps(sizeBytes, fileSeconds);
  const memory = gbps(rounds * chunk.length, memorySeconds);
  console.log(`\n== Model verification (SHA-256), ${(sizeBytes / 1e9).toFixed(2)} GB file`);
  console.log(`model file, streamed (page cache warm)   ${file.toFixed(2)} GB/s`);
  console.log(`baseline: SHA-256 of bytes in memory     ${memory.toFixed(2)} GB/s`);
  console.log(`ratio                                    ${(file / memory).toFixed(3)}`);
}

/** Start to "model usable": hashing the file (first start) against the cached verification (every later start). */
async function startup(dir: string, path: string): Promise<void> {
  const sha256 = await sha256File(path);
  const dataDir = join(dir, 'startup-data');
  const databaseKey = randomBytes(32);
  const input = structuredClone(evaluationPolicy) as unknown as { inference: Record<string, unknown> };
  input.inference.models = [{ id: 'm', name: 'Bench model', path, sha256 }];
  input.inference.workloads = [{ id: 'w', name: 'Bench', model: 'm' }];
  const timeToReady = async (): Promise<{ coreMs: number; readyMs: number }> => {
    const started = performance.now();
    const core = await createCore({ dataDir, databaseKey: Buffer.from(databaseKey), policy: policyFromDocument(input, 'bench policy'), version: 'bench', log: () => undefined });
    const coreMs = performance.now() - started;
    try {
      if ((await call(core, 'app.status', {})).needsFirstAccount) await call(core, 'auth.createFirstAccount', { username: 'bench', displayName: 'Benchmark', password: 'benchmark password' });
      else await call(core, 'auth.signIn', { username: 'bench', password: 'benchmark password' });
      for (;;) {
        const availability = (await call(core, 'model.status', {})).models[0]?.availability;
        if (availability?.state === 'ready') return { coreMs, readyMs: performance.now() - started };
        if (availability?.state === 'rejected') throw new Error(availability.message ?? 'rejected');
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    } finally {
      await core.close();
    }
  };
  const first = await timeToReady();
  const cached = [await timeToReady(), await timeToReady(), await timeToReady()];
  const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)] ?? NaN;
  const cachedReady = median(cached.map((c) => c.readyMs));
  console.log('\n== Start-up to "model usable" (core start, sign-in, model check)');
  console.log(`first start (file hashed)               ${first.readyMs.toFixed(0)} ms (core up in ${first.coreMs.toFixed(0)} ms: sign-in never waits for the hash)`);
  console.log(`later starts (cached verification)      ${cachedReady.toFixed(0)} ms (median of 3; re-hashed in the background afterwards)`);
  console.log(`ratio                                    ${(cachedReady / first.readyMs).toFixed(3)}`);
}

const results: { label: string; sizeBytes: number; path: string }[] = [];
const dir = mkdtempSync(join(tmpdir(), 'enclave-bench-'));
try {
  console.log(`Prompt ${PROMPT.length} characters. tok/s: decode speed, first to last text chunk. TTFT: "send" to first text, including a new chat context.`);
  console.log('finish: last text to "done" (for Enclave: the answer and its audit record written to the encrypted store).');
  console.log('msgs/1k: text messages per 1,000 tokens; (a) node-llama-cpp text chunks, (b) chat.token events, batched per 16 ms frame');
  console.log('  ((b) may send its last text up to one frame late, with chat.done, which moves up to 16 ms from finish into tok/s).');
  const only = process.env.ENCLAVE_BENCH_MODELS?.split(',');
  const shapes: Array<[string, TestModelShape, number, number]> = [
    ['tiny', TEST_MODEL_SHAPES.tiny, MAX_TOKENS, RUNS],
    ['bench-29M-F16', TEST_MODEL_SHAPES.bench, MAX_TOKENS, RUNS],
    ['llama-1B-Q8_0', TEST_MODEL_SHAPES.llama1bQ8, 64, 5],
    ['llama-1B-Q4_0', TEST_MODEL_SHAPES.llama1bQ4, 64, 5],
  ];
  for (const [label, shape, maxTokens, runs] of shapes) {
    if (only && !only.includes(label)) continue;
    await compare(dir, label, shape, maxTokens, runs);
  }
  const largest = [...results].sort((x, y) => y.sizeBytes - x.sizeBytes)[0];
  if (largest) {
    await hashing(largest.path, largest.sizeBytes);
    await startup(dir, largest.path);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
