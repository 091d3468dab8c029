import { useId } from 'react';
import type { ModelSummary, Workload } from '../../../../shared/api.js';
import { useStrings } from '../../i18n/index.js';
import { percent, workloadAvailability, workloadOptionLabel } from '../inference-format.js';

/**
 * Which workload a new session uses: a list when policy offers the user more
 * than one, each with its description. An unavailable workload (its model file
 * missing or refused, or the core says why) cannot be picked and says why in
 * visible text; one whose file is still being checked can (its first answer
 * waits for the check).
 */
export function WorkloadPicker({
  workloads,
  models,
  value,
  onChange,
  disabled,
}: {
  workloads: Workload[];
  models: readonly ModelSummary[];
  value: Workload | null;
  onChange(id: string): void;
  disabled: boolean;
}) {
  const { t } = useStrings('chat');
  const id = useId();
  const descriptionId = useId();
  const availabilityId = useId();
  if (!value) return null;
  const availability = workloadAvailability(models, value);
  const checked = percent(availability?.state === 'checking' ? availability.progress : null);
  // The others that cannot be used, each with its reason, so nobody has to open the list to learn why.
  const othersUnavailable = workloads
    .filter((w) => w.id !== value.id)
    .map((w) => ({ w, a: workloadAvailability(models, w) }))
    .filter(({ a }) => a?.state === 'unavailable');
  const availabilityNote =
    availability?.state === 'unavailable' ? (
      <p id={availabilityId} className="note note-warning workload-availability" role="note" aria-label={t('workloadUnavailableLabel')}>
        <strong>{t('unavailable')}</strong> {availability.reason !== null ? <CoreWords text={availability.reason} /> : t('workloadRefused')}
      </p>
    ) : availability?.state === 'checking' ? (
      <p id={availabilityId} className="field-hint workload-availability">
        {availability.reason !== null ? <CoreWords text={availability.reason} /> : t('workloadChecking')}
        {checked ? ` ${checked}` : ''}
      </p>
    ) : null;
  if (workloads.length === 1) {
    // Nothing to choose; say what the one workload is for when policy describes it.
    return value.description || availabilityNote ? (
      <div className="workload-picker workload-single">
        {value.description ? (
          <p>
            <strong>{value.name}</strong> — {value.description}
          </p>
        ) : null}
        {availabilityNote}
      </div>
    ) : null;
  }
  const describedBy = [value.description ? descriptionId : null, availabilityNote ? availabilityId : null].filter(Boolean).join(' ');
  return (
    <div className="workload-picker field">
      <label htmlFor={id} className="field-label">
        {t('workloadLabel')}
      </label>
      <select id={id} value={value.id} onChange={(e) => onChange(e.target.value)} disabled={disabled} aria-describedby={describedBy || undefined}>
        {workloads.map((w) => {
          const a = workloadAvailability(models, w);
          return (
            <option key={w.id} value={w.id} disabled={a?.state === 'unavailable'} title={a?.state === 'unavailable' ? (a.reason ?? undefined) : undefined}>
              {workloadOptionLabel(w, a)}
            </option>
          );
        })}
      </select>
      {value.description ? (
        <p id={descriptionId} className="field-hint">
          {value.description}
        </p>
      ) : null}
      {availabilityNote}
      {othersUnavailable.length > 0 ? (
        <ul className="workload-unavailable-list">
          {othersUnavailable.map(({ w, a }) => (
            <li key={w.id} className="field-hint">
              {t('otherUnavailable', { name: w.name, reason: a?.reason ?? t('workloadRefused') })}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/** A reason as the core words it (not from the catalog yet): data to a translator, as the core's error texts are. */
function CoreWords({ text }: { text: string }) {
  return <span translate="no">{text}</span>;
}
