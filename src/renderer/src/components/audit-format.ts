// Display helpers for the audit screens and the delivery status bar: relative
// times ("2 min ago", "in 40 sec", in the user's locale), local dates for the filter, and the short,
// plain reason for a failed SIEM delivery.
import type { SiemDestinationStatus } from '../../../shared/api.js';
import { eventTimeText, relativeTime } from '../format.js';
import { i18n, t } from '../i18n/index.js';

/** "2 min ago", "now": in the user's locale. */
export function timeAgo(at: number, now: number): string {
  return relativeTime(Math.min(at, now), now);
}

/** "in 40 sec", "now": in the user's locale; never "now" before it happens. */
export function timeUntil(at: number, now: number): string {
  return relativeTime(Math.max(at, now), now);
}

/** A delivery failure in a few plain words; the full sentence (lastFailure.message) goes in the details. */
export function failureWords(failure: NonNullable<SiemDestinationStatus['lastFailure']>): string {
  const key = `siem:failure.${failure.code}`;
  return i18n.exists(key) ? t(key as 'siem:failure.timeout') : failure.code.replaceAll('_', ' ');
}

/** A reason code as recorded (e.g. wrong_password), in words. */
export function reasonWords(reason: string): string {
  return reason.replaceAll('_', ' ');
}

/** Parses an <input type="date"> value (YYYY-MM-DD) as a local calendar day: its first and last millisecond, in UTC ms. */
export function localDayRange(value: string): { start: number; end: number } | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const start = new Date(year, month - 1, day).getTime();
  const end = new Date(year, month - 1, day + 1).getTime() - 1;
  if (!Number.isFinite(start) || start < 0) return null;
  return { start, end };
}

/** A Date as the value an <input type="date"> holds, in local time. */
export function dateInputValue(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** An event's time to the second, in local time: audit rows need the seconds. */
export function eventTime(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? eventTimeText(ms) : iso;
}

/** This workstation's offset from UTC, e.g. "UTC+01:00". */
export function utcOffsetLabel(at = new Date()): string {
  const minutes = -at.getTimezoneOffset();
  const sign = minutes >= 0 ? '+' : '−';
  const abs = Math.abs(minutes);
  return `UTC${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** The workload and model an event names (prompts, answers, model loads), read from its canonical record. */
export function recordModel(record: string): { workload: string | null; model: { id: string; sha256: string | null } | null } {
  let enclave: unknown;
  try {
    enclave = (JSON.parse(record) as { enclave?: unknown }).enclave;
  } catch {
    return { workload: null, model: null };
  }
  if (typeof enclave !== 'object' || enclave === null) return { workload: null, model: null };
  const { workload, model } = enclave as { workload?: unknown; model?: unknown };
  const modelFields = typeof model === 'object' && model !== null ? (model as { id?: unknown; sha256?: unknown }) : null;
  return {
    workload: typeof workload === 'string' ? workload : null,
    model: modelFields && typeof modelFields.id === 'string' ? { id: modelFields.id, sha256: typeof modelFields.sha256 === 'string' ? modelFields.sha256 : null } : null,
  };
}

/** Typed text kept on this workstation (audit_private_text), by field, in words; a field the catalog does not know, as recorded. */
export function privateTextLabel(field: string): string {
  const key = `audit:detail.privateField.${field}`;
  return i18n.exists(key) ? t(key as 'audit:detail.privateField.file') : field.replaceAll('_', ' ');
}

/** What a text check matched (audit.checkText's field), in words. */
export function checkedFieldWords(field: string): string {
  if (field === 'prompt') return t('audit:detail.checkedField.prompt');
  if (field === 'response') return t('audit:detail.checkedField.response');
  if (field === 'user.name') return t('audit:detail.checkedField.userName');
  if (field.startsWith('detail.')) return privateTextLabel(field.slice('detail.'.length)).toLocaleLowerCase();
  return field;
}

/**
 * Whether the record holds a keyed hash of typed text that audit.checkText
 * can compare a text against: a prompt or answer, a user name recorded by
 * token, or a detail field ending in _hmac.
 */
export function recordHoldsTextHash(record: string): boolean {
  let parsed: { ai?: unknown; user?: { name?: unknown }; enclave?: { detail?: unknown } };
  try {
    parsed = JSON.parse(record) as typeof parsed;
  } catch {
    return false;
  }
  if (typeof parsed.ai === 'object' && parsed.ai !== null) return true;
  if (typeof parsed.user?.name === 'string' && parsed.user.name.startsWith('hmac-sha256:')) return true;
  const detail = parsed.enclave?.detail;
  return typeof detail === 'object' && detail !== null && Object.keys(detail).some((k) => k.endsWith('_hmac'));
}
