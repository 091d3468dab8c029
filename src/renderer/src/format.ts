// Dates, times and numbers in the user's locale: the OS's, as Chromium
// reports it in navigator.languages, whatever language the strings are in
// (a German clinician reading the English UI still wants 03.12.2026 and
// 1.234,5). Every formatter here goes through Intl.
import type { Role } from '../../shared/api.js';
import { t } from './i18n/index.js';

/** The user's locales, best first; [] lets Intl use its default. */
export function userLocales(): string[] {
  const nav = typeof navigator === 'undefined' ? undefined : navigator;
  const wanted = nav?.languages?.length ? nav.languages : nav?.language ? [nav.language] : [];
  try {
    return Intl.getCanonicalLocales([...wanted]);
  } catch {
    // A tag Intl does not accept: its default beats an exception on every screen.
    return [];
  }
}

/** The formatters for a list of locales; `formats()` gives the user's. Exported for tests. */
export function createFormats(locales: readonly string[]) {
  const l = [...locales];
  const time = new Intl.DateTimeFormat(l, { hour: '2-digit', minute: '2-digit' });
  const dayTime = new Intl.DateTimeFormat(l, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  const full = new Intl.DateTimeFormat(l, { dateStyle: 'medium', timeStyle: 'short' });
  const day = new Intl.DateTimeFormat(l, { dateStyle: 'medium' });
  const eventTime = new Intl.DateTimeFormat(l, { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const number = new Intl.NumberFormat(l);
  const relative = new Intl.RelativeTimeFormat(l, { numeric: 'auto', style: 'short' });
  const bytes = (unit: string, digits: number) => new Intl.NumberFormat(l, { style: 'unit', unit, unitDisplay: 'short', maximumFractionDigits: digits });
  return { locales: l, time, dayTime, full, day, eventTime, number, relative, bytes };
}

let cached: { key: string; formats: ReturnType<typeof createFormats> } | null = null;

/** The user's formatters, rebuilt if the OS locale changes while Enclave runs. */
export function formats(): ReturnType<typeof createFormats> {
  const locales = userLocales();
  const key = locales.join(',');
  if (!cached || cached.key !== key) cached = { key, formats: createFormats(locales) };
  return cached.formats;
}

export function roleLabel(role: Role): string {
  return t(`common:role.${role}`);
}

function sameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** Time only for today, otherwise day and time: the sidebar is narrow. */
export function shortTime(ms: number): string {
  const date = new Date(ms);
  return sameDay(date, new Date()) ? formats().time.format(date) : formats().dayTime.format(date);
}

/** Hours and minutes, e.g. when emergency access ends. */
export function clockTime(ms: number): string {
  return formats().time.format(new Date(ms));
}

export function fullTime(ms: number): string {
  return formats().full.format(new Date(ms));
}

/** A calendar day, e.g. the ends of an audit filter. */
export function dayText(ms: number): string {
  return formats().day.format(new Date(ms));
}

/** An audit event's time to the second: audit rows need the seconds. */
export function eventTimeText(ms: number): string {
  return formats().eventTime.format(new Date(ms));
}

export function formatNumber(value: number): string {
  return formats().number.format(value);
}

/** "2 min ago", "in 8 sec", "now": the largest whole unit, in the user's locale. */
export function relativeTime(at: number, now: number): string {
  const seconds = (at - now) / 1000;
  const abs = Math.abs(seconds);
  const rtf = formats().relative;
  if (abs < 5 && seconds <= 0) return rtf.format(0, 'second');
  // A future moment rounds up, so a retry due in 0.4 s never reads "now" before it happens.
  const whole = (value: number) => (value > 0 ? Math.ceil(value) : Math.round(value));
  if (abs < 60) return rtf.format(whole(seconds), 'second');
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), 'minute');
  if (abs < 48 * 3600) return rtf.format(Math.round(seconds / 3600), 'hour');
  return rtf.format(Math.round(seconds / 86400), 'day');
}

const BYTE_UNITS = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte'] as const;

/** A size in the user's locale, decimal units as the OS file managers show them: "4.2 GB", "4,2 GB". */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return formats()
    .bytes(BYTE_UNITS[unit]!, unit === 0 || value >= 10 ? 0 : 1)
    .format(value);
}
