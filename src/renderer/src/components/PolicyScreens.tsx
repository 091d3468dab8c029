// Managed policy in the UI: the locked screen when no valid policy exists, the
// notice when a changed policy was refused, and the About drawer where an
// administrator sees every effective value and where it came from.
import { useEffect, useState } from 'react';
import type { AppStatus, PolicyNotice, PolicyReport, PolicyState } from '../../../shared/api.js';
import { call, type ErrorInfo } from '../enclave.js';
import { Drawer, ErrorAlert, Spinner } from './common.js';

function NoticeList({ notices, label }: { notices: PolicyNotice[]; label: string }) {
  return (
    <ul className="policy-notices" aria-label={label}>
      {notices.map((n, i) => (
        <li key={i}>
          {n.key ? <code className="policy-key">{n.key}</code> : null} <span className="policy-message">{n.message}</span>
          <div className="muted policy-source">in {n.source}</div>
        </li>
      ))}
    </ul>
  );
}

/** No valid policy: Enclave stays locked and says exactly what IT must fix. */
export function PolicyErrorScreen({ status }: { status: AppStatus }) {
  return (
    <div className="center-screen">
      <section className="panel setup-panel" aria-labelledby="policy-error-title">
        <h1 id="policy-error-title">Enclave is locked: policy error</h1>
        <p>
          The policy your IT department set for this workstation is not valid, so none of it was applied and Enclave cannot be used until it is corrected. Nothing you did caused this, and no data was
          lost. Please tell IT what is listed below.
        </p>
        <NoticeList notices={status.policy.problems} label="Policy problems" />
        <p className="muted">Enclave picks up the corrected policy by itself; there is no need to restart or reinstall.</p>
      </section>
    </div>
  );
}

/** A changed policy failed to validate; the previous one is still in force. */
export function PolicyNoticeBanner({ policy }: { policy: PolicyState }) {
  if (policy.state !== 'previous') return null;
  return (
    <div role="status" aria-label="Policy notice" className="policy-banner">
      <strong>A policy update from IT could not be applied.</strong>{' '}
      <span>
        The previous policy stays in force. {policy.problems.length} problem{policy.problems.length === 1 ? '' : 's'}; an administrator can see them under About.
      </span>
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

  useEffect(() => {
    void call('policy.show', {}).then((result) => {
      if (result.ok) setReport(result.output);
      else setError(result.error);
    });
    // A new policy may arrive while the drawer is open.
  }, [status.policy.hash]);

  return (
    <Drawer title="About" closeLabel="Close about panel" wide onClose={onClose}>
      <dl className="facts">
        <dt>Version</dt>
        <dd>Enclave {status.version}</dd>
        <dt>Mode</dt>
        <dd>{status.mode}</dd>
        <dt>Policy hash</dt>
        <dd className="mono break">{status.policy.hash ?? '—'}</dd>
        <dt>Sources</dt>
        <dd>{report ? report.sources.join(' › ') || 'defaults only' : '…'}</dd>
      </dl>
      {status.policy.state === 'previous' ? (
        <div className="audit-result audit-bad" role="alert">
          <strong>The newest policy was refused; the previous one stays in force.</strong>
          <NoticeList notices={status.policy.problems} label="Refused policy problems" />
        </div>
      ) : null}
      <ErrorAlert error={error} />
      {!report && !error ? <Spinner label="Reading the policy" /> : null}
      {report ? (
        <>
          {report.warnings.length > 0 ? <NoticeList notices={report.warnings} label="Policy warnings" /> : null}
          <table className="policy-table" aria-label="Effective policy">
            <thead>
              <tr>
                <th scope="col">Setting</th>
                <th scope="col">Value</th>
                <th scope="col">Source</th>
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
                        overrides {valueText(o.value)} from {o.source}
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
