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
  load(model: EngineModel, options: { gpu: 'auto' | 'off' }): Promise<LoadedModelInfo>;
  loaded(): LoadedModelInfo | null;
  /** Tokens the loaded model's tokenizer makes of text. */
  countTokens(text: string): number;
  generate(request: GenerateRequest): Promise<GenerateResult>;
  /** Drops the chat's context sequence (KV cache) and its chat state. */
  disposeChat(chatId: string): Promise<void>;
  disposeAllChats(): Promise<void>;
  unload(): Promise<void>;
}
