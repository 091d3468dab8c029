// The renderer's activity reports for the idle lock (renderer activity.ts):
// throttled, with a trailing report that says how long ago the last activity was.
import { describe, expect, it } from 'vitest';
import { ActivityReporter, ACTIVITY_INTERVAL_MS } from '../../src/renderer/src/activity.js';
import { PolicySchema } from '../../src/main/policy/schema.js';
import { statementParagraphs } from '../../src/renderer/src/components/AttestationScreen.js';

/** A clock and timers the test moves by hand. */
function fakeTime() {
  let now = 1_000_000;
  let timers: { at: number; run: () => void; id: number }[] = [];
  let nextId = 1;
  return {
    now: () => now,
    setTimer: (run: () => void, ms: number) => {
      const id = nextId++;
      timers.push({ at: now + ms, run, id });
      return id;
    },
    clearTimer: (id: number) => void (timers = timers.filter((t) => t.id !== id)),
    advance(ms: number) {
      const until = now + ms;
      for (;;) {
        const due = timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers = timers.filter((t) => t !== due);
        now = due.at;
        due.run();
      }
      now = until;
    },
    pending: () => timers.length,
  };
}

describe('activity reports', () => {
  it('reports at once, then at most once per interval, the trailing report naming how long ago the last activity was', () => {
    const time = fakeTime();
    const sent: { at: number; idleForMs: number }[] = [];
    const reporter = new ActivityReporter({ ...time, send: (idleForMs) => sent.push({ at: time.now(), idleForMs }) });
    const start = time.now();
    reporter.activity();
    expect(sent).toEqual([{ at: start, idleForMs: 0 }]);

    time.advance(500);
    reporter.activity();
    time.advance(700);
    reporter.activity(); // the last activity, at +1200
    expect(sent).toHaveLength(1);
    time.advance(ACTIVITY_INTERVAL_MS);
    expect(sent).toEqual([
      { at: start, idleForMs: 0 },
      { at: start + ACTIVITY_INTERVAL_MS, idleForMs: ACTIVITY_INTERVAL_MS - 1200 },
    ]);
    // Nothing more without activity.
    time.advance(10 * ACTIVITY_INTERVAL_MS);
    expect(sent).toHaveLength(2);
  });

  it('reports more often than the shortest idle time policy allows, so typing never locks', () => {
    // Policy refuses an idle time as short as the reporting interval.
    expect(PolicySchema.shape.session.safeParse({ idleLockSeconds: Math.floor(ACTIVITY_INTERVAL_MS / 1000) }).success).toBe(false);
  });

  it('stopping drops the trailing report', () => {
    const time = fakeTime();
    const sent: number[] = [];
    const reporter = new ActivityReporter({ ...time, send: (idleForMs) => sent.push(idleForMs) });
    reporter.activity();
    time.advance(100);
    reporter.activity();
    expect(time.pending()).toBe(1);
    reporter.stop();
    expect(time.pending()).toBe(0);
    time.advance(ACTIVITY_INTERVAL_MS);
    expect(sent).toEqual([0]);
  });
});

describe('the statement as shown', () => {
  it('splits paragraphs at blank lines, keeps single line breaks, and ignores Windows line endings and extra blank lines', () => {
    expect(statementParagraphs('First line\r\nstill first.\r\n\r\n\r\n  \nSecond.\n')).toEqual(['First line\nstill first.', 'Second.']);
    expect(statementParagraphs('One paragraph only')).toEqual(['One paragraph only']);
  });
});
