// The compliance officer's screen: find audit events by user, dates, action and
// outcome ("every prompt of one clinician over 90 days"), read any one in full,
// verify the chain, and export a bundle an auditor can verify elsewhere. Only
// for the compliance role; the core audits every search and export.
import { formatNumber } from '../format.js';
import { AuditFilters } from './audit-search/AuditFilters.js';
import { EventDetail } from './audit-search/EventDetail.js';
import { EventTable } from './audit-search/EventTable.js';
import { ExportResult } from './audit-search/ExportResult.js';
import { describeFilter } from './audit-search/filter.js';
import { useAuditSearch } from './audit-search/useAuditSearch.js';
import { useStrings } from '../i18n/index.js';
import { AuditVerifyResult, useAuditVerify } from './AuditPanel.js';
import { ErrorAlert, Spinner } from './common.js';

export { describeFilter } from './audit-search/filter.js';
export { verifyCommand } from './audit-search/ExportResult.js';

export function AuditSearch({ onClose, onSessionError }: { onClose?: () => void; onSessionError?: () => void }) {
  const verification = useAuditVerify({ onMount: true });
  const search = useAuditSearch(onSessionError);
  const { results, applied, searching, selected } = search;
  const events = results?.events ?? [];
  const v = verification.report;
  const { t } = useStrings('audit');

  return (
    <div className="audit-screen">
      <div className="audit-screen-header">
        <div className="audit-screen-title">
          <h1>{t('search.title')}</h1>
          <p className="muted">{t('search.intro')}</p>
        </div>
        <div className="audit-screen-actions">
          <button type="button" className="btn btn-secondary" onClick={() => void verification.verify()} disabled={verification.busy}>
            {verification.busy ? t('verify.busy') : t('search.verify')}
          </button>
          <button type="button" className="btn btn-primary" onClick={() => void search.runExport()} disabled={search.exporting || !results || results.total === 0}>
            {search.exporting ? t('search.exporting') : results ? t('search.exportCount', { count: results.total, n: formatNumber(results.total) }) : t('search.export')}
          </button>
          {onClose ? (
            <button type="button" className="btn btn-ghost" onClick={onClose}>
              {t('search.back')}
            </button>
          ) : null}
        </div>
      </div>

      <AuditFilters form={search.form} onChange={search.setForm} onSubmit={search.onSubmit} onClear={search.clear} onLastDays={search.lastDays} searching={searching} />

      <div className="audit-messages">
        <ErrorAlert error={search.formError} />
        <ErrorAlert error={search.searchError} title={t('search.searchFailed')} />
        <ErrorAlert error={verification.error} title={t('search.verifyFailed')} />
        <ErrorAlert error={search.exportError} title={t('search.exportFailed')} />
        {v ? <AuditVerifyResult report={v.report} at={v.at} compact /> : null}
        {search.exported ? <ExportResult result={search.exported.result} filter={search.exported.filter} onDismiss={() => search.setExported(null)} /> : null}
      </div>

      <div className="audit-results-bar">
        <p role="status" aria-live="polite" aria-label={t('search.countLabel')} className="audit-count">
          {searching ? (
            <>
              <Spinner /> {t('search.searching')}
            </>
          ) : results && applied ? (
            <>
              <strong>{t('search.shown', { count: results.total, shown: formatNumber(events.length), n: formatNumber(results.total) })}</strong>
              <span className="muted">{t('search.newestFirst', { filter: describeFilter(applied) })}</span>
            </>
          ) : null}
        </p>
        <p className="muted small audit-audited">{t('search.audited')}</p>
      </div>

      <div className={selected ? 'audit-body has-detail' : 'audit-body'}>
        <div className="audit-table-wrap">
          <EventTable
            results={results}
            searching={searching}
            loadingMore={search.loadingMore}
            selected={selected}
            onSelect={search.setSelected}
            onLoadOlder={() => void search.loadOlder()}
            rowButtons={search.rowButtons}
          />
        </div>
        {selected ? <EventDetail event={selected} onClose={search.closeDetail} /> : null}
      </div>
    </div>
  );
}
