// Page side of the renderer bench's key-to-paint measure, installed with
// page.addInitScript before the app's own scripts, so its window listener runs
// first. See renderer.bench.ts for why two measures and what each one counts.
import type { Page } from '@playwright/test';

export interface KeySample {
  /** The label the bench set when the key went down ('idle', 'streaming'), and the chunk of keys it was typed in. */
  label: string;
  chunk: number;
  /** Chromium's Event Timing duration for the keydown (input to the next paint, 8 ms steps); null: under the 16 ms threshold, so not reported. */
  eventTimingMs: number | null;
  /** From the key's hardware timestamp to the next frame's requestAnimationFrame callback (the frame that paints it, just before its paint). */
  rafMs: number;
  /** Key-to-paint: Event Timing's duration where Chromium reported one, else (a key under 16 ms) the time to the next frame's rAF. */
  ms: number;
}

interface PageState {
  label: string | null;
  chunk: number;
  keys: { label: string; chunk: number; start: number; rafMs: number | null }[];
  entries: { name: string; start: number; duration: number }[];
}

/** Runs in the page: records every keydown while a label is set. */
function install(): void {
  const state: PageState = { label: null, chunk: 0, keys: [], entries: [] };
  Object.defineProperty(window, '__keyLatency', { value: state });
  window.addEventListener(
    'keydown',
    (event) => {
      if (state.label === null) return;
      const key = { label: state.label, chunk: state.chunk, start: event.timeStamp, rafMs: null as number | null };
      state.keys.push(key);
      // React handles the key in this same task; the next frame's rAF callback runs just before that frame's style, layout and paint.
      requestAnimationFrame(() => {
        key.rafMs = performance.now() - key.start;
      });
    },
    true,
  );
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) state.entries.push({ name: entry.name, start: entry.startTime, duration: entry.duration });
  }).observe({ type: 'event', durationThreshold: 16, buffered: true } as PerformanceObserverInit);
}

export async function installKeyLatency(page: Page): Promise<void> {
  await page.addInitScript(install);
}

/** Keys typed from now on carry this label and chunk number; null stops recording. */
export async function labelKeys(page: Page, label: string | null, chunk = 0): Promise<void> {
  await page.evaluate(
    ([l, c]) => {
      const state = (window as unknown as { __keyLatency: PageState }).__keyLatency;
      state.label = l;
      state.chunk = c;
    },
    [label, chunk] as const,
  );
}

/** Every recorded key with both measures, once its frame is done and Event Timing has reported it. */
export async function keySamples(page: Page): Promise<KeySample[]> {
  // Event Timing reports after the paint; give the last keys a few frames.
  await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 250)));
  return page.evaluate(() => {
    const state = (window as unknown as { __keyLatency: PageState }).__keyLatency;
    return state.keys
      .filter((k) => k.rafMs !== null)
      .map((k) => {
        const entry = state.entries.find((e) => e.name === 'keydown' && Math.abs(e.start - k.start) < 0.01);
        const rafMs = k.rafMs as number;
        return { label: k.label, chunk: k.chunk, eventTimingMs: entry ? entry.duration : null, rafMs, ms: entry ? entry.duration : rafMs };
      });
  });
}
