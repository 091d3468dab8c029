// Where this workstation's audit goes, in one line at the bottom of the window
// for everyone signed in: each SIEM destination online, offline or sending,
// what is queued, when it last delivered, and, when it fails, why in a few
// words and when it tries again. The line opens a panel with the details IT
// needs. siem.status gives the first state; siem.changed keeps it live.
import { useCallback, useEffect, useId, useRef, useState } from 'react';
import type { SiemDestinationStatus, SiemStatus } from '../../../shared/api.js';
import { call, on, type ErrorInfo } from '../enclave.js';
import { fullTime } from '../format.js';
import { failureWords, plural, timeAgo, timeUntil } from './audit-format.js';

/** Past this many destinations the line sums up instead of naming each one. */
const INLINE_DESTINATIONS = 2;

const STATE_WORD: Record<SiemDestinationStatus['state'], string> = {
  online: 'online',
  offline: 'offline',
  sending: 'sending',
  idle: 'waiting for a first batch',
};

const TYPE_WORD: Record<SiemDestinationStatus['type'], string> = {
  'syslog-tls': 'Syslog over TLS',
  'splunk-hec': 'Splunk HEC',
  'https-json': 'HTTPS JSON',
};

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

/** The part of the line after the state word: why it fails, what waits, when next. */
function destinationFacts(d: SiemDestinationStatus, now: number): string[] {
  const facts: string[] = [];
  if (d.state === 'offline' && d.lastFailure) facts.push(failureWords(d.lastFailure));
  if (d.queuedBatches > 0) facts.push(`${plural(d.queuedBatches, 'batch', 'batches')} queued`);
  if (d.state === 'offline' && d.nextAttemptAt !== null) facts.push(d.nextAttemptAt > now ? `next try ${timeUntil(d.nextAttemptAt, now)}` : 'retrying now');
  if (d.lastSuccessAt !== null) facts.push(`delivered ${timeAgo(d.lastSuccessAt, now)}`);
  else if (d.state !== 'offline' && d.queuedBatches === 0) facts.push('nothing to send yet');
  return facts;
}

function InlineDestination({ d, now, showTarget }: { d: SiemDestinationStatus; now: number; showTarget: boolean }) {
  const facts = destinationFacts(d, now);
  return (
    <span className={`siem-dest siem-dest-${d.state}`} data-destination={d.id}>
      <Dot state={d.state} />
      <span className="siem-dest-id">{d.id}</span> {showTarget ? <span className="siem-dest-target">({d.target})</span> : null} <span className="siem-dest-state">{STATE_WORD[d.state]}</span>{' '}
      {facts.length > 0 ? <span className="siem-dest-facts">· {facts.join(' · ')}</span> : null}
    </span>
  );
}

function worstState(destinations: readonly SiemDestinationStatus[]): SiemDestinationStatus['state'] {
  for (const state of ['offline', 'sending', 'online'] as const) if (destinations.some((d) => d.state === state)) return state;
  return 'idle';
}

function SummaryLine({ status, now }: { status: SiemStatus; now: number }) {
  const { destinations } = status;
  if (destinations.length === 0) {
    return (
      <span className="siem-dest">
        <Dot state="local" />
        <span>Audit kept on this workstation (no SIEM configured)</span>
      </span>
    );
  }
  if (destinations.length <= INLINE_DESTINATIONS) {
    return (
      <>
        {destinations.map((d) => (
          <InlineDestination key={d.id} d={d} now={now} showTarget={destinations.length === 1} />
        ))}
      </>
    );
  }
  const counts = (['online', 'sending', 'offline', 'idle'] as const)
    .map((state) => ({ state, count: destinations.filter((d) => d.state === state).length }))
    .filter((c) => c.count > 0)
    .map((c) => `${c.count} ${STATE_WORD[c.state]}`);
  const queued = destinations.reduce((sum, d) => sum + d.queuedBatches, 0);
  return (
    <span className="siem-dest">
      <Dot state={worstState(destinations)} />
      <span>
        {destinations.length} SIEM destinations: {counts.join(', ')}
        {queued > 0 ? ` · ${plural(queued, 'batch', 'batches')} queued` : ''}
      </span>
    </span>
  );
}

function DestinationDetails({ d, now }: { d: SiemDestinationStatus; now: number }) {
  return (
    <li className="siem-detail">
      <div className="siem-detail-head">
        <Dot state={d.state} />
        <strong>{d.id}</strong>
        <span className={`siem-state-word siem-state-${d.state}`}>{STATE_WORD[d.state]}</span>
      </div>
      <dl className="facts">
        <dt>Sends to</dt>
        <dd className="mono break">{d.target}</dd>
        <dt>Transport</dt>
        <dd>{TYPE_WORD[d.type]}</dd>
        <dt>Queued</dt>
        <dd>{d.queuedBatches > 0 ? `${plural(d.queuedBatches, 'signed batch', 'signed batches')} waiting` : 'nothing waiting'}</dd>
        <dt>Last delivered</dt>
        <dd>{d.lastSuccessAt !== null ? `${timeAgo(d.lastSuccessAt, now)} (${fullTime(d.lastSuccessAt)})` : 'not yet'}</dd>
        {d.lastFailure ? (
          <>
            <dt>Last failure</dt>
            <dd>
              <span className="siem-failure-words">{failureWords(d.lastFailure)}</span>, {timeAgo(d.lastFailure.at, now)}
              <span className="siem-failure-message">{d.lastFailure.message}</span>
            </dd>
          </>
        ) : null}
        {d.nextAttemptAt !== null ? (
          <>
            <dt>Next attempt</dt>
            <dd>{d.nextAttemptAt > now ? `${timeUntil(d.nextAttemptAt, now)} (${fullTime(d.nextAttemptAt)})` : 'now'}</dd>
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
  const summaryId = useId();
  const toggleRef = useRef<HTMLButtonElement>(null);

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
      <div className="siem-bar" role="region" aria-label="Audit delivery">
        <span className="siem-dest muted">{error ? 'Audit delivery status is not available right now.' : 'Audit delivery…'}</span>
      </div>
    );
  }

  return (
    <div className="siem-bar" role="region" aria-label="Audit delivery">
      <button
        type="button"
        ref={toggleRef}
        className="siem-summary"
        aria-expanded={open}
        aria-controls={detailsId}
        // A name of its own, so "Audit" in the header stays the only button of that name; the line is its description.
        aria-label="SIEM delivery details"
        aria-describedby={summaryId}
        title={open ? 'Hide the delivery details' : 'Show the delivery details'}
        onClick={() => setOpen((o) => !o)}
      >
        <span id={summaryId} className="siem-line">
          <SummaryLine status={status} now={now} />
        </span>
        <span className="siem-chevron" aria-hidden="true">
          {open ? '▾' : '▴'}
        </span>
      </button>
      {open ? (
        <div id={detailsId} className="siem-details" role="group" aria-label="Audit delivery details">
          <div className="siem-details-head">
            <h2>Audit delivery</h2>
            <button type="button" className="btn btn-ghost btn-icon" onClick={close} aria-label="Close audit delivery details">
              ×
            </button>
          </div>
          {status.destinations.length === 0 ? (
            <p>
              No SIEM destination is set in policy (<span className="mono">siem.destinations</span>). Audit events are still chained, sealed in signed batches and kept, encrypted, on this workstation.
            </p>
          ) : (
            <>
              <ul className="siem-detail-list">
                {status.destinations.map((d) => (
                  <DestinationDetails key={d.id} d={d} now={now} />
                ))}
              </ul>
              {status.destinations.some((d) => d.state === 'offline') ? (
                <p className="muted">Nothing is lost while a destination is offline: batches wait here, in order, and are sent when it answers.</p>
              ) : null}
            </>
          )}
          <dl className="facts siem-local">
            <dt>Not yet sealed</dt>
            <dd>{status.pendingEvents > 0 ? `${plural(status.pendingEvents, 'event')} waiting for the next signed batch` : 'none'}</dd>
            <dt>Last sealed</dt>
            <dd>{status.lastBatchSeq !== null && status.lastSealedAt !== null ? `batch ${status.lastBatchSeq}, ${timeAgo(status.lastSealedAt, now)}` : 'no batch yet'}</dd>
          </dl>
        </div>
      ) : null}
    </div>
  );
}
