// Hosts the core in an Electron utilityProcess: a crash in llama.cpp, the GPU
// driver or SQLite then takes down the core, not the window. Main talks to it
// over a MessagePort; see src/main/core/utility-entry.ts for the other end.
import { MessageChannelMain, utilityProcess, type MessagePortMain, type UtilityProcess } from 'electron';
import { createInterface } from 'node:readline';
import type { CallName } from '../../shared/api.js';
import { coreChildEnvironment } from '../core/child-environment.js';
import { CallResponseSchema, CoreStatusMessage, EventMessageSchema, type InitMessage } from '../../shared/core-protocol.js';
import { EnclaveError, type ErrorInfo } from '../../shared/errors.js';
import type { CallResponse, EventMessage } from '../../shared/rpc.js';

export interface CoreHostOptions {
  /** The built utility entry, out/main/core.js. */
  entryPath: string;
  dataDir: string;
  databaseKey: Buffer;
  /** Unpackaged builds under test only: one policy file instead of the managed sources. */
  policyOverridePath: string | null;
  version: string;
  /** How long opening the database and migrating may take before we give up. */
  startTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface CoreHost {
  /** Sends one call; always resolves with a response envelope, never rejects. */
  request(method: CallName, input: unknown): Promise<CallResponse>;
  onEvent(listener: (message: EventMessage) => void): () => void;
  /** Called once if the core stops without being asked to. */
  onUnexpectedExit(listener: (info: ErrorInfo) => void): () => void;
  /** Asks the core to close its database and models, then waits for it to exit. */
  close(): Promise<void>;
}

const DEFAULT_START_TIMEOUT_MS = 120_000;
const CLOSE_TIMEOUT_MS = 10_000;

/**
 * Starts the core and resolves once it has opened the database, or rejects with
 * the core's own reason (wrong key, malformed policy, newer schema, ...).
 */
export function startCoreHost(options: CoreHostOptions): Promise<CoreHost> {
  const log = options.log ?? ((line: string) => console.log(line));
  const child = utilityProcess.fork(options.entryPath, [], {
    serviceName: 'Enclave core',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: coreChildEnvironment(process.env),
  });
  // The core's own log lines, kept briefly so a failed start can say why.
  const recentStderr: string[] = [];
  pipeLines(child.stdout, (line) => log(`[core] ${line}`));
  pipeLines(child.stderr, (line) => {
    log(`[core] ${line}`);
    recentStderr.push(line);
    if (recentStderr.length > 20) recentStderr.shift();
  });

  const { port1, port2 } = new MessageChannelMain();
  const init: InitMessage = {
    type: 'init',
    dataDir: options.dataDir,
    databaseKeyHex: options.databaseKey.toString('hex'),
    policyOverridePath: options.policyOverridePath,
    version: options.version,
  };
  child.postMessage(init, [port2]);

  return new Promise<CoreHost>((resolve, reject) => {
    let started = false;
    const timer = setTimeout(() => {
      if (started) return;
      started = true;
      child.kill();
      reject(new EnclaveError('internal', `The Enclave core did not start within ${Math.round((options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS) / 1000)} seconds.`));
    }, options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);

    const onStatus = (data: unknown): void => {
      const parsed = CoreStatusMessage.safeParse(data);
      if (!parsed.success || started) return;
      started = true;
      clearTimeout(timer);
      if (parsed.data.type === 'fatal') {
        child.kill();
        reject(new EnclaveError(parsed.data.error.code, parsed.data.error.message));
        return;
      }
      resolve(createHost(child, port1, log));
    };
    const onEarlyExit = (code: number): void => {
      if (started) return;
      started = true;
      clearTimeout(timer);
      const tail = recentStderr.length ? ` Last output: ${recentStderr.slice(-5).join(' | ')}` : '';
      reject(new EnclaveError('internal', `The Enclave core exited while starting (exit code ${code}).${tail}`));
    };
    child.on('message', onStatus);
    child.once('exit', onEarlyExit);
  });
}

function createHost(child: UtilityProcess, port: MessagePortMain, log: (line: string) => void): CoreHost {
  let nextId = 1;
  const pending = new Map<number, (response: CallResponse) => void>();
  const eventListeners = new Set<(message: EventMessage) => void>();
  const exitListeners = new Set<(info: ErrorInfo) => void>();
  let stopped: ErrorInfo | null = null;
  let closing: Promise<void> | null = null;

  port.on('message', ({ data }) => {
    const event = EventMessageSchema.safeParse(data);
    if (event.success) {
      for (const listener of eventListeners) listener(event.data);
      return;
    }
    const response = CallResponseSchema.safeParse(data);
    if (!response.success) {
      log('[core-host] dropped a malformed message from the core');
      return;
    }
    const settle = pending.get(response.data.id);
    if (!settle) return;
    pending.delete(response.data.id);
    settle(response.data);
  });
  port.start();

  child.on('exit', (code) => {
    const info: ErrorInfo = closing
      ? { code: 'internal', message: 'Enclave is closing.' }
      : { code: 'internal', message: `The Enclave core stopped unexpectedly (exit code ${code}). Nothing more can be done in this window: restart Enclave.` };
    stopped = info;
    port.close();
    // Every caller still waiting hears why, instead of waiting forever.
    for (const [id, settle] of pending) settle({ id, ok: false, error: info });
    pending.clear();
    if (!closing) {
      log(`[core-host] ${info.message}`);
      for (const listener of exitListeners) listener(info);
    }
  });

  return {
    request(method, input) {
      const id = nextId++;
      if (stopped) return Promise.resolve({ id, ok: false, error: stopped });
      return new Promise<CallResponse>((resolve) => {
        pending.set(id, resolve);
        try {
          port.postMessage({ id, method, input });
        } catch (error) {
          // Input that cannot be structured-cloned (a function, a symbol) never reaches the core.
          pending.delete(id);
          resolve({ id, ok: false, error: { code: 'invalid_input', message: `The request could not be sent: ${(error as Error).message}` } });
        }
      });
    },
    onEvent(listener) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    onUnexpectedExit(listener) {
      exitListeners.add(listener);
      return () => exitListeners.delete(listener);
    },
    close() {
      if (closing) return closing;
      if (stopped) return (closing = Promise.resolve());
      closing = new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          log('[core-host] the core did not close in time; stopping it');
          child.kill();
        }, CLOSE_TIMEOUT_MS);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.postMessage({ type: 'shutdown' });
      });
      return closing;
    },
  };
}

function pipeLines(stream: NodeJS.ReadableStream | null, sink: (line: string) => void): void {
  if (!stream) return;
  createInterface({ input: stream, crlfDelay: Infinity }).on('line', sink);
}
