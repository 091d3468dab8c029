import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TokenBatcher } from '../../src/main/core/token-stream.js';
import type { EventPayload } from '../../src/shared/api.js';

type Token = EventPayload<'chat.token'>;
type Sent = { kind: 'token'; payload: Token } | { kind: 'done'; sessionId: string; responseId: string };

const S1 = '0190a0b0-0000-7000-8000-000000000001';
const S2 = '0190a0b0-0000-7000-8000-000000000002';
const R1 = '0190a0b0-0000-7000-8000-0000000000a1';
const R2 = '0190a0b0-0000-7000-8000-0000000000a2';
const R3 = '0190a0b0-0000-7000-8000-0000000000a3';

// The fake clock drives both the timers and the batcher's notion of now.
function setup(intervalMs = 16) {
  const sent: Sent[] = [];
  const batcher = new TokenBatcher({ send: (payload) => sent.push({ kind: 'token', payload }), intervalMs, now: () => Date.now() });
  const token = (sessionId: string, responseId: string, text: string) => batcher.push({ sessionId, responseId, text });
  // As the core does on chat.done: flush the answer, then send done.
  const done = (sessionId: string, responseId: string) => {
    batcher.end({ sessionId, responseId });
    sent.push({ kind: 'done', sessionId, responseId });
  };
  const texts = () => sent.flatMap((s) => (s.kind === 'token' ? [s.payload.text] : []));
  return { batcher, sent, token, done, texts };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('TokenBatcher', () => {
  it('sends the first chunk of an answer at once', () => {
    const { token, sent, batcher } = setup();
    token(S1, R1, 'Hello');
    expect(sent).toEqual([{ kind: 'token', payload: { sessionId: S1, responseId: R1, text: 'Hello' } }]);
    expect(batcher.stats).toEqual({ chunksIn: 1, messagesSent: 1 });
  });

  it('joins the chunks that arrive within a frame into one event, in order', () => {
    const { token, texts, batcher } = setup();
    token(S1, R1, 'A');
    token(S1, R1, 'b');
    vi.advanceTimersByTime(5);
    token(S1, R1, 'c');
    token(S1, R1, 'd');
    expect(texts()).toEqual(['A']);
    vi.advanceTimersByTime(10);
    expect(texts()).toEqual(['A']);
    vi.advanceTimersByTime(1);
    expect(texts()).toEqual(['A', 'bcd']);
    token(S1, R1, 'e');
    token(S1, R1, 'f');
    vi.advanceTimersByTime(16);
    expect(texts()).toEqual(['A', 'bcd', 'ef']);
    expect(batcher.stats).toEqual({ chunksIn: 6, messagesSent: 3 });
  });

  it('sends at most one event per answer per frame while the model streams', () => {
    const { token, texts, done } = setup();
    // 1,000 tokens at one per millisecond.
    let expected = '';
    for (let i = 0; i < 1000; i++) {
      token(S1, R1, `t${i} `);
      expected += `t${i} `;
      vi.advanceTimersByTime(1);
    }
    done(S1, R1);
    expect(texts().join('')).toBe(expected);
    expect(texts().length).toBeLessThanOrEqual(Math.ceil(1000 / 16) + 1);
  });

  it('sends a chunk at once after a pause of a frame or more', () => {
    const { token, texts } = setup();
    token(S1, R1, 'one');
    vi.advanceTimersByTime(40);
    token(S1, R1, ' two');
    expect(texts()).toEqual(['one', ' two']);
  });

  it('never joins the text of different sessions or answers', () => {
    const { token, sent } = setup();
    token(S1, R1, 'a1');
    token(S2, R2, 'b1');
    token(S1, R1, 'a2');
    token(S2, R2, 'b2');
    token(S1, R1, 'a3');
    vi.advanceTimersByTime(16);
    const of = (sessionId: string) => sent.flatMap((s) => (s.kind === 'token' && s.payload.sessionId === sessionId ? [s.payload] : []));
    expect(of(S1)).toEqual([
      { sessionId: S1, responseId: R1, text: 'a1' },
      { sessionId: S1, responseId: R1, text: 'a2a3' },
    ]);
    expect(of(S2)).toEqual([
      { sessionId: S2, responseId: R2, text: 'b1' },
      { sessionId: S2, responseId: R2, text: 'b2' },
    ]);
  });

  it("sends an answer's held text before its done, and nothing after", () => {
    const { token, done, sent } = setup();
    token(S1, R1, 'The ');
    token(S1, R1, 'end');
    token(S1, R1, '.');
    done(S1, R1);
    expect(sent).toEqual([
      { kind: 'token', payload: { sessionId: S1, responseId: R1, text: 'The ' } },
      { kind: 'token', payload: { sessionId: S1, responseId: R1, text: 'end.' } },
      { kind: 'done', sessionId: S1, responseId: R1 },
    ]);
    // The cancelled frame timer sends nothing later.
    vi.advanceTimersByTime(100);
    expect(sent).toHaveLength(3);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("done of one answer leaves another session's held text to its own frame", () => {
    const { token, done, sent } = setup();
    token(S1, R1, 'a');
    token(S2, R2, 'b');
    token(S1, R1, 'a+');
    token(S2, R2, 'b+');
    done(S1, R1);
    expect(sent.map((s) => (s.kind === 'token' ? s.payload.text : `done ${s.responseId === R1 ? 'R1' : 'R2'}`))).toEqual(['a', 'b', 'a+', 'done R1']);
    vi.advanceTimersByTime(16);
    expect(sent.at(-1)).toEqual({ kind: 'token', payload: { sessionId: S2, responseId: R2, text: 'b+' } });
  });

  it('keeps the order across answers of one session: all of the first, its done, then the next', () => {
    const { token, done, sent } = setup();
    token(S1, R1, 'first ');
    token(S1, R1, 'answer');
    done(S1, R1);
    token(S1, R3, 'second ');
    token(S1, R3, 'answer');
    vi.advanceTimersByTime(16);
    done(S1, R3);
    expect(sent.map((s) => (s.kind === 'token' ? `${s.payload.responseId === R1 ? 'R1' : 'R3'}:${s.payload.text}` : `done ${s.responseId === R1 ? 'R1' : 'R3'}`))).toEqual([
      'R1:first ',
      'R1:answer',
      'done R1',
      // A new answer's first text goes out at once, even right after the last one.
      'R3:second ',
      'R3:answer',
      'done R3',
    ]);
  });

  it('close sends everything held, in the order the answers began, and leaves no timer', () => {
    const { token, batcher, texts } = setup();
    token(S2, R2, 'b');
    token(S1, R1, 'a');
    token(S2, R2, 'b+');
    token(S1, R1, 'a+');
    batcher.close();
    expect(texts()).toEqual(['b', 'a', 'b+', 'a+']);
    expect(vi.getTimerCount()).toBe(0);
    // After close nothing is held back any more.
    token(S1, R1, 'late');
    expect(texts().at(-1)).toBe('late');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('sends no event for empty text', () => {
    const { token, sent, batcher } = setup();
    token(S1, R1, '');
    expect(sent).toEqual([]);
    expect(batcher.stats).toEqual({ chunksIn: 1, messagesSent: 0 });
  });

  it('a listener that throws in a timed frame is reported, and the text is not sent twice', () => {
    const errors: unknown[] = [];
    const seen: string[] = [];
    const batcher = new TokenBatcher({
      send: (payload) => {
        seen.push(payload.text);
        if (payload.text === 'bc') throw new Error('port closed');
      },
      now: () => Date.now(),
      onError: (error) => errors.push(error),
    });
    batcher.push({ sessionId: S1, responseId: R1, text: 'a' });
    batcher.push({ sessionId: S1, responseId: R1, text: 'b' });
    batcher.push({ sessionId: S1, responseId: R1, text: 'c' });
    vi.advanceTimersByTime(16);
    expect(errors).toHaveLength(1);
    batcher.end({ sessionId: S1, responseId: R1 });
    expect(seen).toEqual(['a', 'bc']);
  });
});
