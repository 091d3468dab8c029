// The renderer's only door to the rest of the app. `window.enclave` is put
// there by the preload (Electron) or by the browser test bridge; both build it
// with createBridge from the shared contract, so this file only adds types and
// turns a broken transport into an ordinary error result.
import { useState } from 'react';
import type { CallInput, CallName, CallOutput, EventName, EventPayload } from '../../shared/api.js';
import type { ErrorInfo } from '../../shared/errors.js';
import type { CallResult, EnclaveBridge } from '../../shared/rpc.js';
import { t } from './i18n/index.js';

declare global {
  interface Window {
    enclave?: EnclaveBridge;
  }
}

export type { ErrorInfo };

export function bridgeAvailable(): boolean {
  return typeof window.enclave === 'object' && window.enclave !== null;
}

export async function call<K extends CallName>(method: K, input: CallInput<K>): Promise<CallResult<K>> {
  const bridge = window.enclave;
  if (!bridge) return { ok: false, error: { code: 'internal', message: t('common:connection.missing') } };
  try {
    return await bridge.call(method, input);
  } catch (cause) {
    // A transport failure (e.g. the core restarting) must read like any other error, not crash a component.
    const detail = cause instanceof Error ? cause.message : String(cause);
    return { ok: false, error: { code: 'internal', message: t('common:connection.noAnswer', { detail }) } };
  }
}

/** Like call, but throws CallFailure so a chain of calls can share one catch. */
export async function request<K extends CallName>(method: K, input: CallInput<K>): Promise<CallOutput<K>> {
  const result = await call(method, input);
  if (!result.ok) throw new CallFailure(result.error);
  return result.output;
}

export class CallFailure extends Error {
  readonly info: ErrorInfo;
  constructor(info: ErrorInfo) {
    super(info.message);
    this.name = 'CallFailure';
    this.info = info;
  }
}

export function toErrorInfo(error: unknown): ErrorInfo {
  if (error instanceof CallFailure) return error.info;
  return { code: 'internal', message: error instanceof Error ? error.message : String(error) };
}

export function on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
  const bridge = window.enclave;
  if (!bridge) return () => undefined;
  return bridge.on(event, listener);
}

/** A form's call: one at a time, with its busy flag and its last error. Resolves to the output, or null on error. */
export function useFormCall() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ErrorInfo | null>(null);
  async function run<K extends CallName>(method: K, input: CallInput<K>): Promise<CallOutput<K> | null> {
    setBusy(true);
    setError(null);
    const result = await call(method, input);
    setBusy(false);
    if (result.ok) return result.output;
    setError(result.error);
    return null;
  }
  return { busy, error, setError, run };
}
