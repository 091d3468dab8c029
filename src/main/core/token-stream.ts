// Answer text to the UI at most once per frame per answer. Each chat.token
// event crosses two IPC hops (core → main → renderer) and makes the renderer
// re-render; the model can produce many tokens per frame, which the screen
// cannot show anyway. So text that arrives within a frame is joined into one
// event. The first text of an answer (and the first after a pause) goes out at
// once, so nobody waits longer for the first word.
import type { EventPayload } from '../../shared/api.js';

type TokenPayload = EventPayload<'chat.token'>;

export interface TokenBatcherOptions<Owner = undefined> {
  /** Sends one chat.token event on (to the renderer); `owner` as given with the answer's first text. */
  send: (payload: TokenPayload, owner: Owner | undefined) => void;
  /** Shortest time between two events of one answer; default 16 ms (~60 Hz). */
  intervalMs?: number;
  /** Tests substitute the clock and the timers. */
  now?: () => number;
  setTimer?: (callback: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
  /** A listener that throws while a frame is sent from a timer: reported here, not left to crash the process. */
  onError?: (error: unknown) => void;
}

export interface TokenBatcherStats {
  /** Text chunks handed in by the model. */
  chunksIn: number;
  /** chat.token events sent on. */
  messagesSent: number;
}

interface Stream<Owner> {
  /** Whose answer it is, as given with its first text: handed to send with every frame, so the sender can still drop a frame held past a lock. */
  owner: Owner | undefined;
  sessionId: string;
  responseId: string;
  pending: string;
  lastSentAt: number;
  timer: unknown;
}

export const FRAME_INTERVAL_MS = 16;

export class TokenBatcher<Owner = undefined> {
  readonly #send: (payload: TokenPayload, owner: Owner | undefined) => void;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #setTimer: (callback: () => void, ms: number) => unknown;
  readonly #clearTimer: (timer: unknown) => void;
  readonly #onError: (error: unknown) => void;
  /** One per answer still being written, keyed by session and response, in the order they began. */
  readonly #streams = new Map<string, Stream<Owner>>();
  #chunksIn = 0;
  #messagesSent = 0;
  #closed = false;

  constructor(options: TokenBatcherOptions<Owner>) {
    this.#send = options.send;
    this.#intervalMs = options.intervalMs ?? FRAME_INTERVAL_MS;
    this.#now = options.now ?? (() => performance.now());
    // Unref'd: a pending frame must not keep a finished process (the CLI, a test) alive.
    this.#setTimer = options.setTimer ?? ((callback, ms) => setTimeout(callback, ms).unref());
    this.#clearTimer = options.clearTimer ?? ((timer) => clearTimeout(timer as ReturnType<typeof setTimeout>));
    this.#onError = options.onError ?? ((error) => console.error('[enclave core] sending answer text failed', error));
  }

  get stats(): TokenBatcherStats {
    return { chunksIn: this.#chunksIn, messagesSent: this.#messagesSent };
  }

  /** A chunk of an answer's text: sent now if the answer sent nothing for a frame, else joined to the next frame's event. */
  push(payload: TokenPayload, owner?: Owner): void {
    this.#chunksIn++;
    if (payload.text === '') return;
    if (this.#closed) {
      this.#emit(payload, owner);
      return;
    }
    const key = keyOf(payload.sessionId, payload.responseId);
    let stream = this.#streams.get(key);
    if (!stream) {
      stream = { owner, sessionId: payload.sessionId, responseId: payload.responseId, pending: '', lastSentAt: -Infinity, timer: null };
      this.#streams.set(key, stream);
    }
    stream.pending += payload.text;
    if (stream.timer !== null) return;
    const wait = stream.lastSentAt + this.#intervalMs - this.#now();
    if (wait <= 0) {
      this.#flush(stream);
      return;
    }
    const due = stream;
    due.timer = this.#setTimer(() => {
      due.timer = null;
      try {
        this.#flush(due);
      } catch (error) {
        this.#onError(error);
      }
    }, wait);
  }

  /** The answer is finished: its held text goes out now, so it reaches the UI before chat.done. */
  end(ids: { sessionId: string; responseId: string }): void {
    const key = keyOf(ids.sessionId, ids.responseId);
    const stream = this.#streams.get(key);
    if (!stream) return;
    this.#streams.delete(key);
    this.#cancelTimer(stream);
    this.#flush(stream);
  }

  /** Sends everything held, in the order the answers began; later chunks pass straight through. */
  close(): void {
    this.#closed = true;
    const streams = [...this.#streams.values()];
    this.#streams.clear();
    for (const stream of streams) {
      this.#cancelTimer(stream);
      this.#flush(stream);
    }
  }

  #cancelTimer(stream: Stream<Owner>): void {
    if (stream.timer === null) return;
    this.#clearTimer(stream.timer);
    stream.timer = null;
  }

  #flush(stream: Stream<Owner>): void {
    if (stream.pending === '') return;
    const text = stream.pending;
    // Cleared before sending, so a listener that throws cannot make the text go out twice.
    stream.pending = '';
    stream.lastSentAt = this.#now();
    this.#emit({ sessionId: stream.sessionId, responseId: stream.responseId, text }, stream.owner);
  }

  #emit(payload: TokenPayload, owner: Owner | undefined): void {
    this.#messagesSent++;
    this.#send(payload, owner);
  }
}

function keyOf(sessionId: string, responseId: string): string {
  // Identifiers are UUIDs, so a space cannot occur in either.
  return `${sessionId} ${responseId}`;
}
