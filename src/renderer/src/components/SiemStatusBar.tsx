// Where this workstation's audit goes, in one line at the bottom of the window
// for everyone signed in. The line speaks to the clinician ("audit kept
// safely on this computer; it will be sent when the network is back"); one
// click away, "Details for IT" lists each SIEM destination online, offline or
// sending, what is queued, when it last delivered, and, when it fails, why
// and when it tries again. siem.status gives the first state; siem.changed
// keeps it live.
import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { Trans } from 'react-i18next';
import type { SiemDestinationStatus, SiemStatus } from '../../../shared/api.js';
import { call, on, type ErrorInfo } from '../enclave.js';
import { formatNumber, fullTime } from '../format.js';
import { t as translate, useStrings } from '../i18n/index.js';
import { failureWords, timeAgo, timeUntil } from './audit-format.js';
import '../styles/siem.css';

/** Re-renders every `intervalMs`, for "2 min ago" and "in 8 s". */
function useNow(intervalMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    setNow(Date.now());
    const timer = window.setInterval(() => setNow(Date.now()), intervalMs);
    return () => window.clearInterval(timer);
  }, [intervalMs]);
  return now;
}

function Dot({ state }: { state: SiemDestinationStatus['state'] | 'local' }) {
  return <span className={`siem-dot siem-dot-${state}`} aria-hidden="true" />;
}

/** A destination's state in a few words for IT: why it fails, what waits, when next. */
function destinationFacts(d: SiemDestinationStatus, now: number): string[] {
  const facts: string[] = [];
  if (d.state === 'offline' && d.lastFailure) facts.push(failureWords(d.lastFailure));
  if (d.queuedBatches > 0) facts.push(translate('siem:fact.queued', { count: d.queuedBatches, n: formatNumber(d.queuedBatches) }));
  if (d.state === 'offline' && d.nextAttemptAt !== null)
    facts.push(d.nextAttemptAt > now ? translate('siem:fact.nextTry', { when: timeUntil(d.nextAttemptAt, now) }) : translate('siem:fact.retryingNow'));
  if (d.lastSuccessAt !== null) facts.push(translate('siem:fact.delivered', { ago: timeAgo(d.lastSuccessAt, now) }));
  else if (d.state !== 'offline' && d.queuedBatches === 0) facts.push(translate('siem:fact.nothingYet'));
  return facts;
}

function worstState(destinations: readonly SiemDestinationStatus[]): SiemDestinationStatus['state'] {
  for (const state of ['offline', 'sending', 'online'] as const) if (destinations.some((d) => d.state === state)) return state;
  return 'idle';
}

/** The line for whoever sits here: is the audit safe, and has it reached IT. */
function ClinicianLine({ status, now }: { status: SiemStatus; now: number }) {
  const { t } = useStrings('siem');
  const { destinations } = status;
  if (destinations.length === 0) {
    return (
      <span className="siem-dest">
        <Dot state="local" />
        <span>{t('line.local')}</span>
      </span>
    );
  }
  const worst = worstState(destinations);
  // The oldest "last delivered" among destinations: the audit has reached every one at least by then.
  const delivered = destinations.every((d) => d.lastSuccessAt !== null) ? Math.min(...destinations.map((d) => d.lastSuccessAt ?? 0)) : null;
  const text =
    worst === 'offline'
      ? t('line.offline')
      : worst === 'sending'
        ? t('line.sending')
        : worst === 'online'
          ? delivered !== null
            ? t('line.online', { ago: timeAgo(delivered, now) })
            : t('line.onlineNothingYet')
          : t('line.idle');
  return (
    <span className={`siem-dest siem-dest-${worst}`}>
      <Dot state={worst} />
      <span>{text}</span>
    </span>
  );
}

/** A destination's facts in one line for IT, under its name: why it fails, what waits, when next. */
function DestinationSummary({ d, now }: { d: SiemDestinationStatus; now: number }) {
  const facts = destinationFacts(d, now);
  if (facts.length === 0) return null;
  return (
    <p className="siem-dest-summary" data-destination={d.id}>
      {facts.join(' · ')}
    </p>
  );
}

function DestinationDetails({ d, now }: { d: SiemDestinationStatus; now: number }) {
  const { t } = useStrings('siem');
  return (
    <li className="siem-detail">
      <div className="siem-detail-head">
        <Dot state={d.state} />
        <strong translate="no">{d.id}</strong>
        <span className={`siem-state-word siem-state-${d.state}`}>{t(`state.${d.state}`)}</span>
      </div>
      <DestinationSummary d={d} now={now} />
      <dl className="facts">
        <dt>{t('detail.sendsTo')}</dt>
        <dd className="mono break" translate="no">
          {d.target}
        </dd>
        <dt>{t('detail.transport')}</dt>
        <dd>{t(`type.${d.type}`)}</dd>
        <dt>{t('detail.queued')}</dt>
        <dd>{d.queuedBatches > 0 ? t('detail.queuedValue', { count: d.queuedBatches, n: formatNumber(d.queuedBatches) }) : t('detail.nothingWaiting')}</dd>
        <dt>{t('detail.lastDelivered')}</dt>
        <dd>{d.lastSuccessAt !== null ? t('detail.whenFull', { relative: timeAgo(d.lastSuccessAt, now), full: fullTime(d.lastSuccessAt) }) : t('detail.notYet')}</dd>
        {d.lastFailure ? (
          <>
            <dt>{t('detail.lastFailure')}</dt>
            <dd>
              <span className="siem-failure-words">{t('detail.failureWhen', { words: failureWords(d.lastFailure), ago: timeAgo(d.lastFailure.at, now) })}</span>
              {/* The transport's own sentence, as the core sends it: for IT. */}
              <span className="siem-failure-message" translate="no">
                {d.lastFailure.message}
              </span>
            </dd>
          </>
        ) : null}
        {d.nextAttemptAt !== null ? (
          <>
            <dt>{t('detail.nextAttempt')}</dt>
            <dd>{d.nextAttemptAt > now ? t('detail.whenFull', { relative: timeUntil(d.nextAttemptAt, now), full: fullTime(d.nextAttemptAt) }) : t('detail.now')}</dd>
          </>
        ) : null}
      </dl>
    </li>
  );
}

export function SiemStatusBar() {
  const [status, setStatus] = useState<SiemStatus | null>(null);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [open, setOpen] = useState(false);
  const heardEvent = useRef(false);
  const detailsId = useId();
  const toggleRef = useRef<HTMLButtonElement>(null);
  const { t } = useStrings('siem');

  useEffect(() => {
    let cancelled = false;
    const off = on('siem.changed', (next) => {
      heardEvent.current = true;
      setStatus(next);
      setError(null);
    });
    void call('siem.status', {}).then((result) => {
      if (cancelled) return;
      // An event that came meanwhile is newer than this answer.
      if (result.ok) {
        if (!heardEvent.current) setStatus(result.output);
      } else setError(result.error);
    });
    return () => {
      cancelled = true;
      off();
    };
  }, []);

  // Every second while a retry is counting down or the details are open; otherwise "2 min ago" is enough.
  const counting = open || (status?.destinations.some((d) => d.nextAttemptAt !== null || d.state === 'sending') ?? false);
  const now = useNow(counting ? 1000 : 15_000);

  const close = useCallback(() => {
    setOpen(false);
    toggleRef.current?.focus();
  }, []);

  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') close();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [open, close]);

  if (!status) {
    return (
      <div className="siem-bar" role="region" aria-label={t('region')}>
        <span className="siem-dest muted">{error ? t('unavailable') : t('loading')}</span>
      </div>
    );
  }

  return (
    <div className="siem-bar" role="region" aria-label={t('region')}>
      <span className="siem-line" role="status">
        <ClinicianLine status={status} now={now} />
      </span>
      {/* Its name is its visible text (WCAG 2.5.3); the line before it says what it is about. */}
      <button
        type="button"
        ref={toggleRef}
        className="siem-summary"
        aria-expanded={open}
        aria-controls={detailsId}
        title={open ? t('hideDetails') : t('showDetails')}
        onClick={() => setOpen((o) => !o)}
      >
        {t('detailsButton')}
        <span className="siem-chevron" aria-hidden="true">
          {open ? ' ▾' : ' ▴'}
        </span>
      </button>
      {open ? (
        <div id={detailsId} className="siem-details" role="group" aria-label={t('detailsLabel')}>
          <div className="siem-details-head">
            <h2>{t('detailsTitle')}</h2>
            <button type="button" className="btn btn-ghost btn-icon" onClick={close} aria-label={t('closeDetails')}>
              ×
            </button>
          </div>
          {status.destinations.length === 0 ? (
            <p>
              <Trans t={t} i18nKey="noDestination" components={{ code: <span className="mono" translate="no" /> }} />
            </p>
          ) : (
            <>
              <ul className="siem-detail-list">
                {status.destinations.map((d) => (
                  <DestinationDetails key={d.id} d={d} now={now} />
                ))}
              </ul>
              {status.destinations.some((d) => d.state === 'offline') ? <p className="muted">{t('nothingLost')}</p> : null}
            </>
          )}
          <dl className="facts siem-local">
            <dt>{t('local.notSealed')}</dt>
            <dd>{status.pendingEvents > 0 ? t('local.pending', { count: status.pendingEvents, n: formatNumber(status.pendingEvents) }) : t('local.none')}</dd>
            <dt>{t('local.lastSealed')}</dt>
            <dd>{status.lastBatchSeq !== null && status.lastSealedAt !== null ? t('local.batch', { seq: status.lastBatchSeq, ago: timeAgo(status.lastSealedAt, now) }) : t('local.noBatch')}</dd>
          </dl>
        </div>
      ) : null}
    </div>
  );
}
