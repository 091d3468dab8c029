// Page side of the browser test bridge, bundled by esbuild into an IIFE and
// injected with page.addInitScript before any page script runs (CDP-injected,
// so the page's CSP is untouched). It builds window.enclave with the same
// createBridge the preload uses; only the transport differs: calls go out
// through the `__enclaveInvoke` Playwright binding and events come in through
// `__enclaveDeliver`, which the test process calls with page.evaluate.
import { createBridge } from '../../src/shared/bridge.js';
import type { CallResponse, EventMessage } from '../../src/shared/rpc.js';

type Invoke = (method: string, input: unknown) => Promise<CallResponse>;

const host = window as unknown as { __enclaveInvoke?: Invoke };
let sink: ((message: EventMessage) => void) | null = null;
const early: EventMessage[] = [];

Object.defineProperty(window, '__enclaveDeliver', {
  value: (messages: EventMessage[]) => {
    for (const message of messages) {
      if (sink) sink(message);
      else early.push(message);
    }
  },
});

const bridge = createBridge({
  invoke: (method, input) => {
    const invoke = host.__enclaveInvoke;
    if (!invoke) return Promise.reject(new Error('The e2e binding __enclaveInvoke is missing.'));
    return invoke(method, input);
  },
  onEvent: (deliver) => {
    sink = deliver;
    for (const message of early.splice(0)) deliver(message);
  },
});

// Like contextBridge: a frozen object the page cannot replace.
Object.defineProperty(window, 'enclave', { value: Object.freeze(bridge), writable: false, configurable: false, enumerable: true });
