// Drives a real headless core the way the renderer does: through envelopes.
import type { CallInput, CallName, CallOutput, EventName, EventPayload } from '../../src/shared/api.js';
import type { ErrorInfo } from '../../src/shared/errors.js';
import type { EventMessage } from '../../src/shared/rpc.js';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCore, type Core } from '../../src/main/core/index.js';
import { readPolicy } from '../../src/main/policy/index.js';
import { tempDir } from './temp.js';

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

/**
 * A core on a fresh data folder whose policy is a file it watches (the
 * override path, as unpackaged test builds use): write the file to change
 * policy while it runs. dispose() closes the core and removes the folder.
 */
export async function startWatchedCore(policyText: string): Promise<{ core: Core; policyFile: string; dispose: () => Promise<void> }> {
  const dir = tempDir();
  const policyFile = join(dir.path, 'policy.json');
  writeFileSync(policyFile, policyText);
  const environment = { overridePath: policyFile };
  const core = await createCore({
    dataDir: dir.path,
    databaseKey: randomBytes(32),
    policy: await readPolicy(environment),
    policyWatch: { ...environment, intervalMs: 100 },
    version: 'test',
    log: () => undefined,
  });
  return {
    core,
    policyFile,
    dispose: async () => {
      await core.close();
      dir.remove();
    },
  };
}

/** A new chat session with one prompt answered in full; returns its id. */
export async function chatWith(core: Core, text: string): Promise<string> {
  const session = await call(core, 'chat.create', {});
  const done = nextEvent(core, 'chat.done', (d) => d.sessionId === session.id);
  await call(core, 'chat.send', { sessionId: session.id, text });
  const status = (await done).status;
  if (status !== 'complete') throw new Error(`the answer to "${text}" ended as ${status}, not complete`);
  return session.id;
}

/** The prompts of every chat the signed-in person can open (locked ones are skipped), sorted. */
export async function openablePrompts(core: Core): Promise<string[]> {
  const texts: string[] = [];
  for (const session of await call(core, 'chat.list', {})) {
    if (session.locked) continue;
    const opened = await call(core, 'chat.open', { sessionId: session.id });
    texts.push(...opened.messages.filter((m) => m.role === 'user').map((m) => m.content));
  }
  return texts.sort();
}
