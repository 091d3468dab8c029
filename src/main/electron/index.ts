// Front door of the Electron shell: the window, the core's host process, the
// IPC relay and the OS key store. Only the main entry (src/main/index.ts)
// uses it; nothing else in src/main imports electron.
export { startCoreHost, type CoreHost, type CoreHostOptions } from './core-host.js';
export { startIpcRelay, type RelayOptions } from './ipc-relay.js';
export { obtainDatabaseKey, PENDING_WRAPPED_KEY_FILE, readWrappedDatabaseKey, wrappedKeyCustody } from './key-protector.js';
export { appPaths, createMainWindow, guardWebContents, registerAppScheme, rendererLocation } from './window.js';
