// Reports the person's activity (keys, pointer) to the core for the idle
// lock, at most once per interval. Activity inside the interval is reported
// by a trailing report at its end, which says how long ago the last activity
// was (idleForMs), so the core counts the idle lock from the activity itself,
// not from the late report. Plain TypeScript (no DOM): App.tsx wires it to the
// window, and the idle-lock bench drives the same code against a real core.

/**
 * At most one report this often. Below policy's shortest idleLockSeconds (5),
 * so a trailing report always reaches the core before a lock counted from the
 * previous report would fall due while the person is still typing.
 */
export const ACTIVITY_INTERVAL_MS = 4_000;

/** The contract's ceiling for idleForMs. */
const IDLE_FOR_MAX_MS = 600_000;

export interface ActivityReporterOptions<Timer> {
  now(): number;
  setTimer(callback: () => void, ms: number): Timer;
  clearTimer(timer: Timer): void;
  /** Sends app.activity with idleForMs. */
  send(idleForMs: number): void;
  intervalMs?: number;
}

export class ActivityReporter<Timer> {
  readonly #o: ActivityReporterOptions<Timer>;
  readonly #interval: number;
  #lastReportAt = Number.NEGATIVE_INFINITY;
  #lastActivityAt = 0;
  #trailing: Timer | null = null;

  constructor(options: ActivityReporterOptions<Timer>) {
    this.#o = options;
    this.#interval = options.intervalMs ?? ACTIVITY_INTERVAL_MS;
  }

  /** The person did something now. */
  activity(): void {
    const now = this.#o.now();
    this.#lastActivityAt = now;
    const since = now - this.#lastReportAt;
    if (since >= this.#interval) this.#report();
    else if (this.#trailing === null) {
      this.#trailing = this.#o.setTimer(() => {
        this.#trailing = null;
        this.#report();
      }, this.#interval - since);
    }
  }

  /** No more reports (the session locked or ended); a trailing one is dropped. */
  stop(): void {
    if (this.#trailing !== null) this.#o.clearTimer(this.#trailing);
    this.#trailing = null;
  }

  #report(): void {
    const now = this.#o.now();
    this.#lastReportAt = now;
    this.#o.send(Math.min(IDLE_FOR_MAX_MS, Math.max(0, now - this.#lastActivityAt)));
  }
}
