// The search form's fields, the filter they make for the core, and that filter in words.
import type { AuditFilter } from '../../../../shared/api.js';
import { auditActionText } from './action-text.js';
import { dayText } from '../../format.js';
import { t } from '../../i18n/index.js';
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

export function outcomeText(outcome: Outcome): string {
  return t(`audit:outcome.${outcome}`);
}

/** The form as the filter the core takes, or the reason it is not one. */
export function toFilter(form: FormState): { filter: AuditFilter } | { error: string } {
  const filter: AuditFilter = {};
  const user = form.user.trim();
  if (user) filter.user = user;
  if (form.from) {
    const day = localDayRange(form.from);
    if (!day) return { error: t('audit:filter.badFrom') };
    filter.from = day.start;
  }
  if (form.to) {
    const day = localDayRange(form.to);
    if (!day) return { error: t('audit:filter.badTo') };
    filter.to = day.end;
  }
  if (filter.from !== undefined && filter.to !== undefined && filter.from > filter.to) return { error: t('audit:filter.fromAfterTo') };
  if (form.action) filter.action = form.action;
  if (form.outcome) filter.outcome = form.outcome;
  return { filter };
}

/** What a filter selects, in words: "dr.a@x · Sign-in · 1 Jan 2025 – 31 Mar 2025". */
export function describeFilter(filter: AuditFilter): string {
  const parts: string[] = [];
  if (filter.user) parts.push(filter.user);
  if (filter.action) parts.push(auditActionText(filter.action));
  if (filter.outcome) parts.push(t(`audit:outcomeOnly.${filter.outcome}`));
  if (filter.from !== undefined || filter.to !== undefined) {
    const from = filter.from !== undefined ? dayText(filter.from) : t('audit:filter.beginning');
    const to = filter.to !== undefined ? dayText(filter.to) : t('audit:filter.now');
    parts.push(t('audit:filter.range', { from, to }));
  }
  return parts.length > 0 ? parts.join(' · ') : t('audit:filter.all');
}
