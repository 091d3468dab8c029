// The envelopes every transport carries (Electron IPC + MessagePort in
// production, a Playwright binding in the browser tests). Transports move
// these objects; only the core interprets them.
import type { CallName, CallOutput, EventName, EventPayload } from './api.js';
import type { ErrorInfo } from './errors.js';

export interface CallRequest {
  id: number;
  method: string;
  input: unknown;
}

export type CallResponse = { id: number; ok: true; output: unknown } | { id: number; ok: false; error: ErrorInfo };

export interface EventMessage {
  event: string;
  payload: unknown;
}

export type CallResult<K extends CallName> = { ok: true; output: CallOutput<K> } | { ok: false; error: ErrorInfo };

/** What the renderer sees as `window.enclave`. */
export interface EnclaveBridge {
  call<K extends CallName>(method: K, input: import('./api.js').CallInput<K>): Promise<CallResult<K>>;
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
}
