// Managed policy in the UI: the locked screen when no valid policy exists, the
// notice when a changed policy was refused, and the About drawer where an
// administrator sees every effective value and where it came from.
import { useEffect, useState } from 'react';
import type { AppStatus, PolicyNotice, PolicyReport, PolicyState } from '../../../shared/api.js';
import { call, type ErrorInfo } from '../enclave.js';
import { formatNumber } from '../format.js';
import { useStrings } from '../i18n/index.js';
import { Drawer, ErrorAlert, Spinner } from './common.js';

function NoticeList({ notices, label }: { notices: PolicyNotice[]; label: string }) {
  const { t } = useStrings('policy');
  return (
    <ul className="policy-notices" aria-label={label}>
      {notices.map((n, i) => (
        <li key={i}>
          {/* The problem as the core words it (with the key and file it is about): IT reads it as written. */}
          {n.key ? <code className="policy-key">{n.key}</code> : null}{' '}
          <span className="policy-message" translate="no">
            {n.message}
          </span>
          <div className="muted policy-source">{t('source', { source: n.source })}</div>
        </li>
      ))}
    </ul>
  );
}

/** No valid policy: Enclave stays locked and says exactly what IT must fix. */
export function PolicyErrorScreen({ status }: { status: AppStatus }) {
  const { t } = useStrings('policy');
  return (
    <main className="center-screen" aria-labelledby="policy-error-title">
      <section className="panel setup-panel" aria-labelledby="policy-error-title">
        <h1 id="policy-error-title">{t('error.title')}</h1>
        <p>{t('error.body')}</p>
        <NoticeList notices={status.policy.problems} label={t('error.problems')} />
        <p className="muted">{t('error.pickUp')}</p>
      </section>
    </main>
  );
}

/** A changed policy failed to validate; the previous one is still in force. */
export function PolicyNoticeBanner({ policy }: { policy: PolicyState }) {
  const { t } = useStrings('policy');
  if (policy.state !== 'previous') return null;
  return (
    <div role="status" aria-label={t('notice.label')} className="policy-banner">
      <strong>{t('notice.title')}</strong> <span>{t('notice.detail', { count: policy.problems.length, n: formatNumber(policy.problems.length) })}</span>
    </div>
  );
}

function valueText(value: unknown): string {
  if (value === null) return '—';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function AboutPanel({ status, onClose }: { status: AppStatus; onClose(): void }) {
  const [report, setReport] = useState<PolicyReport | null>(null);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const { t } = useStrings('policy');

  useEffect(() => {
    void call('policy.show', {}).then((result) => {
      if (result.ok) setReport(result.output);
      else setError(result.error);
    });
    // A new policy may arrive while the drawer is open.
  }, [status.policy.hash]);

  return (
    <Drawer title={t('about.title')} closeLabel={t('about.close')} wide onClose={onClose}>
      <dl className="facts">
        <dt>{t('about.version')}</dt>
        <dd>{t('about.versionValue', { version: status.version })}</dd>
        <dt>{t('about.mode')}</dt>
        <dd>{t(`about.modes.${status.mode}`)}</dd>
        <dt>{t('about.hash')}</dt>
        <dd className="mono break">{status.policy.hash ?? '—'}</dd>
        <dt>{t('about.sources')}</dt>
        <dd translate="no">{report ? report.sources.join(' › ') || t('about.defaultsOnly') : '…'}</dd>
      </dl>
      {status.policy.state === 'previous' ? (
        <div className="audit-result audit-bad" role="alert">
          <strong>{t('about.refused')}</strong>
          <NoticeList notices={status.policy.problems} label={t('about.refusedProblems')} />
        </div>
      ) : null}
      <ErrorAlert error={error} />
      {!report && !error ? <Spinner label={t('about.reading')} /> : null}
      {report ? (
        <>
          {report.warnings.length > 0 ? <NoticeList notices={report.warnings} label={t('about.warnings')} /> : null}
          <table className="policy-table" aria-label={t('about.table')}>
            <thead>
              <tr>
                <th scope="col">{t('about.setting')}</th>
                <th scope="col">{t('about.value')}</th>
                <th scope="col">{t('about.sourceColumn')}</th>
              </tr>
            </thead>
            <tbody>
              {report.settings.map((s) => (
                <tr key={s.key}>
                  <th scope="row">
                    <code>{s.key}</code>
                  </th>
                  <td className="mono break">{valueText(s.value)}</td>
                  <td>
                    <span className={s.source === 'default' ? 'muted' : undefined}>{s.source}</span>
                    {s.overridden.map((o, i) => (
                      <div key={i} className="muted policy-overridden">
                        {t('about.overrides', { value: valueText(o.value), source: o.source })}
                      </div>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </Drawer>
  );
}
