// The idle lock (HIPAA automatic logoff): policy's idleLockSeconds after the
// last activity the core knows of. The renderer reports activity at most
// every few seconds, so a report may arrive late; it says how long ago the
// activity was (idleForMs) and the lock counts from then.
export interface IdleLockOptions {
  now: () => number;
  /** Read at each (re)arming: a policy change applies from the next activity. */
  idleLockSeconds: () => number;
  /** Called once the time is up. */
  lock: () => void;
}

export class IdleLock {
  readonly #o: IdleLockOptions;
  #timer: NodeJS.Timeout | null = null;
  #lastActivityAt = 0;

  constructor(options: IdleLockOptions) {
    this.#o = options;
  }

  /** A session begins or resumes: the lock counts from now. */
  start(): void {
    this.#lastActivityAt = this.#o.now();
    this.#schedule();
  }

  /**
   * Activity idleForMs ago. It counts from no later than now (a report
   * cannot postpone the lock beyond policy's time from now) and never from
   * before the last activity already known (a late report cannot bring the
   * lock forward either).
   */
  activity(idleForMs = 0): void {
    this.#lastActivityAt = Math.max(this.#lastActivityAt, this.#o.now() - Math.max(0, idleForMs));
    this.#schedule();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** The timer checks the clock when it fires and waits out any remainder, so it never locks early. */
  #schedule(): void {
    this.stop();
    const deadline = this.#lastActivityAt + this.#o.idleLockSeconds() * 1000;
    const wait = (): void => {
      const left = deadline - this.#o.now();
      if (left > 0) {
        this.#timer = setTimeout(wait, left);
        this.#timer.unref();
      } else {
        this.#timer = null;
        this.#o.lock();
      }
    };
    wait();
  }
}
