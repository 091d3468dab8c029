// Audit for those who may verify but not search (administrators): the drawer
// that re-verifies the local audit hash chain on demand. The verification
// result is shared with the compliance officer's screen (AuditSearch.tsx).
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
  bad_signature: 'a signed batch manifest does not verify',
  broken_chain: 'the signed batch manifests do not chain',
};

/** audit.verify with its busy flag, last report and error; verifies once on mount unless told not to. */
export function useAuditVerify({ onMount }: { onMount: boolean }) {
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
    if (onMount) void verify();
  }, [verify, onMount]);

  return { report, error, busy, verify };
}

/** Intact, or the first bad sequence and what is wrong with it. */
export function AuditVerifyResult({ report, at, compact }: { report: AuditVerifyReport; at: number; compact?: boolean }) {
  const r = report;
  if (r.ok) {
    return (
      <div className={compact ? 'audit-result audit-ok audit-result-compact' : 'audit-result audit-ok'} role="status" aria-label="Audit result">
        <strong>
          Audit intact — {formatNumber(r.eventsChecked)} events, head {r.headHash ? r.headHash.slice(0, 12) : 'none'}
        </strong>
        {compact ? (
          <span className="audit-result-detail">
            · every event up to sequence {r.headSequence} matches its hash and the one before it · checked {fullTime(at)}
          </span>
        ) : (
          <dl className="facts">
            <dt>Events checked</dt>
            <dd>{formatNumber(r.eventsChecked)}</dd>
            <dt>Head sequence</dt>
            <dd>{r.headSequence}</dd>
            <dt>Head hash</dt>
            <dd className="mono break">{r.headHash ?? '—'}</dd>
            {r.manifestsChecked !== undefined ? (
              <>
                <dt>Signed batches checked</dt>
                <dd>{formatNumber(r.manifestsChecked)}</dd>
                <dt>Signed through</dt>
                <dd>{r.signedThroughSequence ? `event ${r.signedThroughSequence}${r.signedThroughSequence < r.headSequence ? ' (later events are not sealed yet)' : ''}` : 'nothing sealed yet'}</dd>
              </>
            ) : null}
            <dt>Verified</dt>
            <dd>{fullTime(at)}</dd>
          </dl>
        )}
      </div>
    );
  }
  return (
    <div className="audit-result audit-bad" role="alert">
      <strong>{r.firstBad ? `Audit chain broken at event ${r.firstBad.sequence}: ${PROBLEM_TEXT[r.firstBad.problem]}` : 'Audit chain did not verify'}</strong>
      {r.firstBad ? <p>{r.firstBad.detail}</p> : null}
      <p className="muted">{formatNumber(r.eventsChecked)} events checked before the problem. Report this to your compliance officer; do not delete the database.</p>
    </div>
  );
}

export function AuditPanel({ onClose }: { onClose(): void }) {
  const { report, error, busy, verify } = useAuditVerify({ onMount: true });

  return (
    <Drawer title="Audit" closeLabel="Close audit panel" onClose={onClose}>
      <p className="muted">Every sign-in, prompt, answer and change is an audit event, chained by SHA-256 to the one before. Verifying recomputes the whole chain on this workstation.</p>
      <div className="drawer-actions">
        <button type="button" className="btn btn-secondary" onClick={() => void verify()} disabled={busy}>
          {busy ? 'Verifying…' : 'Verify audit chain'}
        </button>
        {busy ? <Spinner label="Verifying" /> : null}
      </div>
      <ErrorAlert error={error} />
      {report ? <AuditVerifyResult report={report.report} at={report.at} /> : null}
    </Drawer>
  );
}
