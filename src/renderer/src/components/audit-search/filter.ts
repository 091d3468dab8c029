// The search form's fields, the filter they make for the core, and that filter in words.
import type { AuditFilter } from '../../../../shared/api.js';
import { auditActionLabel } from '../../../../shared/audit-actions.js';
import { localDayRange } from '../audit-format.js';

export type Outcome = NonNullable<AuditFilter['outcome']>;

export interface FormState {
  user: string;
  from: string;
  to: string;
  action: string;
  outcome: '' | Outcome;
}

export const EMPTY_FORM: FormState = { user: '', from: '', to: '', action: '', outcome: '' };

export const OUTCOME_TEXT: Record<Outcome, string> = { success: 'Success', failure: 'Failure', unknown: 'Unknown' };

/** The form as the filter the core takes, or the reason it is not one. */
export function toFilter(form: FormState): { filter: AuditFilter } | { error: string } {
  const filter: AuditFilter = {};
  const user = form.user.trim();
  if (user) filter.user = user;
  if (form.from) {
    const day = localDayRange(form.from);
    if (!day) return { error: 'The start date is not a date.' };
    filter.from = day.start;
  }
  if (form.to) {
    const day = localDayRange(form.to);
    if (!day) return { error: 'The end date is not a date.' };
    filter.to = day.end;
  }
  if (filter.from !== undefined && filter.to !== undefined && filter.from > filter.to) return { error: 'The start date is after the end date.' };
  if (form.action) filter.action = form.action;
  if (form.outcome) filter.outcome = form.outcome;
  return { filter };
}

const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

/** What a filter selects, in words: "dr.a@x · Sign-in · 1 Jan 2025 – 31 Mar 2025". */
export function describeFilter(filter: AuditFilter): string {
  const parts: string[] = [];
  if (filter.user) parts.push(filter.user);
  if (filter.action) parts.push(auditActionLabel(filter.action));
  if (filter.outcome) parts.push(`${OUTCOME_TEXT[filter.outcome].toLowerCase()} only`);
  if (filter.from !== undefined || filter.to !== undefined) {
    const from = filter.from !== undefined ? dayFormat.format(new Date(filter.from)) : 'the beginning';
    const to = filter.to !== undefined ? dayFormat.format(new Date(filter.to)) : 'now';
    parts.push(`${from} – ${to}`);
  }
  return parts.length > 0 ? parts.join(' · ') : 'all events';
}
