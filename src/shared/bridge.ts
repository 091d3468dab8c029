// Builds `window.enclave` from a transport. Used by the preload script (over
// Electron IPC) and by the browser test bridge (over a Playwright binding), so
// both expose exactly the same object to the renderer.
import { isCallName, isEventName, type CallName, type EventName } from './api.js';
import type { CallResponse, EnclaveBridge, EventMessage } from './rpc.js';

export interface BridgeTransport {
  /** Sends one call and resolves with the core's response envelope. */
  invoke(method: CallName, input: unknown): Promise<CallResponse>;
  /** Registers the single sink for events pushed by the core. */
  onEvent(sink: (message: EventMessage) => void): void;
}

export function createBridge(transport: BridgeTransport): EnclaveBridge {
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  transport.onEvent((message) => {
    if (!isEventName(message.event)) return;
    for (const listener of listeners.get(message.event) ?? []) listener(message.payload);
  });
  const bridge = {
    async call(method: CallName, input: unknown) {
      if (!isCallName(method)) return { ok: false, error: { code: 'unknown_call', message: `There is no call named "${String(method)}".` } };
      const response = await transport.invoke(method, input);
      return response.ok ? { ok: true, output: response.output } : { ok: false, error: response.error };
    },
    on(event: EventName, listener: (payload: unknown) => void) {
      if (!isEventName(event)) throw new Error(`There is no event named "${String(event)}".`);
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener);
      return () => set.delete(listener);
    },
  };
  return bridge as EnclaveBridge;
}
