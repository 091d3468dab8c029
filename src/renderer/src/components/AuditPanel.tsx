// Audit for those who may verify but not search (administrators): the drawer
// that re-verifies the local audit hash chain on demand. The verification
// result is shared with the compliance officer's screen (AuditSearch.tsx).
import { useCallback, useEffect, useState } from 'react';
import type { AuditVerifyReport } from '../../../shared/api.js';
import { call, type ErrorInfo } from '../enclave.js';
import { formatNumber, fullTime } from '../format.js';
import { useStrings } from '../i18n/index.js';
import { Drawer, ErrorAlert, Spinner } from './common.js';

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
  const { t } = useStrings('audit');
  if (r.ok) {
    return (
      <div className={compact ? 'audit-result audit-ok audit-result-compact' : 'audit-result audit-ok'} role="status" aria-label={t('verify.resultLabel')}>
        <strong>{t('verify.intact', { count: r.eventsChecked, events: formatNumber(r.eventsChecked), head: r.headHash ? r.headHash.slice(0, 12) : t('verify.headNone') })}</strong>
        {compact ? (
          <span className="audit-result-detail"> {t('verify.compactDetail', { seq: r.headSequence, time: fullTime(at) })}</span>
        ) : (
          <dl className="facts">
            <dt>{t('verify.eventsChecked')}</dt>
            <dd>{formatNumber(r.eventsChecked)}</dd>
            <dt>{t('verify.headSequence')}</dt>
            <dd>{r.headSequence}</dd>
            <dt>{t('verify.headHash')}</dt>
            <dd className="mono break">{r.headHash ?? '—'}</dd>
            {r.manifestsChecked !== undefined ? (
              <>
                <dt>{t('verify.manifestsChecked')}</dt>
                <dd>{formatNumber(r.manifestsChecked)}</dd>
                <dt>{t('verify.signedThrough')}</dt>
                <dd>
                  {r.signedThroughSequence
                    ? t(r.signedThroughSequence < r.headSequence ? 'verify.signedThroughLater' : 'verify.signedThroughValue', { seq: r.signedThroughSequence })
                    : t('verify.nothingSealed')}
                </dd>
              </>
            ) : null}
            <dt>{t('verify.verified')}</dt>
            <dd>{fullTime(at)}</dd>
          </dl>
        )}
      </div>
    );
  }
  return (
    <div className="audit-result audit-bad" role="alert">
      <strong>{r.firstBad ? t('verify.brokenAt', { seq: r.firstBad.sequence, problem: t(`verify.problem.${r.firstBad.problem}`) }) : t('verify.didNotVerify')}</strong>
      {r.firstBad ? <p translate="no">{r.firstBad.detail}</p> : null}
      <p className="muted">{t('verify.checkedBefore', { count: r.eventsChecked, events: formatNumber(r.eventsChecked) })}</p>
    </div>
  );
}

export function AuditPanel({ onClose }: { onClose(): void }) {
  const { report, error, busy, verify } = useAuditVerify({ onMount: true });
  const { t } = useStrings('audit');

  return (
    <Drawer title={t('verify.panelTitle')} closeLabel={t('verify.panelClose')} onClose={onClose}>
      <p className="muted">{t('verify.panelIntro')}</p>
      <div className="drawer-actions">
        <button type="button" className="btn btn-secondary" onClick={() => void verify()} disabled={busy}>
          {busy ? t('verify.busy') : t('verify.button')}
        </button>
        {busy ? <Spinner label={t('verify.spinner')} /> : null}
      </div>
      <ErrorAlert error={error} />
      {report ? <AuditVerifyResult report={report.report} at={report.at} /> : null}
    </Drawer>
  );
}
