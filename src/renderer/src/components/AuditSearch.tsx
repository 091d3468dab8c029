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
import { plural } from './audit-format.js';
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

  return (
    <div className="audit-screen">
      <div className="audit-screen-header">
        <div className="audit-screen-title">
          <h1>Audit log</h1>
          <p className="muted">Every sign-in, prompt, answer and change on this workstation, chained by hash and sealed in signed batches.</p>
        </div>
        <div className="audit-screen-actions">
          <button type="button" className="btn btn-secondary" onClick={() => void verification.verify()} disabled={verification.busy}>
            {verification.busy ? 'Verifying…' : 'Verify chain'}
          </button>
          <button type="button" className="btn btn-primary" onClick={() => void search.runExport()} disabled={search.exporting || !results || results.total === 0}>
            {search.exporting ? 'Exporting…' : results ? `Export ${plural(results.total, 'event')}` : 'Export'}
          </button>
          {onClose ? (
            <button type="button" className="btn btn-ghost" onClick={onClose}>
              Back to chat
            </button>
          ) : null}
        </div>
      </div>

      <AuditFilters form={search.form} onChange={search.setForm} onSubmit={search.onSubmit} onClear={search.clear} onLastDays={search.lastDays} searching={searching} />

      <div className="audit-messages">
        <ErrorAlert error={search.formError} />
        <ErrorAlert error={search.searchError} title="The search did not run." />
        <ErrorAlert error={verification.error} title="The chain could not be verified." />
        <ErrorAlert error={search.exportError} title="The export did not complete." />
        {v ? <AuditVerifyResult report={v.report} at={v.at} compact /> : null}
        {search.exported ? <ExportResult result={search.exported.result} filter={search.exported.filter} onDismiss={() => search.setExported(null)} /> : null}
      </div>

      <div className="audit-results-bar">
        <p role="status" aria-live="polite" aria-label="Result count" className="audit-count">
          {searching ? (
            <>
              <Spinner /> Searching…
            </>
          ) : results && applied ? (
            <>
              <strong>
                {formatNumber(events.length)} of {plural(results.total, 'event')}
              </strong>
              <span className="muted"> — {describeFilter(applied)}, newest first</span>
            </>
          ) : null}
        </p>
        <p className="muted small audit-audited">Searches and exports here are themselves recorded in the audit log, under your name.</p>
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
