// The Electron IPC channels the contract travels on between the preload and
// main (src/main/electron/ipc-relay.ts). One definition, so the two ends
// cannot drift apart; the preload may not import from main.

/** Renderer -> main: a call, answered by ipcMain.handle. */
export const CALL_CHANNEL = 'enclave:call';
/** Main -> renderer: an event pushed to the window. */
export const EVENT_CHANNEL = 'enclave:event';
