// The core's entry when Electron hosts it in a utilityProcess (see
// src/main/electron/core-host.ts for the other end). Plain Node: Electron's
// APIs reach us only as `process.parentPort`, typed here by what we use, so
// this file never imports 'electron'.
import { EnclaveError, type ErrorInfo } from '../../shared/errors.js';
import { CallRequestSchema, InitMessage, ShutdownMessage, type CoreStatusMessage } from '../../shared/core-protocol.js';
import type { CallResponse, EventMessage } from '../../shared/rpc.js';
import { readPolicy, type PolicyEnvironment } from '../policy/index.js';
import { createCore, type Core } from './index.js';
import { describeCoreDumpLimit, limitCoreDumps } from './process-hardening.js';

interface PortMessageEvent {
  data: unknown;
  ports: MessagePortLike[];
}

/** Electron's MessagePortMain, as far as we use it. */
interface MessagePortLike {
  on(event: 'message', listener: (event: PortMessageEvent) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  postMessage(message: unknown): void;
  start(): void;
  close(): void;
}

/** Electron's ParentPort, as far as we use it. */
interface ParentPortLike {
  on(event: 'message', listener: (event: PortMessageEvent) => void): unknown;
  once(event: 'message', listener: (event: PortMessageEvent) => void): unknown;
  postMessage(message: unknown): void;
}

const parentPort = (process as unknown as { parentPort?: ParentPortLike }).parentPort;

function toErrorInfo(error: unknown, context: string): ErrorInfo {
  if (error instanceof EnclaveError) return error.toInfo();
  return { code: 'internal', message: `${context}: ${error instanceof Error ? error.message : String(error)}` };
}

function report(message: CoreStatusMessage): void {
  parentPort?.postMessage(message);
}

/** Says why, then exits non-zero; the delay lets the message cross to main before the process goes. */
function fatal(error: unknown): void {
  const info = toErrorInfo(error, 'The Enclave core could not start');
  console.error(`[core] fatal: ${info.code}: ${info.message}`);
  report({ type: 'fatal', error: info });
  setTimeout(() => process.exit(1), 250);
}

function serve(core: Core, port: MessagePortLike, shutdown: () => void): void {
  core.onEvent((message: EventMessage) => port.postMessage(message));
  port.on('message', (event) => {
    const parsed = CallRequestSchema.safeParse(event.data);
    if (!parsed.success) {
      const id = (event.data as { id?: unknown } | null)?.id;
      if (typeof id === 'number') {
        const response: CallResponse = { id, ok: false, error: { code: 'invalid_input', message: 'The request envelope is malformed.' } };
        port.postMessage(response);
      }
      return;
    }
    const request = parsed.data;
    core.handle(request).then(
      (response) => port.postMessage(response),
      (error: unknown) => {
        const response: CallResponse = { id: request.id, ok: false, error: toErrorInfo(error, 'The Enclave core failed') };
        port.postMessage(response);
      },
    );
  });
  // Main went away: nobody is left to serve.
  port.on('close', shutdown);
  port.start();
}

function start(): void {
  // Before the key arrives: nothing of this process's memory goes into a crash dump.
  const dumps = describeCoreDumpLimit(limitCoreDumps());
  if (dumps) console.error(`[core] ${dumps}`);
  if (!parentPort) {
    console.error('This is the Enclave core for the desktop app; Electron starts it. For the command line, use `enclave`.');
    process.exit(2);
  }
  const port = parentPort;
  port.once('message', (event) => {
    const init = InitMessage.safeParse(event.data);
    const channel = event.ports[0];
    if (!init.success || !channel) {
      const problem = init.success ? 'no message port was handed over' : init.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      fatal(new EnclaveError('internal', `The Enclave core was started with a malformed init message (${problem}).`));
      return;
    }
    void boot(init.data, channel).catch(fatal);
  });
}

async function boot(init: InitMessage, channel: MessagePortLike): Promise<void> {
  // The core reads the managed policy itself and keeps watching it; a policy
  // that does not validate starts the core in its locked policy-error state.
  const environment: PolicyEnvironment = { overridePath: init.policyOverridePath ?? undefined };
  const core = await createCore({
    dataDir: init.dataDir,
    // createCore zeroes this Buffer once the store is open. The hex string it
    // came in (a structured-clone copy of main's) cannot be zeroed; see keys/index.ts.
    databaseKey: Buffer.from(init.databaseKeyHex, 'hex'),
    policy: await readPolicy(environment),
    policyWatch: environment,
    version: init.version,
  });

  let closing: Promise<void> | null = null;
  const shutdown = (): void => {
    closing ??= core
      .close()
      .catch((error: unknown) => console.error(`[core] close failed: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => process.exit(0));
  };
  parentPort?.on('message', (event) => {
    if (ShutdownMessage.safeParse(event.data).success) shutdown();
  });
  serve(core, channel, shutdown);
  report({ type: 'ready' });
}

start();
