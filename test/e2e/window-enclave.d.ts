// window.enclave as the page sees it (the renderer declares the same in
// src/renderer/src/enclave.ts), for the page.evaluate callbacks of the specs.
import type { EnclaveBridge } from '../../src/shared/rpc.js';

declare global {
  interface Window {
    enclave?: EnclaveBridge;
  }
}
