// The seam between Enclave's chat logic and llama.cpp. The chat service keeps
// sessions, messages and audit; the engine only loads weights and generates.
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
}

export interface LoadedModelInfo {
  modelId: string;
  path: string;
  device: EngineDevice;
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
