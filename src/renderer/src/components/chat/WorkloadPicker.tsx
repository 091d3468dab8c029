import { useId } from 'react';
import type { ModelSummary, Workload } from '../../../../shared/api.js';
import { percent, workloadAvailability, workloadOptionLabel } from '../inference-format.js';

/**
 * Which workload a new session uses: a list when policy offers the user more
 * than one, each with its description. A workload whose model file was refused
 * cannot be picked and says why; one whose file is still being checked can
 * (its first answer waits for the check).
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
  const id = useId();
  const descriptionId = useId();
  const availabilityId = useId();
  if (!value) return null;
  const availability = workloadAvailability(models, value);
  const checked = percent(availability?.state === 'checking' ? availability.progress : null);
  const availabilityNote =
    availability?.state === 'rejected' ? (
      <p id={availabilityId} className="note note-warning workload-availability" role="note" aria-label="Workload unavailable">
        <strong>Unavailable:</strong> {availability.message ?? 'its model file was refused.'}
      </p>
    ) : availability?.state === 'checking' ? (
      <p id={availabilityId} className="field-hint workload-availability">
        Checking its model file…{checked ? ` ${checked}` : ''}
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
        Workload for new sessions
      </label>
      <select
        id={id}
        value={value.id}
        onChange={(e) => onChange(e.target.value)}
        disabled={disabled}
        aria-describedby={describedBy || undefined}
        title={availability?.state === 'rejected' ? (availability.message ?? undefined) : undefined}
      >
        {workloads.map((w) => {
          const a = workloadAvailability(models, w);
          return (
            <option key={w.id} value={w.id} disabled={a?.state === 'rejected'} title={a?.state === 'rejected' ? (a.message ?? undefined) : undefined}>
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
    </div>
  );
}
