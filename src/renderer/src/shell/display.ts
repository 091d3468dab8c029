// The person's display settings (text size and theme), applied to the whole
// window: the text size is the root font size every rem in styles.css follows
// (so zooming reflows the layout rather than scaling a picture of it), and the
// theme sets html[data-color-scheme], following the OS while it is 'system'.
// Kept with the person's account through prefs.get / prefs.set; while nobody
// is signed in the defaults apply (a shared workstation shows the next person
// the defaults, not the last person's choice).
import { useSyncExternalStore } from 'react';
import type { UserPreferences } from '../../../shared/api.js';
import { call } from '../enclave.js';

export type Theme = UserPreferences['theme'];

export const DEFAULT_PREFERENCES: UserPreferences = { textScale: 100, theme: 'system' };
export const TEXT_SCALE_MIN = 80;
export const TEXT_SCALE_MAX = 200;
/** The steps the zoom keys move through (percent), as browsers zoom. */
export const TEXT_SCALE_STEPS = [80, 90, 100, 110, 125, 150, 175, 200] as const;

let current: UserPreferences = DEFAULT_PREFERENCES;
/** Whether changes are kept with an account (someone is signed in or locked). */
let persistent = false;
/** Bumped on every load/reset, so an answer to an older prefs.get does not undo a newer state. */
let generation = 0;
const listeners = new Set<() => void>();
const darkQuery = typeof window !== 'undefined' && typeof window.matchMedia === 'function' ? window.matchMedia('(prefers-color-scheme: dark)') : null;

function resolvedScheme(theme: Theme): 'light' | 'dark' {
  if (theme === 'system') return darkQuery?.matches ? 'dark' : 'light';
  return theme;
}

function apply(): void {
  const root = document.documentElement;
  // CSSOM, which the CSP's style-src 'self' allows (inline style attributes are what it forbids).
  root.style.setProperty('--text-scale', String(current.textScale / 100));
  root.dataset['colorScheme'] = resolvedScheme(current.theme);
  root.dataset['theme'] = current.theme;
}

function set(next: UserPreferences): void {
  current = next;
  apply();
  for (const listener of listeners) listener();
}

darkQuery?.addEventListener('change', () => apply());

export function clampTextScale(value: number): number {
  return Math.min(TEXT_SCALE_MAX, Math.max(TEXT_SCALE_MIN, Math.round(value)));
}

/** The next zoom step up (+1) or down (-1) from the current size, whatever size that is. */
export function steppedTextScale(from: number, direction: 1 | -1): number {
  const steps = direction === 1 ? TEXT_SCALE_STEPS.filter((s) => s > from) : TEXT_SCALE_STEPS.filter((s) => s < from).reverse();
  return steps[0] ?? from;
}

/** A person signed in (or the app found one locked): their settings replace the defaults. */
export async function loadPreferences(): Promise<void> {
  const mine = ++generation;
  persistent = true;
  const result = await call('prefs.get', {});
  if (mine !== generation) return;
  if (result.ok) set(result.output);
}

/** Nobody is signed in: back to the defaults, and changes are not kept. */
export function resetPreferences(): void {
  generation += 1;
  persistent = false;
  set(DEFAULT_PREFERENCES);
}

/** Applies a change at once and keeps it with the account; the core's answer (the stored settings) wins. */
export async function updatePreferences(change: Partial<UserPreferences>): Promise<void> {
  const next = { ...current, ...change, ...(change.textScale === undefined ? {} : { textScale: clampTextScale(change.textScale) }) };
  set(next);
  if (!persistent) return;
  const mine = generation;
  const result = await call('prefs.set', change.textScale === undefined ? change : { ...change, textScale: next.textScale });
  // Not stored (e.g. the session ended meanwhile): the change still applies on screen until the next load.
  if (result.ok && mine === generation && current === next) set(result.output);
}

export function changeTextScale(direction: 1 | -1 | 0): void {
  void updatePreferences({ textScale: direction === 0 ? 100 : steppedTextScale(current.textScale, direction) });
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function getPreferences(): UserPreferences {
  return current;
}

export function usePreferences(): UserPreferences {
  return useSyncExternalStore(subscribe, getPreferences);
}

// The defaults (and the OS's colour scheme) from the first paint on.
if (typeof document !== 'undefined') apply();
