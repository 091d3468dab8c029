// Workforce governance on the real core: each person's display preferences,
// policy's acceptable-use statement (shown at sign-in, audited, declining
// signs out), and the idle lock counted from the activity a late report names.
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import evaluationDocument from '../../resources/policy/evaluation.json' with { type: 'json' };
import { createHeadlessCore, type HeadlessCore } from '../../src/main/core/headless.js';
import { statementSha256 } from '../../src/main/identity/attestation.js';
import { hashPassword } from '../../src/main/identity/password.js';
import { policyFromDocument } from '../../src/main/policy/index.js';
import { accounts } from '../../src/main/store/index.js';
import type { Core } from '../../src/main/core/index.js';
import { call, callError, EVAL_USER, nextEvent, startWatchedCore } from '../support/core.js';
import { cleanupsAfterEach, tempDir } from '../support/temp.js';

const cleanups = cleanupsAfterEach();
const DAY_MS = 86_400_000;

const STATEMENT = 'Use Enclave for patient care and approved research only.\n\nDo not paste notes into any other tool.';

type Document = typeof evaluationDocument & Record<string, unknown>;
const documentWith = (extra: Record<string, unknown>): Document => ({ ...structuredClone(evaluationDocument), ...extra });

async function start(options: { document?: Record<string, unknown>; dataDir?: string; now?: () => number } = {}): Promise<HeadlessCore> {
  let dataDir = options.dataDir;
  if (!dataDir) {
    const dir = tempDir();
    cleanups.push(dir.remove);
    dataDir = dir.path;
  }
  const policy = policyFromDocument(documentWith(options.document ?? {}), 'test policy');
  const core = await createHeadlessCore({ dataDir, policy, log: () => undefined, ...(options.now ? { now: options.now } : {}) });
  cleanups.push(() => core.close());
  return core;
}

type AuditRow = { action: string; outcome: string; reason?: string; detail?: Record<string, unknown>; raw: string };
function audited(core: Core, action: string): AuditRow[] {
  return (core.store.reader.prepare('SELECT record FROM audit_events WHERE action = ? ORDER BY seq').all(action) as { record: string }[]).map((r) => {
    const record = JSON.parse(r.record);
    const e = record.event;
    return { action: e.action, outcome: e.outcome, ...(e.reason ? { reason: e.reason } : {}), ...(record.enclave.detail ? { detail: record.enclave.detail } : {}), raw: r.record };
  });
}

/** A second evaluation-kind account on the same workstation, as a second person (evaluation mode creates only one through the app). */
async function addSecondPerson(core: Core): Promise<{ username: string; password: string }> {
  const person = { username: 'dr.bailey', password: 'another long passphrase' };
  const hash = await hashPassword(person.password);
  accounts.insertEvaluationAccount(
    core.store.writer,
    { id: '01900000-0000-7000-8000-000000000002', username: person.username, displayName: 'Dr Miranda Bailey', roles: ['clinician'] },
    hash,
    Date.now(),
  );
  return person;
}

describe('preferences', () => {
  it('start at the defaults, change one at a time, and are refused when out of range', async () => {
    const core = await start();
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    expect(await call(core, 'prefs.get', {})).toEqual({ textScale: 100, theme: 'system' });
    expect(await call(core, 'prefs.set', { textScale: 150 })).toEqual({ textScale: 150, theme: 'system' });
    expect(await call(core, 'prefs.set', { theme: 'dark' })).toEqual({ textScale: 150, theme: 'dark' });

    for (const bad of [{ textScale: 79 }, { textScale: 201 }, { textScale: 120.5 }, { theme: 'blue' }, { fontSize: 12 }]) {
      expect((await callError(core, 'prefs.set', bad)).code).toBe('invalid_input');
    }
    // Nothing a refused change carried was kept.
    expect(await call(core, 'prefs.get', {})).toEqual({ textScale: 150, theme: 'dark' });
  });

  it('work while locked, not while signed out, and survive a restart', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const first = await start({ dataDir: dir.path });
    await call(first, 'auth.createFirstAccount', EVAL_USER);
    await call(first, 'prefs.set', { textScale: 175 });
    await call(first, 'auth.lock', {});
    // The lock screen is shown at the person's own size.
    expect(await call(first, 'prefs.set', { theme: 'light' })).toEqual({ textScale: 175, theme: 'light' });
    await call(first, 'auth.signOut', {});
    expect((await callError(first, 'prefs.get', {})).code).toBe('not_signed_in');
    await first.close();

    const second = await start({ dataDir: dir.path });
    await call(second, 'auth.signIn', { username: EVAL_USER.username, password: EVAL_USER.password });
    expect(await call(second, 'prefs.get', {})).toEqual({ textScale: 175, theme: 'light' });
  });

  it('each person keeps their own', async () => {
    const core = await start();
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    await call(core, 'prefs.set', { textScale: 200, theme: 'dark' });
    const other = await addSecondPerson(core);
    await call(core, 'auth.signOut', {});

    await call(core, 'auth.signIn', other);
    expect(await call(core, 'prefs.get', {})).toEqual({ textScale: 100, theme: 'system' });
    await call(core, 'prefs.set', { theme: 'light' });
    await call(core, 'auth.signOut', {});

    await call(core, 'auth.signIn', { username: EVAL_USER.username, password: EVAL_USER.password });
    expect(await call(core, 'prefs.get', {})).toEqual({ textScale: 200, theme: 'dark' });
  });
});

describe('the acceptable-use statement', () => {
  it('is due at the first sign-in; until accepted only status, preferences, lock, sign-out and the answer work, and refusals are audited', async () => {
    const core = await start({ document: { acceptableUse: { text: `  ${STATEMENT.replace(/\n/g, '\r\n')}\r\n` } } });
    const state = await call(core, 'auth.createFirstAccount', EVAL_USER);
    // Shown as policy wrote it, line endings normalised and the edges trimmed.
    expect(state).toMatchObject({ state: 'active', attestation: { text: STATEMENT, lastAcceptedAt: null } });
    expect((await call(core, 'app.status', {})).session).toMatchObject({ attestation: { text: STATEMENT } });

    for (const [method, input] of [
      ['chat.list', {}],
      ['model.status', {}],
      ['siem.status', {}],
      ['audit.verify', {}],
      ['auth.recoverChatKeys', { previousPassword: 'x' }],
    ] as const) {
      expect((await callError(core, method, input)).code, method).toBe('attestation_required');
    }
    expect(audited(core, 'auth.denied').map((e) => e.reason)).toEqual(Array(5).fill('attestation_required'));
    expect(await call(core, 'prefs.get', {})).toEqual({ textScale: 100, theme: 'system' });

    // Locking is a safeguard and is never held back; the statement is still due after the unlock.
    await call(core, 'auth.lock', {});
    expect((await callError(core, 'auth.attest', { accept: true })).code).toBe('locked');
    const unlocked = await call(core, 'auth.unlock', { password: EVAL_USER.password });
    expect(unlocked).toMatchObject({ state: 'active', attestation: { text: STATEMENT } });

    const accepted = await call(core, 'auth.attest', { accept: true });
    expect(accepted.state).toBe('active');
    expect(accepted).not.toHaveProperty('attestation');
    expect(await call(core, 'chat.list', {})).toEqual([]);
    const [record] = audited(core, 'auth.attest');
    expect(record).toMatchObject({ outcome: 'success', detail: { text_sha256: statementSha256(STATEMENT), interval_days: 365, text_chars: STATEMENT.length } });
    // The text itself never enters the audit record.
    expect(record!.raw).not.toContain('patient care');
    // Nothing is waiting any more.
    expect((await callError(core, 'auth.attest', { accept: true })).code).toBe('conflict');

    await call(core, 'auth.signOut', {});
    expect(await call(core, 'auth.signIn', { username: EVAL_USER.username, password: EVAL_USER.password })).not.toHaveProperty('attestation');
  });

  it('declining is audited and signs the person out', async () => {
    const core = await start({ document: { acceptableUse: { text: STATEMENT } } });
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    const changed = nextEvent(core, 'session.changed', (s) => s.state === 'signed-out');
    expect(await call(core, 'auth.attest', { accept: false })).toEqual({ state: 'signed-out' });
    await changed;
    expect(audited(core, 'auth.attest').map(({ outcome, reason }) => ({ outcome, reason }))).toEqual([{ outcome: 'failure', reason: 'declined' }]);
    expect(audited(core, 'auth.logout').at(-1)).toMatchObject({ reason: 'attestation_declined' });
    // Nothing recorded as accepted: it is due again at the next sign-in.
    expect(await call(core, 'auth.signIn', { username: EVAL_USER.username, password: EVAL_USER.password })).toMatchObject({ attestation: { lastAcceptedAt: null } });
  });

  it('is due again once intervalDays have passed since the acceptance', async () => {
    let clock = Date.parse('2026-01-01T08:00:00Z');
    const core = await start({ document: { acceptableUse: { text: STATEMENT, intervalDays: 30 } }, now: () => clock });
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    await call(core, 'auth.attest', { accept: true });
    const acceptedAt = clock;
    await call(core, 'auth.signOut', {});

    clock += 30 * DAY_MS - 60_000;
    await call(core, 'auth.signIn', { username: EVAL_USER.username, password: EVAL_USER.password });
    expect((await call(core, 'app.status', {})).session).not.toHaveProperty('attestation');
    await call(core, 'auth.signOut', {});

    clock += 120_000;
    const again = await call(core, 'auth.signIn', { username: EVAL_USER.username, password: EVAL_USER.password });
    expect(again).toMatchObject({ attestation: { text: STATEMENT, lastAcceptedAt: acceptedAt } });
  });

  it('a policy without a statement asks nothing; intervalDays 0 asks at every sign-in', async () => {
    const none = await start();
    expect(await call(none, 'auth.createFirstAccount', EVAL_USER)).not.toHaveProperty('attestation');

    const every = await start({ document: { acceptableUse: { text: STATEMENT, intervalDays: 0 } } });
    await call(every, 'auth.createFirstAccount', EVAL_USER);
    await call(every, 'auth.attest', { accept: true });
    await call(every, 'auth.signOut', {});
    expect(await call(every, 'auth.signIn', { username: EVAL_USER.username, password: EVAL_USER.password })).toHaveProperty('attestation');
  });

  it('a changed text is asked at the next sign-in, not in the middle of the session', async () => {
    const text = (statement: string) => JSON.stringify(documentWith({ acceptableUse: { text: statement } }));
    const { core, policyFile, dispose } = await startWatchedCore(text(STATEMENT));
    cleanups.push(dispose);
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    await call(core, 'auth.attest', { accept: true });

    const revised = `${STATEMENT}\n\nRevised: report any answer that names another patient.`;
    const applied = nextEvent(core, 'policy.changed');
    writeFileSync(policyFile, text(revised));
    await applied;
    expect((await call(core, 'app.status', {})).session).not.toHaveProperty('attestation');
    expect(await call(core, 'chat.list', {})).toEqual([]);

    await call(core, 'auth.signOut', {});
    expect(await call(core, 'auth.signIn', { username: EVAL_USER.username, password: EVAL_USER.password })).toMatchObject({ attestation: { text: revised } });
  });

  it('each person answers for themselves', async () => {
    const core = await start({ document: { acceptableUse: { text: STATEMENT } } });
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    await call(core, 'auth.attest', { accept: true });
    const other = await addSecondPerson(core);
    await call(core, 'auth.signOut', {});
    expect(await call(core, 'auth.signIn', other)).toMatchObject({ attestation: { lastAcceptedAt: null } });
  });
});

describe('the idle lock', () => {
  /**
   * A clock the test moves: the core's idle timer compares with it when it
   * fires, so the lock's recorded time says exactly which deadline it kept.
   */
  function testClock() {
    const at = { now: Date.parse('2026-03-02T09:00:00Z') };
    return { at, now: () => at.now };
  }

  it('counts from the activity a late report names, not from when the report arrived', async () => {
    const clock = testClock();
    const core = await start({ document: { session: { idleLockSeconds: 5 } }, now: clock.now });
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    const signedInAt = clock.at.now;

    // 3 s later the renderer's trailing report arrives: the person last typed 2.5 s ago.
    clock.at.now = signedInAt + 3000;
    await call(core, 'app.activity', { idleForMs: 2500 });
    const due = signedInAt + 500 + 5000;

    // Just before the due time it is still active; at it, it locks (a report taken at face value would have waited until +8000).
    clock.at.now = due - 1;
    expect((await call(core, 'app.status', {})).session.state).toBe('active');
    const locked = nextEvent(core, 'session.changed', (s) => s.state === 'locked', 20_000);
    clock.at.now = due;
    expect(await locked).toMatchObject({ state: 'locked', reason: 'idle', lockedAt: due });
  });

  it('a report never moves the lock earlier than activity it already knew, nor later than now', async () => {
    const clock = testClock();
    const core = await start({ document: { session: { idleLockSeconds: 5 } }, now: clock.now });
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    const start0 = clock.at.now;

    // Activity at +2000, reported at once.
    clock.at.now = start0 + 2000;
    await call(core, 'app.activity', { idleForMs: 0 });
    // A report claiming the last input was long ago does not undo the activity already known.
    clock.at.now = start0 + 3000;
    await call(core, 'app.activity', { idleForMs: 600_000 });
    const locked = nextEvent(core, 'session.changed', (s) => s.state === 'locked', 20_000);
    clock.at.now = start0 + 6999;
    expect((await call(core, 'app.status', {})).session.state).toBe('active');
    clock.at.now = start0 + 7000;
    expect(await locked).toMatchObject({ reason: 'idle', lockedAt: start0 + 7000 });
  });

  it('calls the window makes by itself (status after an event, lists, settings) do not postpone the lock', async () => {
    const clock = testClock();
    const core = await start({ document: { session: { idleLockSeconds: 5 } }, now: clock.now });
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    const start0 = clock.at.now;
    const locked = nextEvent(core, 'session.changed', (s) => s.state === 'locked', 20_000);
    // A model check's progress makes the window read model.status again; the audit line reads siem.status: no one touched anything.
    clock.at.now = start0 + 4000;
    await call(core, 'model.status', {});
    await call(core, 'siem.status', {});
    await call(core, 'chat.list', {});
    await call(core, 'prefs.get', {});
    clock.at.now = start0 + 5000;
    expect(await locked).toMatchObject({ reason: 'idle', lockedAt: start0 + 5000 });
  });

  it('a report with idleForMs 0 postpones the lock by the whole idle time from now', async () => {
    const clock = testClock();
    const core = await start({ document: { session: { idleLockSeconds: 5 } }, now: clock.now });
    await call(core, 'auth.createFirstAccount', EVAL_USER);
    const start0 = clock.at.now;
    clock.at.now = start0 + 4000;
    await call(core, 'app.activity', { idleForMs: 0 });
    expect((await callError(core, 'app.activity', { idleForMs: -1 })).code).toBe('invalid_input');
    const locked = nextEvent(core, 'session.changed', (s) => s.state === 'locked', 20_000);
    clock.at.now = start0 + 9000;
    expect(await locked).toMatchObject({ reason: 'idle', lockedAt: start0 + 9000 });
  });
});
