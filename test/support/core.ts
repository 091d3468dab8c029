// Drives a real headless core the way the renderer does: through envelopes.
import type { CallInput, CallName, CallOutput, EventName, EventPayload } from '../../src/shared/api.js';
import type { ErrorInfo } from '../../src/shared/errors.js';
import type { EventMessage } from '../../src/shared/rpc.js';
import type { Core } from '../../src/main/core/index.js';

let nextId = 1;

export async function call<K extends CallName>(core: Core, method: K, input: CallInput<K>): Promise<CallOutput<K>> {
  const response = await core.handle({ id: nextId++, method, input });
  if (!response.ok) throw Object.assign(new Error(`${method} failed: ${response.error.code}: ${response.error.message}`), { info: response.error });
  return response.output as CallOutput<K>;
}

export async function callError(core: Core, method: string, input: unknown): Promise<ErrorInfo> {
  const response = await core.handle({ id: nextId++, method, input });
  if (response.ok) throw new Error(`${method} unexpectedly succeeded`);
  return response.error;
}

export function nextEvent<E extends EventName>(core: Core, event: E, predicate: (payload: EventPayload<E>) => boolean = () => true, timeoutMs = 60_000): Promise<EventPayload<E>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${event} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = core.onEvent((message: EventMessage) => {
      if (message.event !== event) return;
      const payload = message.payload as EventPayload<E>;
      if (!predicate(payload)) return;
      clearTimeout(timer);
      off();
      resolve(payload);
    });
  });
}

export const EVAL_USER = { username: 'dr.grey', displayName: 'Dr Meredith Grey', password: 'correct horse battery' } as const;
