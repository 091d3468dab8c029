// What an export wrote, and the command that verifies it elsewhere.
import type { AuditExportResult, AuditFilter } from '../../../../shared/api.js';
import { formatNumber } from '../../format.js';
import { useStrings } from '../../i18n/index.js';
import { Trans } from 'react-i18next';
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
  const { t } = useStrings('audit');
  return (
    <section className="audit-export" role="status" aria-label={t('export.label')}>
      <div className="audit-export-header">
        <strong>{t('export.title', { count: result.selectedEvents, n: formatNumber(result.selectedEvents), filter: describeFilter(filter) })}</strong>
        <button type="button" className="btn btn-ghost btn-icon" onClick={onDismiss} aria-label={t('export.dismiss')}>
          ×
        </button>
      </div>
      <p className="muted">{t('export.bundle', { count: result.batches, batches: formatNumber(result.batches), covered: formatNumber(result.coveredEvents) })}</p>
      <dl className="facts">
        <dt>{t('export.folder')}</dt>
        <dd className="mono break" aria-label={t('export.folder')} translate="no">
          {result.directory}
        </dd>
        <dt>{t('export.csv')}</dt>
        <dd className="mono break" aria-label={t('export.csvLabel')} translate="no">
          {result.csvFile}
        </dd>
        <dt>{t('export.selected')}</dt>
        <dd>{formatNumber(result.selectedEvents)}</dd>
        <dt>{t('export.covered')}</dt>
        <dd>{formatNumber(result.coveredEvents)}</dd>
        <dt>{t('export.key', { count: result.keyIds.length })}</dt>
        <dd className="mono break">{result.keyIds.length > 0 ? <span translate="no">{result.keyIds.join(', ')}</span> : t('export.noKey')}</dd>
      </dl>
      <div className="audit-command">
        <span className="field-label">{t('export.verifyIntro')}</span>
        <div className="audit-command-row">
          <code className="mono break" aria-label={t('export.verifyLabel')} translate="no">
            {command}
          </code>
          <CopyButton text={command} label={t('export.copyCommand')} />
        </div>
        <p className="muted small">
          <Trans t={t} i18nKey="export.keyNote" components={{ code: <span className="mono" translate="no" /> }} />
        </p>
        {result.keyIds.length > 1 ? <p className="muted small">{t('export.rotated')}</p> : null}
      </div>
    </section>
  );
}
