// The sandboxed preload: exposes `window.enclave`, built by the same
// createBridge the browser test bridge uses, over Electron IPC. Nothing else
// (no ipcRenderer, no Node) reaches the page. Sandboxed preloads may only
// require 'electron'; electron-vite bundles everything else in.
import { contextBridge, ipcRenderer } from 'electron';
import { createBridge } from '../shared/bridge.js';
import { CALL_CHANNEL, EVENT_CHANNEL } from '../shared/channels.js';
import type { CallResponse, EventMessage } from '../shared/rpc.js';

function isEventMessage(value: unknown): value is EventMessage {
  return typeof value === 'object' && value !== null && typeof (value as { event?: unknown }).event === 'string';
}

const bridge = createBridge({
  invoke: (method, input) => ipcRenderer.invoke(CALL_CHANNEL, method, input) as Promise<CallResponse>,
  onEvent: (sink) => {
    ipcRenderer.on(EVENT_CHANNEL, (_event, message: unknown) => {
      if (isEventMessage(message)) sink(message);
    });
  },
});

contextBridge.exposeInMainWorld('enclave', bridge);
