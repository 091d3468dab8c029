// What chat.search costs over a year of one clinician's sessions (400
// sessions of 20 messages, every title and message sealed with their content
// key on the real encrypted store), beside a baseline measured in the same
// run: reading every message and opening it with the key (AES-256-GCM), the
// least any search without a plaintext index must do once.
//   1. the first search after sign-in (everything opened, then kept in memory);
//   2. each search after it (what typing a query costs), over varied queries;
//   3. the memory the opened text takes.
// Run with `npm run bench`; ENCLAVE_BENCH_CHAT_SESSIONS and _MESSAGES change the size.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { User } from '../../src/shared/api.js';
import { openText, sealText } from '../../src/main/identity/content-crypto.js';
import type { ChatKeys } from '../../src/main/inference/chat-ports.js';
import { ChatSearch } from '../../src/main/inference/chat-search.js';
import { chatSessions, openStore } from '../../src/main/store/index.js';

const SESSIONS = Number(process.env.ENCLAVE_BENCH_CHAT_SESSIONS ?? 400);
const MESSAGES = Number(process.env.ENCLAVE_BENCH_CHAT_MESSAGES ?? 20);
const QUERIES = ['warfarin', 'Heart failure', 'eGFR', 'discharge summary', 'no such phrase anywhere', 'mg', 'penicillin allergy', 'SEPSIS'];
const ROUNDS = 5;

const WORDS =
  'patient admitted with shortness of breath and ankle swelling heart failure reduced ejection fraction started on furosemide 40 mg twice daily eGFR 48 potassium 4.1 warfarin held INR 3.2 plan discharge summary to GP follow up clinic in two weeks penicillin allergy rash sepsis screen negative lactate 1.1 chest x-ray shows bilateral effusions'.split(
    ' ',
  );

function prose(seed: number, chars: number): string {
  let text = '';
  for (let i = seed; text.length < chars; i = (i * 1_103_515_245 + 12_345) % 2 ** 31) text += `${WORDS[i % WORDS.length]} `;
  return text.slice(0, chars);
}

const dir = mkdtempSync(join(tmpdir(), 'enclave-chat-search-bench-'));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const row = (label: string, ms: number, baseline: number) => console.log(`${label.padEnd(58)} ${ms.toFixed(1).padStart(8)} ms  ${(ms / baseline).toFixed(2).padStart(6)}x the baseline`);

async function main(): Promise<void> {
  const store = openStore({ path: join(dir, 'enclave.db'), key: randomBytes(32) });
  const key = randomBytes(32);
  const user: User = { id: 'bench-user', username: 'dr.grey', displayName: 'Dr Grey', roles: ['clinician'], authMethod: 'evaluation-password' };
  const aad = (parts: string[]) => parts.join('\u0000');
  const keys: ChatKeys = {
    keyForNewChats: () => 'bench-key',
    canOpen: () => true,
    sealTitle: (_u, _k, sessionId, title) => sealText(key, title, aad(['title', sessionId])),
    openTitle: (_u, _k, sessionId, stored) => openText(key, stored, aad(['title', sessionId])),
    sealMessage: (_u, _k, m, content) => sealText(key, content, aad([m.sessionId, m.id, m.role])),
    openMessage: (_u, _k, m, stored) => openText(key, stored, aad([m.sessionId, m.id, m.role])),
  };

  // A year of sessions, most recent last; prompts ~400 characters, answers ~1,600.
  const start = Date.parse('2026-01-01T08:00:00Z');
  store.writer
    .prepare("INSERT INTO accounts (id, username, display_name, password_hash, roles, kind, created_at) VALUES (?, 'dr.grey', 'Dr Grey', 'x', '[\"clinician\"]', 'evaluation', 0)")
    .run(user.id);
  store.writer.prepare("INSERT INTO content_keys (id, user_id, key_check, created_at) VALUES ('bench-key', ?, x'00', 0)").run(user.id);
  let chars = 0;
  for (let s = 0; s < SESSIONS; s++) {
    const sessionId = `session-${String(s).padStart(4, '0')}`;
    const time = start + s * 21 * 3_600_000;
    store.transaction((db) => {
      chatSessions.insertSession(db, {
        id: sessionId,
        user_id: user.id,
        title: keys.sealTitle(user.id, 'bench-key', sessionId, prose(s, 50)),
        key_id: 'bench-key',
        workload_id: 'notes',
        created_at: time,
        updated_at: time + MESSAGES * 60_000,
        ended_at: null,
      });
      for (let m = 0; m < MESSAGES; m++) {
        const id = `${sessionId}-${String(m).padStart(3, '0')}`;
        const role = m % 2 === 0 ? 'user' : 'assistant';
        const text = prose(s * 1000 + m, role === 'user' ? 400 : 1600);
        chars += text.length;
        chatSessions.insertMessage(db, {
          id,
          sessionId,
          role,
          content: keys.sealMessage(user.id, 'bench-key', { id, sessionId, role }, text),
          status: 'complete',
          replyTo: null,
          modelId: 'test',
          createdAt: time + m * 60_000,
        });
      }
    });
  }
  console.log(
    `Chat search: ${SESSIONS} sessions x ${MESSAGES} messages = ${(SESSIONS * MESSAGES).toLocaleString('en')} messages, ${(chars / 1e6).toFixed(1)} M characters, sealed. Node ${process.version}, ${process.arch}.\n`,
  );

  // Baseline: read every message and open it with the key, once.
  const baselines: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    for (const session of chatSessions.sessionsOfUser(store.reader, user.id)) {
      keys.openTitle(user.id, session.key_id, session.id, session.title);
      for (const message of chatSessions.messagesOfSession(store.reader, session.id))
        keys.openMessage(user.id, session.key_id, { id: message.id, sessionId: session.id, role: message.role }, message.content);
    }
    baselines.push(performance.now() - t);
  }
  const baseline = median(baselines);
  console.log(`${'Baseline: read and decrypt every title and message'.padEnd(58)} ${baseline.toFixed(1).padStart(8)} ms`);

  const gate = { epoch: 1, staleness: () => null };
  const firsts: number[] = [];
  const warm: number[] = [];
  let hits = 0;
  let heapBefore = 0;
  let heapAfter = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const search = new ChatSearch({ store, keys, session: gate });
    globalThis.gc?.();
    heapBefore = process.memoryUsage().heapUsed;
    let t = performance.now();
    hits = (await search.search(user, { query: QUERIES[i % QUERIES.length]!, limit: 50 })).hits.length;
    firsts.push(performance.now() - t);
    globalThis.gc?.();
    heapAfter = process.memoryUsage().heapUsed;
    for (const query of QUERIES) {
      t = performance.now();
      await search.search(user, { query, limit: 50 });
      warm.push(performance.now() - t);
    }
  }
  row('First search after sign-in (opens and keeps every message)', median(firsts), baseline);
  row(`Each search after it (median of ${warm.length}, ${QUERIES.length} queries)`, median(warm), baseline);
  row('Each search after it, slowest', Math.max(...warm), baseline);
  console.log(
    `\nA search found ${hits} hits (limit 50). Opened text kept in memory: about ${((heapAfter - heapBefore) / 2 ** 20).toFixed(0)} MiB${globalThis.gc ? '' : ' (run node with --expose-gc for a steadier figure)'}.`,
  );
  store.close();
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
