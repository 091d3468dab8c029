// The audit is PHI-free: what leaves the workstation (the signed record, every
// SIEM rendering of it, an export bundle) holds no text a person typed and no
// plain SHA-256 of it, only lengths and keyed hashes (HMAC-SHA-256 with the
// workstation's secret). The text stays in the local encrypted store, where
// the compliance officer reads it and checks "was this exact text the prompt
// of event X". Through the real core on the generated test model.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AuditLog,
  AuditRecordSchema,
  canonicalJson,
  checkEventText,
  describeBundleReport,
  currentEnrolmentKey,
  ensureEnrolmentKey,
  exportAuditBundle,
  hashRecord,
  pruneSealedEvents,
  sealPending,
  statedAuditFilter,
  verifyAuditBundle,
  verifyAuditChain,
  type AuditRecord,
} from '../support/audit-internals.js';
import { HEAD_HASH_KEY, HEAD_SEQ_KEY } from '../../src/main/audit/log.js';
import type { Core } from '../../src/main/core/index.js';
import { runCli } from '../../src/main/cli/main.js';
import { KEY_FILE, loadOrCreateKeyFile } from '../../src/main/keys/index.js';
import { DATABASE_FILE, openStore } from '../../src/main/store/index.js';
import { renderLeef } from '../../src/main/siem/formats/leef.js';
import { call, callError, EVAL_USER } from '../support/core.js';
import { bundleTexts, leaks, sha256Of, siemRenderings } from '../support/phi.js';
import { cleanupsAfterEach, tempDir } from '../support/temp.js';
import { approvedTestModel } from '../support/test-model.js';
import { answer, startWithPolicy } from '../support/workload-core.js';

let model: { path: string; sha256: string };
const cleanups = cleanupsAfterEach();

beforeAll(async () => {
  model = await approvedTestModel();
});

interface Row {
  seq: number;
  record: string;
}

function rows(core: Core, action: string): Row[] {
  return core.store.writer.prepare('SELECT seq, record FROM audit_events WHERE action = ? ORDER BY seq').all(action) as Row[];
}

function allRecords(core: Core): string[] {
  return (core.store.writer.prepare('SELECT record FROM audit_events ORDER BY seq').all() as { record: string }[]).map((r) => r.record);
}

/** Each record as stored and as every SIEM destination would receive it. */
function everywhere(records: readonly string[]): string[] {
  return records.flatMap((r) => [r, ...siemRenderings(r)]);
}

const PROMPT = 'MRN 4471 diabetic?';

describe('prompts and answers', () => {
  it('are recorded by length and keyed hash: no plain SHA-256 of either in the record nor in any SIEM rendering of it', async () => {
    const core = await startWithPolicy(cleanups, model, ['clinician', 'compliance']);
    const session = await call(core, 'chat.create', {});
    const reply = await answer(core, session.id, PROMPT);

    const [prompt] = rows(core, 'ai.prompt');
    const [response] = rows(core, 'ai.response');
    const promptRecord = AuditRecordSchema.parse(JSON.parse(prompt!.record));
    const responseRecord = AuditRecordSchema.parse(JSON.parse(response!.record));
    expect(promptRecord.ai?.prompt).toEqual({ hmac_sha256: expect.stringMatching(/^[0-9a-f]{64}$/), chars: PROMPT.length, tokens: expect.any(Number) });
    expect(responseRecord.ai?.response).toMatchObject({ hmac_sha256: expect.stringMatching(/^[0-9a-f]{64}$/), chars: reply.text.length });
    expect(promptRecord.ai?.prompt?.hmac_sha256).not.toBe(sha256Of(PROMPT));
    // Neither the texts nor their guessable SHA-256 anywhere the record goes.
    expect(leaks(everywhere([prompt!.record, response!.record]), [PROMPT, reply.text])).toEqual([]);
    // LEEF names the keyed hash as such.
    expect(renderLeef(promptRecord, 1, { enterpriseNumber: 1, productVersion: 't', vendor: 'E' })).toContain(`promptHmacSha256=${promptRecord.ai!.prompt!.hmac_sha256}`);
  });

  it('audit.checkText answers whether an exact text was the prompt or answer of an event, on this workstation only, and audits the check without the text', async () => {
    const core = await startWithPolicy(cleanups, model, ['clinician', 'compliance']);
    const session = await call(core, 'chat.create', {});
    const reply = await answer(core, session.id, PROMPT);
    const promptId = AuditRecordSchema.parse(JSON.parse(rows(core, 'ai.prompt')[0]!.record)).event.id;
    const responseId = AuditRecordSchema.parse(JSON.parse(rows(core, 'ai.response')[0]!.record)).event.id;

    expect(await call(core, 'audit.checkText', { eventId: promptId, text: PROMPT })).toMatchObject({ matches: true, field: 'prompt', fields: ['prompt'] });
    // Pasted with a line break after it: prompts are stored trimmed.
    expect(await call(core, 'audit.checkText', { eventId: promptId, text: `${PROMPT}\n` })).toMatchObject({ matches: true, field: 'prompt' });
    expect(await call(core, 'audit.checkText', { eventId: promptId, text: 'MRN 4472 diabetic?' })).toMatchObject({ matches: false, field: null, fields: ['prompt'] });
    expect(await call(core, 'audit.checkText', { eventId: responseId, text: reply.text })).toMatchObject({ matches: true, field: 'response' });
    expect(await call(core, 'audit.checkText', { eventId: responseId, text: PROMPT })).toMatchObject({ matches: false });
    const unknown = '01900000-0000-7000-8000-000000000000';
    expect(await callError(core, 'audit.checkText', { eventId: unknown, text: PROMPT })).toMatchObject({ code: 'not_found' });

    const checks = rows(core, 'audit.text_check').map((r) => AuditRecordSchema.parse(JSON.parse(r.record)));
    expect(checks.map((c) => [c.event.outcome, c.enclave.detail?.event_id, c.enclave.detail?.matched ?? null])).toEqual([
      ['success', promptId, true],
      ['success', promptId, true],
      ['success', promptId, false],
      ['success', responseId, true],
      ['success', responseId, false],
      ['failure', unknown, null],
    ]);
    expect(checks.every((c) => c.user?.name === EVAL_USER.username)).toBe(true);
    expect(leaks(everywhere(rows(core, 'audit.text_check').map((r) => r.record)), [PROMPT, 'MRN 4472 diabetic?', reply.text])).toEqual([]);
  });

  it('audit.checkText is for the compliance role alone', async () => {
    const core = await startWithPolicy(cleanups, model, ['clinician']);
    const session = await call(core, 'chat.create', {});
    await answer(core, session.id, PROMPT);
    const promptId = AuditRecordSchema.parse(JSON.parse(rows(core, 'ai.prompt')[0]!.record)).event.id;
    expect(await callError(core, 'audit.checkText', { eventId: promptId, text: PROMPT })).toMatchObject({ code: 'forbidden' });
  });
});

describe('a user name typed at sign-in', () => {
  // A password typed into the user name field, the classic case.
  const TYPED = 'Tr0ub4dor&3-horse';

  it('that names no account is recorded by keyed token: never in the record, a SIEM message or an export bundle; the compliance officer sees it here, finds it by search and can check it', async () => {
    const core = await startWithPolicy(cleanups, model, ['clinician', 'compliance']);
    await call(core, 'auth.signOut', {});
    expect((await callError(core, 'auth.signIn', { username: TYPED, password: 'whatever' })).code).toBe('bad_credentials');
    // A wrong password for a real account names the account: that is no secret.
    expect((await callError(core, 'auth.signIn', { username: EVAL_USER.username.toUpperCase(), password: 'wrong password' })).code).toBe('bad_credentials');
    await call(core, 'auth.signIn', { username: EVAL_USER.username, password: EVAL_USER.password });

    const failures = rows(core, 'auth.login')
      .map((r) => ({ ...r, parsed: AuditRecordSchema.parse(JSON.parse(r.record)) }))
      .filter((r) => r.parsed.event.outcome === 'failure');
    expect(failures.map((f) => f.parsed.user?.name)).toEqual([expect.stringMatching(/^hmac-sha256:[0-9a-f]{64}$/), EVAL_USER.username]);

    // The compliance screen: the search by the typed text finds the attempt, and shows what was typed.
    const found = await call(core, 'audit.search', { user: TYPED, action: 'auth.login', limit: 10 });
    expect(found.events.map((e) => e.sequence)).toEqual([failures[0]!.seq]);
    expect(found.events[0]!.privateText).toEqual({ user_name: TYPED });
    expect((await call(core, 'audit.search', { user: TYPED.toUpperCase(), limit: 10 })).events.map((e) => e.sequence)).toEqual([failures[0]!.seq]);
    expect(await call(core, 'audit.checkText', { eventId: failures[0]!.parsed.event.id, text: TYPED })).toMatchObject({ matches: true, field: 'user.name' });

    // An export of that user's events: the bundle states the filter by token, and verifies.
    const exported = await call(core, 'audit.export', { user: TYPED });
    expect(exported.selectedEvents).toBe(1);
    const report = verifyAuditBundle(exported.directory, { expectedKeyIds: exported.keyIds });
    expect(report.ok).toBe(true);

    // Nowhere outside this workstation: not in any record (the search and the export that named it included), any SIEM message, or the bundle's files.
    expect(leaks([...everywhere(allRecords(core)), ...bundleTexts(exported.directory)], [TYPED])).toEqual([]);
    // The searches and the export kept what was typed here, for the compliance screen.
    const searches = await call(core, 'audit.search', { action: 'audit.search', limit: 10 });
    expect(searches.events.some((e) => e.privateText.filter_user === TYPED)).toBe(true);
  });
});

describe('typed text the record is about', () => {
  function lab() {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const store = openStore({ path: join(dir.path, 'enclave.db'), key: randomBytes(32) });
    cleanups.push(() => store.close());
    store.setMeta('host.id', 'host-1');
    let time = Date.parse('2026-11-23T10:00:00Z');
    const now = () => (time += 1000);
    const audit = new AuditLog({ store, hostId: 'host-1', hostName: 'ward7-ws12', serviceVersion: 'test', now });
    ensureEnrolmentKey(store, audit, now);
    const seal = { maxEvents: 1000, institution: 'St Example', hostId: 'host-1', hostName: 'ward7-ws12', now };
    return { dir, store, audit, now, seal };
  }
  const REASON = 'Pt John Smith MRN 4471 coding in bay 3';

  it('goes to the record as length and keyed hash, is kept locally in the same transaction, and is deleted with its event when delivered events are pruned', () => {
    const { store, audit, seal } = lab();
    const written = audit.record({ action: 'auth.breakglass', outcome: 'success', user: { name: 'dr.grey' }, privateText: { stated_reason: REASON } });
    expect(written.enclave.detail).toEqual({ stated_reason_hmac: expect.stringMatching(/^[0-9a-f]{64}$/), stated_reason_chars: REASON.length });
    expect(leaks(everywhere([canonicalJson(written)]), [REASON])).toEqual([]);
    const kept = () => store.writer.prepare('SELECT event_seq, field, text FROM audit_private_text').all();
    expect(kept()).toEqual([{ event_seq: written.event.sequence, field: 'stated_reason', text: REASON }]);

    // An action that fails takes its event, and the event's text, with it.
    expect(() =>
      audit.run(
        () => {
          throw new Error('refused');
        },
        () => ({ action: 'auth.breakglass', outcome: 'success', privateText: { stated_reason: 'never kept' } }),
      ),
    ).toThrow('refused');
    expect(kept()).toHaveLength(1);

    for (let i = 0; i < 3; i++) audit.record({ action: 'auth.login', outcome: 'success', user: { name: 'dr.grey' } });
    sealPending(store, seal);
    audit.record({ action: 'auth.logout', outcome: 'success', user: { name: 'dr.grey' } });
    sealPending(store, seal);
    store.transaction((db) => pruneSealedEvents(db, 1));
    expect(store.writer.prepare('SELECT count(*) AS n FROM audit_events WHERE seq = ?').get(written.event.sequence)).toEqual({ n: 0 });
    expect(kept()).toEqual([]);
    expect(verifyAuditChain(store.reader).ok).toBe(true);
  });

  it('an export bundle holds none of it, and the bundle verifies', () => {
    const { dir, store, audit, seal, now } = lab();
    audit.record({ action: 'auth.breakglass', outcome: 'success', user: { name: 'dr.grey' }, privateText: { stated_reason: REASON } });
    audit.record({ action: 'auth.login', outcome: 'failure', reason: 'unknown_user', user: { name: 'hunter2-password', typed: true } });
    sealPending(store, seal);
    const out = join(dir.path, 'bundle');
    const result = store.transaction((db) => exportAuditBundle(db, {}, out, { exportedBy: 'officer', now: now(), seal }));
    expect(result.selectedEvents).toBeGreaterThanOrEqual(2);
    expect(leaks(bundleTexts(out), [REASON, 'hunter2-password'])).toEqual([]);
    const report = verifyAuditBundle(out, { expectedKeyIds: [currentEnrolmentKey(store)!.keyId] });
    expect(report.ok, describeBundleReport(report).join('\n')).toBe(true);
  });

  it('a search term is stated as typed when an account or a record already names it so, else by its keyed token with the text kept here', () => {
    const { audit } = lab();
    // A card's UPN that names no account here is in the record as it is (it came from the certificate, not a keyboard).
    audit.record({ action: 'auth.login', outcome: 'failure', reason: 'card_unknown_user', user: { name: 'card.owner@hospital.example' } });
    expect(statedAuditFilter(audit, { user: 'Card.Owner@Hospital.Example' })).toEqual({
      filter: { user: 'Card.Owner@Hospital.Example' },
      detail: expect.objectContaining({ filter_user: 'Card.Owner@Hospital.Example' }),
    });
    const typed = statedAuditFilter(audit, { user: 'MRN 4471' });
    expect(typed.filter.user).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(typed.detail.filter_user).toBe(typed.filter.user);
    expect(typed.privateText).toEqual({ filter_user: 'MRN 4471' });
  });

  it('a private text field must be a plain name, and cannot pose as the typed user name', () => {
    const { audit, store } = lab();
    expect(() => audit.record({ action: 'auth.login', outcome: 'failure', privateText: { 'Stated Reason': 'x' } })).toThrow(/cannot name private audit text/);
    expect(() => audit.record({ action: 'auth.login', outcome: 'failure', privateText: { user_name: 'x' } })).toThrow(/cannot name private audit text/);
    expect(store.writer.prepare('SELECT count(*) AS n FROM audit_private_text').get()).toEqual({ n: 0 });
  });
});

describe('records written before keyed hashes', () => {
  it('with a plain SHA-256 of the prompt still parse, verify in the chain and in a bundle, render for the SIEM, and can be checked', () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const store = openStore({ path: join(dir.path, 'enclave.db'), key: randomBytes(32) });
    cleanups.push(() => store.close());
    store.setMeta('host.id', 'host-1');
    let time = Date.parse('2026-01-05T09:00:00Z');
    const now = () => (time += 1000);
    const audit = new AuditLog({ store, hostId: 'host-1', hostName: 'ward7-ws12', serviceVersion: 'test', now });
    ensureEnrolmentKey(store, audit, now);
    audit.record({ action: 'auth.login', outcome: 'success', user: { name: 'dr.grey' } });

    // An ai.prompt event as the earlier version wrote it, appended to the chain through the store.
    const head = store.writer.prepare('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string };
    const old = {
      '@timestamp': new Date(now()).toISOString(),
      event: { id: '01900000-0000-7000-8000-00000000abcd', sequence: head.seq + 1, action: 'ai.prompt' as const, outcome: 'success' as const },
      prev: head.hash,
      host: { id: 'host-1', name: 'ward7-ws12' },
      service: { name: 'enclave' as const, version: '0.0.9' },
      user: { name: 'dr.grey' },
      enclave: { clock_state: 'unknown' as const, session_id: 's-1' },
      ai: { prompt: { sha256: sha256Of(PROMPT), tokens: 9, chars: PROMPT.length } },
    };
    const record: AuditRecord = { ...old, event: { ...old.event, hash: hashRecord(old) } };
    store.transaction((db) => {
      db.prepare('INSERT INTO audit_events (seq, id, ts, action, record, hash) VALUES (?, ?, ?, ?, ?, ?)').run(
        old.event.sequence,
        old.event.id,
        time,
        'ai.prompt',
        canonicalJson(record),
        record.event.hash,
      );
      db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(String(old.event.sequence), HEAD_SEQ_KEY);
      db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(record.event.hash, HEAD_HASH_KEY);
    });
    // Then the new version carries on the same chain.
    audit.record({ action: 'ai.prompt', outcome: 'success', user: { name: 'dr.grey' }, sessionId: 's-1', prompt: { text: PROMPT, tokens: 9 } });

    expect(verifyAuditChain(store.reader)).toMatchObject({ ok: true, firstBad: null });
    const seal = { maxEvents: 1000, institution: 'St Example', hostId: 'host-1', hostName: 'ward7-ws12', now };
    sealPending(store, seal);
    const out = join(dir.path, 'bundle');
    store.transaction((db) => exportAuditBundle(db, { action: 'ai.prompt' }, out, { exportedBy: 'officer', now: now(), seal }));
    const report = verifyAuditBundle(out, { expectedKeyIds: [currentEnrolmentKey(store)!.keyId] });
    expect(report.ok, describeBundleReport(report).join('\n')).toBe(true);
    expect(siemRenderings(canonicalJson(record)).find((m) => m.includes('promptSha256='))).toContain(`promptSha256=${sha256Of(PROMPT)}`);
    expect(checkEventTextOf(store, old.event.id, PROMPT)).toMatchObject({ matches: true, field: 'prompt' });
  });
});

function checkEventTextOf(store: ReturnType<typeof openStore>, eventId: string, text: string) {
  return store.transaction((db) => checkEventText(db, eventId, text));
}

describe('enclave audit check-text', () => {
  it('reads the text from standard input, answers by exit code, and audits the check without the text', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const key = loadOrCreateKeyFile(join(dir.path, KEY_FILE), { databasePath: join(dir.path, DATABASE_FILE) });
    const store = openStore({ path: join(dir.path, DATABASE_FILE), key });
    store.setMeta('host.id', 'host-1');
    const audit = new AuditLog({ store, hostId: 'host-1', hostName: 'ward7-ws12', serviceVersion: 'test', now: Date.now });
    const prompt = audit.record({ action: 'ai.prompt', outcome: 'success', user: { name: 'dr.grey' }, sessionId: 's-1', prompt: { text: PROMPT } });
    store.close();

    const run = async (args: string[], input: string) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runCli(['audit', 'check-text', '--data-dir', dir.path, ...args], { out: (l) => out.push(l), err: (l) => err.push(l), readInput: async () => input });
      return { code, out: out.join('\n'), err: err.join('\n') };
    };
    // As `echo ... | enclave audit check-text` gives it: with a line break.
    expect(await run(['--event', prompt.event.id], `${PROMPT}\n`)).toMatchObject({ code: 0, out: expect.stringMatching(/^Matches: the text is exactly prompt of event 1/) });
    expect(await run(['--event', prompt.event.id], 'MRN 4472 diabetic?')).toMatchObject({ code: 1, out: expect.stringMatching(/^No match/) });
    expect(await run(['--event', '01900000-0000-7000-8000-000000000000'], PROMPT)).toMatchObject({ code: 2, err: expect.stringMatching(/no audit event 01900000-0000-7000-8000-000000000000/) });
    expect(await run(['--event', 'not-an-id'], PROMPT)).toMatchObject({ code: 2, err: expect.stringMatching(/needs --event <id>/) });
    expect(await run(['--event', prompt.event.id], '')).toMatchObject({ code: 2, err: expect.stringMatching(/standard input, and it was empty/) });

    const reopened = openStore({ path: join(dir.path, DATABASE_FILE), key });
    cleanups.push(() => reopened.close());
    const checks = (reopened.writer.prepare("SELECT record FROM audit_events WHERE action = 'audit.text_check' ORDER BY seq").all() as { record: string }[]).map((r) => r.record);
    expect(checks.map((r) => AuditRecordSchema.parse(JSON.parse(r))).map((r) => [r.event.outcome, r.enclave.detail?.matched ?? null, r.user?.auth_method])).toEqual([
      ['success', true, 'os-account'],
      ['success', false, 'os-account'],
      ['failure', null, 'os-account'],
    ]);
    expect(leaks(everywhere(checks), [PROMPT, 'MRN 4472 diabetic?'])).toEqual([]);
  });
});
