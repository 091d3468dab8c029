// Display helpers for the audit screens and the delivery status bar: relative
// times ("2 min ago", "in 40 s"), local dates for the filter, and the short,
// plain reason for a failed SIEM delivery.
import type { SiemDestinationStatus } from '../../../shared/api.js';

/** "just now", "40 s ago", "2 min ago", "3 h ago", "4 days ago". */
export function timeAgo(at: number, now: number): string {
  const seconds = Math.max(0, Math.round((now - at) / 1000));
  if (seconds < 5) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} days ago`;
}

/** "now", "in 40 s", "in 3 min", "in 2 h". */
export function timeUntil(at: number, now: number): string {
  // Up, so a retry due in 0.4 s reads "in 1 s", never "now" before it happens.
  const seconds = Math.ceil((at - now) / 1000);
  if (seconds <= 0) return 'now';
  if (seconds < 60) return `in ${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `in ${minutes} min`;
  return `in ${Math.round(minutes / 60)} h`;
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count.toLocaleString()} ${count === 1 ? one : many}`;
}

/** A delivery failure in a few plain words; the full sentence (lastFailure.message) goes in the details. */
const FAILURE_WORDS: Record<string, string> = {
  certificate_rejected: 'certificate rejected',
  client_certificate_rejected: 'our certificate refused',
  host_unreachable: 'host unreachable',
  timeout: 'no answer in time',
  connection_reset: 'connection dropped',
  token_refused: 'token refused',
  rejected: 'data refused',
  server_busy: 'receiver busy',
  server_error: 'receiver error',
  ack_pending: 'receipt not confirmed yet',
  configuration: 'setup problem on this workstation',
};

export function failureWords(failure: NonNullable<SiemDestinationStatus['lastFailure']>): string {
  return FAILURE_WORDS[failure.code] ?? failure.code.replaceAll('_', ' ');
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

const eventTimeFormat = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** An event's time to the second, in local time: audit rows need the seconds. */
export function eventTime(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? eventTimeFormat.format(new Date(ms)) : iso;
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

/** Typed text kept on this workstation (audit_private_text), by field, in words. */
const PRIVATE_TEXT_LABELS: Record<string, string> = {
  stated_reason: 'Stated reason',
  user_name: 'User name as typed',
  filter_user: 'User name searched for',
  file: 'File path given',
};

export function privateTextLabel(field: string): string {
  return PRIVATE_TEXT_LABELS[field] ?? field.replaceAll('_', ' ');
}

/** What a text check matched (audit.checkText's field), in words. */
export function checkedFieldWords(field: string): string {
  if (field === 'prompt') return 'the prompt';
  if (field === 'response') return 'the answer';
  if (field === 'user.name') return 'the user name as typed';
  if (field.startsWith('detail.')) return privateTextLabel(field.slice('detail.'.length)).toLowerCase();
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
