// What an export wrote, and the command that verifies it elsewhere.
import type { AuditExportResult, AuditFilter } from '../../../../shared/api.js';
import { formatNumber } from '../../format.js';
import { plural } from '../audit-format.js';
import { CopyButton } from './cells.js';
import { describeFilter } from './filter.js';

/** A path as one shell word: quoted only when it has to be. */
function shellWord(value: string): string {
  return /^[A-Za-z0-9_./:\\@%+=,-]+$/.test(value) ? value : `"${value.replaceAll('"', '\\"')}"`;
}

export function verifyCommand(result: AuditExportResult): string {
  const key = result.keyIds[0];
  return `enclave audit verify --bundle ${shellWord(result.directory)}${key ? ` --key-id ${key}` : ''}`;
}

export function ExportResult({ result, filter, onDismiss }: { result: AuditExportResult; filter: AuditFilter; onDismiss(): void }) {
  const command = verifyCommand(result);
  return (
    <section className="audit-export" role="status" aria-label="Export result">
      <div className="audit-export-header">
        <strong>
          Exported {plural(result.selectedEvents, 'event')} — {describeFilter(filter)}
        </strong>
        <button type="button" className="btn btn-ghost btn-icon" onClick={onDismiss} aria-label="Dismiss export result">
          ×
        </button>
      </div>
      <p className="muted">
        The bundle holds the {plural(result.batches, 'signed batch', 'signed batches')} these events are sealed in ({plural(result.coveredEvents, 'event')} in all), so every signature and Merkle root
        can be checked without this workstation.
      </p>
      <dl className="facts">
        <dt>Bundle folder</dt>
        <dd className="mono break" aria-label="Bundle folder">
          {result.directory}
        </dd>
        <dt>Spreadsheet (CSV)</dt>
        <dd className="mono break" aria-label="CSV file">
          {result.csvFile}
        </dd>
        <dt>Events selected</dt>
        <dd>{formatNumber(result.selectedEvents)}</dd>
        <dt>Events covered</dt>
        <dd>{formatNumber(result.coveredEvents)}</dd>
        <dt>Signing {result.keyIds.length === 1 ? 'key' : 'keys'}</dt>
        <dd className="mono break">{result.keyIds.length > 0 ? result.keyIds.join(', ') : 'none (no sealed batch)'}</dd>
      </dl>
      <div className="audit-command">
        <span className="field-label">Verify it on any computer with Enclave’s command-line tool:</span>
        <div className="audit-command-row">
          <code className="mono break" aria-label="Verify command">
            {command}
          </code>
          <CopyButton text={command} label="Copy the verify command" />
        </div>
        <p className="muted small">
          The key id is this workstation’s enrolled signing key; whoever verifies should check it against the one IT registered (<span className="mono">enclave enroll show</span>), not take it from
          the bundle.
        </p>
        {result.keyIds.length > 1 ? <p className="muted small">The signing key was rotated in this range; the bundle carries the handover, signed by the first key.</p> : null}
      </div>
    </section>
  );
}
