// The InferenceEngine on node-llama-cpp. Each chat owns its own LlamaContext
// (one sequence): disposing the context frees that chat's KV cache outright,
// with nothing shared between chats. At most maxLiveChats contexts are kept;
// the least recently used idle one is dropped and rebuilt from history when
// the chat is next used.
import {
  getLlama,
  InsufficientMemoryError,
  LlamaChatSession,
  LlamaLogLevel,
  NoBinaryFoundError,
  resolveChatWrapper,
  type ChatHistoryItem,
  type Llama,
  type LlamaContext,
  type LlamaModel,
} from 'node-llama-cpp';
import { EnclaveError } from '../../shared/errors.js';
import type { ChatTurn, DeviceKind, EngineDevice, EngineModel, GenerateRequest, GenerateResult, GpuSetting, InferenceEngine, LoadedModelInfo, LoadOptions } from './engine-types.js';
import type { ChatTemplate } from '../policy/index.js';
import { readGgufHeader, type GgufHeader } from './gguf/inspect.js';
import { byWholePercent } from './model-file.js';

export interface LlamaEngineOptions {
  /** CPU threads for evaluation. Default: all math cores, less one on machines with 4 or fewer, so the UI keeps a core. */
  threads?: number;
  /** Chats whose context stays in memory at once (default 4). */
  maxLiveChats?: number;
  /** llama.cpp log level (default: warnings and errors). */
  logLevel?: LlamaLogLevel;
}

export interface LlamaEngine extends InferenceEngine {
  /** Chats that hold a context (KV cache) now: lets tests and diagnostics check that none outlives its chat. */
  liveChatIds(): string[];
}

interface Loaded {
  info: LoadedModelInfo;
  model: LlamaModel;
  gpu: GpuSetting;
  /** As requested ('auto' or a number), not as resolved: a changed request reloads. */
  gpuLayers: 'auto' | number;
  chatTemplate: ChatTemplate | undefined;
  contextSize: number;
  threads: number;
}

interface ChatState {
  context: LlamaContext;
  session: LlamaChatSession;
  /** False until the session's history was set from a request (it starts with node-llama-cpp's default system prompt). */
  synced: boolean;
  /** What the session's history holds, so an unchanged history is not re-applied (which would re-tokenise it). */
  systemPrompt: string | undefined;
  turns: ChatTurn[];
  lastUsed: number;
}

interface InFlight {
  controller: AbortController;
  done: Promise<unknown>;
}

function sameTurns(a: readonly ChatTurn[], b: readonly ChatTurn[]): boolean {
  return a.length === b.length && a.every((turn, i) => turn.role === b[i]?.role && turn.text === b[i]?.text);
}

function toChatHistory(systemPrompt: string | undefined, turns: readonly ChatTurn[]): ChatHistoryItem[] {
  const items: ChatHistoryItem[] = [];
  if (systemPrompt !== undefined && systemPrompt !== '') items.push({ type: 'system', text: systemPrompt });
  for (const turn of turns) {
    if (turn.role === 'user') items.push({ type: 'user', text: turn.text });
    else items.push({ type: 'model', response: [turn.text] });
  }
  return items;
}

/**
 * Frees a chat's context, its KV cache emptied first. What node-llama-cpp
 * (3.21) lets us do, and not:
 * - clearHistory() erases the sequence's cells (llama_memory_seq_rm): the KV
 *   cache forgets them and node-llama-cpp drops its token list and any
 *   in-memory state checkpoints (taken for SWA, hybrid and recurrent models).
 *   llama.cpp only marks the cells free: the K and V tensors keep their bytes.
 * - dispose() frees the context (llama_free): the KV buffer goes back to the
 *   allocator (CPU RAM) or the driver (GPU VRAM: CUDA, Vulkan, Metal) without
 *   being zeroed. llama.cpp can zero it (llama_memory_clear with data = true),
 *   but node-llama-cpp binds no call that does; overwriting the cells by
 *   evaluating filler tokens would cost as long as reading the prompt did.
 * - The chat's text also lives in JavaScript strings (the session's history),
 *   which the garbage collector frees, unzeroed, in its own time.
 * So the bytes may stay in freed memory until reused: swap and hibernation
 * must be encrypted by the OS, and the core must not be dumpable.
 */
async function wipeAndDispose(state: { context: LlamaContext; session: LlamaChatSession }): Promise<void> {
  try {
    if (!state.session.disposed) await state.session.sequence.clearHistory();
  } catch {
    // A sequence already gone has nothing left to clear; the context is freed all the same.
  }
  await state.context.dispose();
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// One Llama (native binding) per GPU setting for the whole process, shared by
// every engine: with two live instances node-llama-cpp 3.22 stops routing
// llama.cpp's error lines to the logger, and those lines say why a load failed.
const llamas = new Map<GpuSetting, Promise<Llama>>();
const recentErrors: string[] = [];

function sharedLlama(gpu: GpuSetting, logLevel: LlamaLogLevel): Promise<Llama> {
  let llama = llamas.get(gpu);
  if (!llama) {
    llama = getLlama({
      gpu: gpu === 'off' ? false : gpu,
      // Workstations are offline and have no compiler: use the shipped binaries or fail.
      build: 'never',
      progressLogs: false,
      // Not 'error': node-llama-cpp 3.22 then prints errors past the logger, and we need them.
      logLevel,
      logger: (level, message) => {
        if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) {
          recentErrors.push(message.trim());
          recentErrors.splice(0, recentErrors.length - 5);
        }
        console.warn(`[llama.cpp ${level}] ${message.trim()}`);
      },
    });
    llamas.set(gpu, llama);
    // A failed start (e.g. no usable binary) may succeed later, so it is not cached.
    llama.catch(() => llamas.delete(gpu));
  }
  return llama;
}

/**
 * CPU threads the engine evaluates with unless told otherwise. llama.cpp's
 * threads spin while they wait for each other, so on a small machine one core
 * is left to the UI and the core's event loop (on a busy 2-core machine, 2
 * threads measured from 5x to several hundred times slower per token than 1).
 */
export function defaultThreadCount(llama: Llama): number {
  const cores = llama.cpuMathCores;
  return cores <= 4 ? Math.max(1, cores - 1) : cores;
}

/** Layers llama.cpp counts for offloading: the blocks plus the output layer. */
function layerCountOf(header: GgufHeader): number {
  const architecture = header.metadata.get('general.architecture');
  const blocks = header.metadata.get(`${String(architecture)}.block_count`);
  return typeof blocks === 'number' ? blocks + 1 : 1;
}

export function createLlamaEngine(options: LlamaEngineOptions = {}): LlamaEngine {
  const maxLiveChats = Math.max(1, options.maxLiveChats ?? 4);
  let loaded: Loaded | null = null;
  let vocabulary: { path: string; model: Promise<LlamaModel> } | null = null;
  const chats = new Map<string, ChatState>();
  const inFlight = new Map<string, InFlight>();
  // load/unload run one at a time.
  let lifecycle: Promise<unknown> = Promise.resolve();
  const serialise = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = lifecycle.then(fn, fn);
    lifecycle = run.catch(() => undefined);
    return run;
  };

  async function deviceOf(instance: Llama, model: LlamaModel, threads: number): Promise<EngineDevice> {
    const kind: DeviceKind = instance.gpu === false || model.gpuLayers === 0 ? 'cpu' : instance.gpu;
    if (kind === 'cpu') return { kind, name: `CPU (${threads} thread${threads === 1 ? '' : 's'})` };
    const names = await instance.getGpuDeviceNames().catch(() => []);
    return { kind, name: names.length > 0 ? names.join(', ') : kind.toUpperCase() };
  }

  async function disposeChatNow(chatId: string): Promise<void> {
    const running = inFlight.get(chatId);
    if (running) {
      // Stop the answer first (it returns as 'cancelled'), then free the context it was using.
      running.controller.abort();
      await running.done.catch(() => undefined);
    }
    const state = chats.get(chatId);
    if (!state) return;
    chats.delete(chatId);
    await wipeAndDispose(state);
  }

  async function disposeAll(): Promise<void> {
    await Promise.all([...new Set([...chats.keys(), ...inFlight.keys()])].map((id) => disposeChatNow(id)));
  }

  async function unloadNow(): Promise<void> {
    await disposeAll();
    const current = loaded;
    loaded = null;
    if (current) await current.model.dispose();
  }

  /** The Llama for the GPU setting; a GPU backend that cannot start gives the CPU one, and says why. */
  async function llamaFor(gpu: GpuSetting, logLevel: LlamaLogLevel): Promise<{ instance: Llama; fallback: string | null }> {
    try {
      return { instance: await sharedLlama(gpu, logLevel), fallback: null };
    } catch (error) {
      if (gpu === 'off') throw error;
      const reason = error instanceof NoBinaryFoundError ? 'no usable driver or binary' : messageOf(error);
      const backend = gpu === 'auto' ? 'the GPU backend' : `the ${gpu.toUpperCase()} backend`;
      return { instance: await sharedLlama('off', logLevel), fallback: `${backend} could not start (${reason}); running on the CPU` };
    }
  }

  /**
   * Loads with the asked-for GPU layers; where that fails for memory (or the
   * GPU fails while loading), with half as many, then on the CPU, saying so.
   */
  async function loadWithFallback(instance: Llama, model: EngineModel, gpuLayers: 'auto' | number, loadOptions: LoadOptions): Promise<{ model: LlamaModel; fallback: string | null }> {
    const onGpu = loadOptions.gpu !== 'off' && instance.gpu !== false;
    const first: 'auto' | number = onGpu ? gpuLayers : 0;
    const attempts: Array<'auto' | number> = [first];
    let fallback: string | null = null;
    for (let i = 0; ; i++) {
      const layers = attempts[i] ?? 0;
      recentErrors.length = 0;
      try {
        const llamaModel = await instance.loadModel({
          modelPath: model.path,
          gpuLayers: layers,
          ...(loadOptions.signal ? { loadSignal: loadOptions.signal } : {}),
          ...(loadOptions.onProgress ? { onLoadProgress: byWholePercent(loadOptions.onProgress) } : {}),
        });
        return { model: llamaModel, fallback };
      } catch (error) {
        if (loadOptions.signal?.aborted) throw new EnclaveError('internal', 'Loading the model was stopped.', { cause: error });
        const reason = error instanceof InsufficientMemoryError ? 'not enough GPU memory' : (recentErrors.find((line) => line.includes('error loading model')) ?? messageOf(error));
        if (layers === 0) {
          if (error instanceof InsufficientMemoryError) {
            throw new EnclaveError('internal', `There is not enough memory to load the model ${model.path}.`, { cause: error });
          }
          throw new EnclaveError('model_corrupt', `llama.cpp could not load the model ${model.path}: ${reason.replace(/^.*error loading model:\s*/, '')}`, { cause: error });
        }
        // Fewer layers: half of those asked for (or of the model's, for 'auto'), then none.
        const header = await readGgufHeader(model.path);
        const total = layerCountOf(header);
        const half = Math.floor((layers === 'auto' ? total : Math.min(layers, total)) / 2);
        const next = attempts.length === 1 && half > 0 ? half : 0;
        attempts.push(next);
        fallback = next === 0 ? `the GPU could not load it (${reason}); running on the CPU` : `the GPU could not load all layers (${reason}); ${next} of ${total} layers on the GPU`;
      }
    }
  }

  /** A model's vocabulary alone (no weights), to measure prompts for a model not loaded now. */
  function vocabularyOf(path: string, gpu: GpuSetting): Promise<LlamaModel> {
    if (vocabulary?.path === path) return vocabulary.model;
    const previous = vocabulary;
    const model = (async () => {
      await readGgufHeader(path);
      // The Llama the model will load with: a second native instance would cost memory and hide llama.cpp's errors.
      const { instance } = await llamaFor(gpu, options.logLevel ?? LlamaLogLevel.warn);
      return instance.loadModel({ modelPath: path, vocabOnly: true });
    })();
    vocabulary = { path, model };
    model.catch(() => {
      if (vocabulary?.model === model) vocabulary = null;
    });
    if (previous) void previous.model.then((m) => m.dispose()).catch(() => undefined);
    return model;
  }

  async function chatState(current: Loaded, chatId: string): Promise<ChatState> {
    const existing = chats.get(chatId);
    if (existing) return existing;
    while (chats.size >= maxLiveChats) {
      const idle = [...chats.entries()].filter(([id]) => !inFlight.has(id)).sort((a, b) => a[1].lastUsed - b[1].lastUsed)[0];
      if (!idle) break; // every live chat is answering; allow one more rather than fail
      await disposeChatNow(idle[0]);
    }
    let context: LlamaContext;
    try {
      context = await current.model.createContext({ contextSize: current.contextSize, sequences: 1, threads: current.threads });
    } catch (error) {
      if (error instanceof InsufficientMemoryError) {
        throw new EnclaveError('internal', 'There is not enough memory for another chat context. End a session or close other programs, then try again.', { cause: error });
      }
      throw error;
    }
    const session = new LlamaChatSession({
      contextSequence: context.getSequence(),
      autoDisposeSequence: false,
      // A policy override names a wrapper node-llama-cpp builds from the name alone; otherwise it detects one from the file.
      ...(current.chatTemplate ? { chatWrapper: resolveChatWrapper(current.model, { type: current.chatTemplate }) } : {}),
    });
    const state: ChatState = { context, session, synced: false, systemPrompt: undefined, turns: [], lastUsed: Date.now() };
    chats.set(chatId, state);
    return state;
  }

  async function runGeneration(current: Loaded, request: GenerateRequest, signal: AbortSignal): Promise<GenerateResult> {
    const state = await chatState(current, request.chatId);
    state.lastUsed = Date.now();
    if (!state.synced || state.systemPrompt !== request.systemPrompt || !sameTurns(state.turns, request.history)) {
      // node-llama-cpp reuses the KV cache for whatever prefix of the new history is already evaluated.
      state.session.setChatHistory(toChatHistory(request.systemPrompt, request.history));
      state.synced = true;
      state.systemPrompt = request.systemPrompt;
      state.turns = [...request.history];
    }
    const promptHistory: ChatHistoryItem[] = [...toChatHistory(request.systemPrompt, request.history), { type: 'user', text: request.prompt }, { type: 'model', response: [] }];
    // Everything the model reads for this answer: template, system prompt, history and prompt.
    const promptTokens = state.session.chatWrapper.generateContextState({ chatHistory: promptHistory }).contextText.tokenize(current.model.tokenizer).length;

    if (signal.aborted) return { text: '', promptTokens, responseTokens: 0, stopReason: 'cancelled' };

    let streamed = '';
    let responseTokens = 0;
    let result: Awaited<ReturnType<LlamaChatSession['promptWithMeta']>>;
    try {
      result = await state.session.promptWithMeta(request.prompt, {
        maxTokens: request.maxTokens,
        // node-llama-cpp's default (0) is greedy; only a workload's own temperature changes it.
        ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
        ...(request.seed !== undefined ? { seed: request.seed } : {}),
        signal,
        stopOnAbortSignal: true,
        onTextChunk: (chunk) => {
          streamed += chunk;
          request.onText(chunk);
        },
        onToken: (tokens) => {
          responseTokens += tokens.length;
        },
      });
    } catch (error) {
      // The session may hold part of this turn; rebuild it from the next request's history.
      state.synced = false;
      // A stop while llama.cpp is still reading the prompt throws instead of returning: it is a cancel all the same.
      if (signal.aborted) return { text: streamed, promptTokens, responseTokens, stopReason: 'cancelled' };
      throw error;
    }
    let text = result.responseText;
    if (text !== streamed) {
      // Text held back as a possible stop trigger can surface only in the result; send it so the stream adds up.
      if (text.startsWith(streamed)) request.onText(text.slice(streamed.length));
      else text = streamed;
    }
    state.turns = [...request.history, { role: 'user', text: request.prompt }, { role: 'assistant', text }];
    state.lastUsed = Date.now();
    const stopReason: GenerateResult['stopReason'] = result.stopReason === 'abort' ? 'cancelled' : result.stopReason === 'maxTokens' ? 'max-tokens' : 'eos';
    return { text, promptTokens, responseTokens, stopReason };
  }

  return {
    load(model: EngineModel, loadOptions: LoadOptions): Promise<LoadedModelInfo> {
      const gpuLayers = model.gpuLayers ?? 'auto';
      return serialise(async () => {
        if (
          loaded &&
          loaded.info.modelId === model.id &&
          loaded.info.path === model.path &&
          loaded.gpu === loadOptions.gpu &&
          loaded.gpuLayers === gpuLayers &&
          loaded.chatTemplate === model.chatTemplate &&
          loaded.contextSize === model.contextSize
        ) {
          return loaded.info;
        }
        // Specific errors (missing, not GGUF, truncated) before llama.cpp sees the file.
        await readGgufHeader(model.path);
        await unloadNow();
        const { instance, fallback: backendFallback } = await llamaFor(loadOptions.gpu, options.logLevel ?? LlamaLogLevel.warn);
        const { model: llamaModel, fallback: memoryFallback } = await loadWithFallback(instance, model, gpuLayers, loadOptions);
        const threads = options.threads ?? defaultThreadCount(instance);
        const info: LoadedModelInfo = {
          modelId: model.id,
          path: model.path,
          device: await deviceOf(instance, llamaModel, threads),
          gpuLayers: llamaModel.gpuLayers,
          totalLayers: llamaModel.fileInsights.totalLayers,
          fallback: backendFallback ?? memoryFallback,
        };
        loaded = { info, model: llamaModel, gpu: loadOptions.gpu, gpuLayers, chatTemplate: model.chatTemplate, contextSize: model.contextSize, threads };
        return info;
      });
    },

    loaded(): LoadedModelInfo | null {
      return loaded?.info ?? null;
    },

    async countTokens(model: EngineModel, text: string, gpu: GpuSetting): Promise<number> {
      if (loaded?.info.path === model.path) return loaded.model.tokenize(text).length;
      return (await vocabularyOf(model.path, gpu)).tokenize(text).length;
    },

    async generate(request: GenerateRequest): Promise<GenerateResult> {
      const current = loaded;
      if (!current) throw new EnclaveError('model_not_configured', 'No model is loaded.');
      if (inFlight.has(request.chatId)) {
        throw new EnclaveError('busy', 'An answer is still being written in this chat. Stop it or wait for it.');
      }
      const controller = new AbortController();
      const signal = AbortSignal.any([request.signal, controller.signal]);
      const done = runGeneration(current, request, signal);
      inFlight.set(request.chatId, { controller, done });
      try {
        return await done;
      } catch (error) {
        if (error instanceof EnclaveError) throw error;
        throw new EnclaveError('internal', `The model failed while answering: ${messageOf(error)}`, { cause: error });
      } finally {
        inFlight.delete(request.chatId);
      }
    },

    disposeChat(chatId: string): Promise<void> {
      return disposeChatNow(chatId);
    },

    disposeAllChats(): Promise<void> {
      return disposeAll();
    },

    unload(): Promise<void> {
      return serialise(async () => {
        await unloadNow();
        const current = vocabulary;
        vocabulary = null;
        if (current) await (await current.model.catch(() => null))?.dispose();
      });
    },

    liveChatIds(): string[] {
      return [...chats.keys()];
    },
  };
}
