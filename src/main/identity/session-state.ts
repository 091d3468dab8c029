// Which signed-in session work belongs to (the epoch), for the identity
// service: work that spans an await takes the epoch at its start and is
// refused once it changed (inference's SessionGate reads it through the
// service).
export type EndedAs = 'locked' | 'signed_out';

export class SessionEpochs {
  /**
   * Bumped when a lock or sign-out begins (so a change of user too) and when
   * a session begins or resumes. Unlocking gives a new epoch, so it revives
   * nothing stale.
   */
  #epoch = 0;
  /** Locks and sign-outs under way: while one is, no work may start, though the state still reads active. */
  #ending = 0;
  /** How recent epochs ended, to tell stale work why it was refused. */
  readonly #endedAs = new Map<number, EndedAs>();

  get current(): number {
    return this.#epoch;
  }

  /** A session begins or resumes: a new epoch. */
  advance(): void {
    this.#epoch++;
  }

  /**
   * Why work started under `epoch` may not go on: its session was locked, or
   * it ended (signed out, or another person's began); null while it is the
   * active one (`active`) and no lock or sign-out is under way.
   */
  staleness(epoch: number, active: boolean): EndedAs | null {
    if (epoch === this.#epoch && this.#ending === 0 && active) return null;
    return this.#endedAs.get(epoch) ?? 'signed_out';
  }

  /** A lock or sign-out begins: everything started in the session so far is stale from this moment, before any await. */
  beginEnding(as: EndedAs): void {
    this.#ending++;
    if (!this.#endedAs.has(this.#epoch)) this.#endedAs.set(this.#epoch, as);
    this.#epoch++;
    // The epoch of the lock (or sign-out) itself: no work starts in it.
    this.#endedAs.set(this.#epoch, as);
    // Only a few epochs can have work still unwinding; the rest read as signed out.
    for (const old of this.#endedAs.keys()) if (this.#endedAs.size > 16) this.#endedAs.delete(old);
  }

  /** The lock or sign-out has run its hooks (whether or not they succeeded). */
  endEnding(): void {
    this.#ending--;
  }
}
