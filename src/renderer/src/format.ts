// Small display helpers shared by the screens.
import type { Role } from '../../shared/api.js';

const ROLE_LABELS: Record<Role, string> = {
  clinician: 'Clinician',
  researcher: 'Researcher',
  compliance: 'Compliance',
  administrator: 'Administrator',
};

export function roleLabel(role: Role): string {
  return ROLE_LABELS[role];
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayTimeFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function sameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** Time only for today, otherwise day and time: the sidebar is narrow. */
export function shortTime(ms: number): string {
  const date = new Date(ms);
  return sameDay(date, new Date()) ? timeFormat.format(date) : dayTimeFormat.format(date);
}

export function fullTime(ms: number): string {
  return fullFormat.format(new Date(ms));
}

export function formatNumber(value: number): string {
  return value.toLocaleString();
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
