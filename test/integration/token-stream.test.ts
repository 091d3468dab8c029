// Answer text is batched per frame on its way out of the core: a whole answer
// of the generated test model, real llama.cpp and the real store.
import { beforeAll, expect, it } from 'vitest';
import { createHeadlessCore, type HeadlessCore } from '../../src/main/core/headless.js';
import type { EventPayload } from '../../src/shared/api.js';
import { call, EVAL_USER, nextEvent } from '../support/core.js';
import { cleanupsAfterEach, tempDir } from '../support/temp.js';
import { testModelPath } from '../support/test-model.js';

let modelPath: string;
const cleanups = cleanupsAfterEach();

beforeAll(async () => {
  modelPath = await testModelPath();
});

async function start(): Promise<HeadlessCore> {
  const dir = tempDir();
  cleanups.push(dir.remove);
  const core = await createHeadlessCore({ dataDir: dir.path, log: () => undefined });
  cleanups.push(() => core.close());
  return core;
}

it('a whole answer arrives in fewer chat.token events than tokens, adding up to the stored message, all before chat.done', async () => {
  const core = await start();
  await call(core, 'auth.createFirstAccount', EVAL_USER);
  await call(core, 'model.addFile', { path: modelPath });
  const session = await call(core, 'chat.create', {});

  const received: EventPayload<'chat.token'>[] = [];
  let tokenAfterDone = false;
  let doneSeen = false;
  core.onEvent(({ event, payload }) => {
    if (event === 'chat.token') {
      received.push(payload as EventPayload<'chat.token'>);
      if (doneSeen) tokenAfterDone = true;
    }
    if (event === 'chat.done') doneSeen = true;
  });
  const done = nextEvent(core, 'chat.done');
  const { responseId } = await call(core, 'chat.send', { sessionId: session.id, text: 'Summarise the discharge note.' });
  const result = await done;
  expect(result).toMatchObject({ sessionId: session.id, responseId, status: 'complete', error: null });

  // The token count the audit record holds for this answer.
  const row = core.store.writer
    .prepare("SELECT json_extract(record, '$.ai.response.tokens') AS tokens FROM audit_events WHERE json_extract(record, '$.enclave.message_id') = ? ORDER BY seq DESC LIMIT 1")
    .get(responseId) as { tokens: number | null } | undefined;
  const tokens = row?.tokens ?? 0;
  expect(tokens).toBeGreaterThan(10);

  expect(received.every((t) => t.sessionId === session.id && t.responseId === responseId)).toBe(true);
  expect(received.length).toBeGreaterThan(0);
  expect(received.length).toBeLessThan(tokens);
  expect(received.map((t) => t.text).join('')).toBe(result.message!.content);
  const stored = await call(core, 'chat.open', { sessionId: session.id });
  expect(stored.messages.find((m) => m.id === responseId)?.content).toBe(result.message!.content);
  expect(tokenAfterDone).toBe(false);
});
