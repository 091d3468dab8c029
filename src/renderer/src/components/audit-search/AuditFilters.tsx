// The search form: user, days, action and outcome.
import { useId, type FormEvent } from 'react';
import { AUDIT_ACTION_GROUPS } from '../../../../shared/audit-actions.js';
import { auditActionGroupText, auditActionText } from './action-text.js';
import { formatNumber } from '../../format.js';
import { useStrings } from '../../i18n/index.js';
import { utcOffsetLabel } from '../audit-format.js';
import type { FormState } from './filter.js';

interface AuditFiltersProps {
  form: FormState;
  onChange(update: (form: FormState) => FormState): void;
  onSubmit(event: FormEvent): void;
  onClear(): void;
  /** Fills the dates with the last so many days. */
  onLastDays(days: number): void;
  searching: boolean;
}

export function AuditFilters({ form, onChange: setForm, onSubmit, onClear: clear, onLastDays: lastDays, searching }: AuditFiltersProps) {
  const { t } = useStrings('audit');
  const ids = { user: useId(), from: useId(), to: useId(), action: useId(), outcome: useId(), dates: useId() };
  const set =
    <K extends keyof FormState>(key: K) =>
    (value: FormState[K]) =>
      setForm((f) => ({ ...f, [key]: value }));
  return (
    <form className="audit-filters" role="search" aria-label={t('filter.label')} onSubmit={onSubmit} noValidate>
      <div className="field audit-field-user">
        <label htmlFor={ids.user} className="field-label">
          {t('filter.user')}
        </label>
        <input
          id={ids.user}
          type="text"
          value={form.user}
          onChange={(e) => set('user')(e.target.value)}
          placeholder={t('filter.userPlaceholder')}
          autoComplete="off"
          spellCheck={false}
          maxLength={256}
        />
      </div>
      <fieldset className="audit-dates" aria-describedby={ids.dates}>
        <legend className="visually-hidden">{t('filter.dates')}</legend>
        <div className="field">
          <label htmlFor={ids.from} className="field-label">
            {t('filter.from')}
          </label>
          <input id={ids.from} type="date" value={form.from} max={form.to || undefined} onChange={(e) => set('from')(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={ids.to} className="field-label">
            {t('filter.to')}
          </label>
          <input id={ids.to} type="date" value={form.to} min={form.from || undefined} onChange={(e) => set('to')(e.target.value)} />
        </div>
      </fieldset>
      <div className="field">
        <label htmlFor={ids.action} className="field-label">
          {t('filter.action')}
        </label>
        <select id={ids.action} value={form.action} onChange={(e) => set('action')(e.target.value)}>
          <option value="">{t('filter.anyAction')}</option>
          {AUDIT_ACTION_GROUPS.map((group) => (
            <optgroup key={group.id} label={auditActionGroupText(group)}>
              {group.actions.map((action) => (
                <option key={action} value={action}>
                  {t('filter.actionOption', { label: auditActionText(action), code: action })}
                </option>
              ))}
            </optgroup>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={ids.outcome} className="field-label">
          {t('filter.outcome')}
        </label>
        <select id={ids.outcome} value={form.outcome} onChange={(e) => set('outcome')(e.target.value as FormState['outcome'])}>
          <option value="">{t('filter.anyOutcome')}</option>
          <option value="success">{t('outcome.success')}</option>
          <option value="failure">{t('outcome.failure')}</option>
          <option value="unknown">{t('outcome.unknown')}</option>
        </select>
      </div>
      <div className="audit-filter-actions">
        <button type="submit" className="btn btn-primary" disabled={searching}>
          {t('filter.search')}
        </button>
        <button type="button" className="btn btn-secondary" onClick={clear} disabled={searching}>
          {t('filter.clear')}
        </button>
      </div>
      <p id={ids.dates} className="field-hint audit-filter-hint">
        {t('filter.datesHint', { offset: utcOffsetLabel() })}{' '}
        <span className="audit-presets">
          {t('filter.quickRange')}{' '}
          {[7, 30, 90].map((days) => (
            <button key={days} type="button" className="btn-link" onClick={() => lastDays(days)}>
              {t('filter.lastDays', { n: formatNumber(days) })}
            </button>
          ))}
        </span>
      </p>
    </form>
  );
}
