// The seam between Enclave's chat logic and llama.cpp. The chat service keeps
// sessions, messages and audit; the engine only loads weights and generates.
import type { ChatTemplate } from '../policy/index.js';

export type DeviceKind = 'cpu' | 'cuda' | 'vulkan' | 'metal';

export interface EngineDevice {
  kind: DeviceKind;
  /** e.g. 'NVIDIA RTX A2000' or 'CPU (8 threads)'. */
  name: string;
}

export interface EngineModel {
  id: string;
  path: string;
  contextSize: number;
  /** Layers to offload to the GPU: 'auto' (the default) fits them to free VRAM; 0 keeps the model on the CPU. */
  gpuLayers?: 'auto' | number | undefined;
  /** Forces a chat wrapper; undefined lets node-llama-cpp detect it from the file. */
  chatTemplate?: ChatTemplate | undefined;
}

export interface LoadedModelInfo {
  modelId: string;
  path: string;
  device: EngineDevice;
  /** Layers llama.cpp offloaded to the GPU (0 on the CPU). */
  gpuLayers: number;
  /** The model's layers in all (llama.cpp counts the output layer too). */
  totalLayers: number;
  /** Why the model runs on fewer GPU layers than asked, or on the CPU (e.g. the GPU backend could not start); null when as asked. */
  fallback: string | null;
}

/** 'auto' offloads to any GPU backend found; 'off' is the CPU; a backend name asks for that one. */
export type GpuSetting = 'auto' | 'off' | 'cuda' | 'vulkan' | 'metal';

export interface LoadOptions {
  gpu: GpuSetting;
  /** Stops a load in progress (the answer that needed it was cancelled). */
  signal?: AbortSignal | undefined;
  /** Load progress, 0–1, as llama.cpp reads the weights. */
  onProgress?: ((progress: number) => void) | undefined;
}

export interface ChatTurn {
  role: 'user' | 'assistant';
  text: string;
}

export interface GenerateRequest {
  /** The Enclave chat session id: each chat owns one context sequence. */
  chatId: string;
  systemPrompt?: string | undefined;
  /** Completed earlier turns, used when the chat's context must be (re)built, e.g. after a lock. */
  history: ChatTurn[];
  prompt: string;
  maxTokens: number;
  /** Sampling temperature; 0 or undefined is greedy (always the most likely token). */
  temperature?: number | undefined;
  /** A fixed sampling seed (deterministic mode); undefined lets node-llama-cpp pick one. */
  seed?: number | undefined;
  signal: AbortSignal;
  onText(text: string): void;
}

export interface GenerateResult {
  text: string;
  promptTokens: number;
  responseTokens: number;
  stopReason: 'eos' | 'max-tokens' | 'cancelled';
}

export interface InferenceEngine {
  /** Loads the model (unloading any other). Loading the loaded model again is a no-op. */
  load(model: EngineModel, options: LoadOptions): Promise<LoadedModelInfo>;
  loaded(): LoadedModelInfo | null;
  /** Tokens the model's tokenizer makes of text; a model not loaded lends just its vocabulary, without its weights. */
  countTokens(model: EngineModel, text: string, gpu: GpuSetting): Promise<number>;
  generate(request: GenerateRequest): Promise<GenerateResult>;
  /** Drops the chat's context sequence (KV cache) and its chat state. */
  disposeChat(chatId: string): Promise<void>;
  disposeAllChats(): Promise<void>;
  unload(): Promise<void>;
}
