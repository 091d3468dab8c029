// Compliance view: re-verifies the local audit hash chain on demand.
import { useCallback, useEffect, useState } from 'react';
import type { AuditVerifyReport } from '../../../shared/api.js';
import { call, type ErrorInfo } from '../enclave.js';
import { formatNumber, fullTime } from '../format.js';
import { Drawer, ErrorAlert, Spinner } from './common.js';

const PROBLEM_TEXT: Record<NonNullable<AuditVerifyReport['firstBad']>['problem'], string> = {
  modified: 'modified',
  missing: 'missing',
  reordered: 'out of order',
  malformed: 'malformed',
};

export function AuditPanel({ onClose }: { onClose(): void }) {
  const [report, setReport] = useState<{ report: AuditVerifyReport; at: number } | null>(null);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [busy, setBusy] = useState(false);

  const verify = useCallback(async () => {
    setBusy(true);
    setError(null);
    const result = await call('audit.verify', {});
    setBusy(false);
    if (result.ok) setReport({ report: result.output, at: Date.now() });
    else setError(result.error);
  }, []);

  useEffect(() => {
    void verify();
  }, [verify]);

  const r = report?.report;
  return (
    <Drawer title="Audit" closeLabel="Close audit panel" onClose={onClose}>
      <p className="muted">
        Every sign-in, prompt, answer and change is an audit event, chained by SHA-256 to the one before. Verifying
        recomputes the whole chain on this workstation.
      </p>
      <div className="drawer-actions">
        <button type="button" className="btn btn-secondary" onClick={() => void verify()} disabled={busy}>
          {busy ? 'Verifying…' : 'Verify audit chain'}
        </button>
        {busy ? <Spinner label="Verifying" /> : null}
      </div>
      <ErrorAlert error={error} />
      {r && r.ok ? (
        <div className="audit-result audit-ok" role="status" aria-label="Audit result">
          <strong>
            Audit intact — {formatNumber(r.eventsChecked)} events, head {r.headHash ? r.headHash.slice(0, 12) : 'none'}
          </strong>
          <dl className="facts">
            <dt>Events checked</dt>
            <dd>{formatNumber(r.eventsChecked)}</dd>
            <dt>Head sequence</dt>
            <dd>{r.headSequence}</dd>
            <dt>Head hash</dt>
            <dd className="mono break">{r.headHash ?? '—'}</dd>
            <dt>Verified</dt>
            <dd>{report ? fullTime(report.at) : ''}</dd>
          </dl>
        </div>
      ) : null}
      {r && !r.ok ? (
        <div className="audit-result audit-bad" role="alert">
          <strong>
            {r.firstBad
              ? `Audit chain broken at event ${r.firstBad.sequence}: ${PROBLEM_TEXT[r.firstBad.problem]}`
              : 'Audit chain did not verify'}
          </strong>
          {r.firstBad ? <p>{r.firstBad.detail}</p> : null}
          <p className="muted">
            {formatNumber(r.eventsChecked)} events checked before the problem. Report this to your compliance officer;
            do not delete the database.
          </p>
        </div>
      ) : null}
    </Drawer>
  );
}
