// One audit event in full: its facts, the raw record, typed text kept here, and the text check.
import { Fragment, useEffect, useId, useRef, useState, type FormEvent } from 'react';
import type { AuditEventSummary, AuditTextCheck } from '../../../../shared/api.js';
import { auditActionLabel } from '../../../../shared/audit-actions.js';
import { call, type ErrorInfo } from '../../enclave.js';
import { checkedFieldWords, eventTime, privateTextLabel, recordHoldsTextHash, recordModel } from '../audit-format.js';
import { ErrorAlert } from '../common.js';
import { BatchCell, CopyButton, OutcomeCell } from './cells.js';

function prettyRecord(record: string): string {
  try {
    return JSON.stringify(JSON.parse(record), null, 2);
  } catch {
    return record;
  }
}

export function EventDetail({ event, onClose }: { event: AuditEventSummary; onClose(): void }) {
  const titleId = useId();
  const headingRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => headingRef.current?.focus(), [event.sequence]);
  const record = prettyRecord(event.record);
  const { workload, model } = recordModel(event.record);
  return (
    <section className="audit-detail" aria-labelledby={titleId}>
      <div className="audit-detail-header">
        <h2 id={titleId} tabIndex={-1} ref={headingRef}>
          Event {event.sequence}: {auditActionLabel(event.action)}
        </h2>
        <button type="button" className="btn btn-ghost btn-icon" onClick={onClose} aria-label="Close event details">
          ×
        </button>
      </div>
      <div className="audit-detail-body">
        <dl className="facts">
          <dt>Time</dt>
          <dd>
            {eventTime(event.timestamp)}
            <span className="mono muted audit-utc">{event.timestamp}</span>
          </dd>
          <dt>Action</dt>
          <dd>
            {auditActionLabel(event.action)} <span className="mono muted">{event.action}</span>
          </dd>
          <dt>Outcome</dt>
          <dd>
            <OutcomeCell event={event} />
          </dd>
          <dt>User</dt>
          <dd className="break">{event.user ?? <span className="muted">Workstation (no user)</span>}</dd>
          {event.roles.length > 0 ? (
            <>
              <dt>Roles</dt>
              <dd>{event.roles.join(', ')}</dd>
            </>
          ) : null}
          {event.authMethod ? (
            <>
              <dt>Signed in by</dt>
              <dd>{event.authMethod.replaceAll('-', ' ')}</dd>
            </>
          ) : null}
          <dt>Session</dt>
          <dd className="mono break">{event.sessionId ?? '—'}</dd>
          {workload ? (
            <>
              <dt>Workload</dt>
              <dd className="mono break">{workload}</dd>
            </>
          ) : null}
          {model ? (
            <>
              <dt>Model</dt>
              <dd className="break">
                <span className="mono">{model.id}</span>
                {/* The file's hash pins which weights answered; the prefix is enough to compare by eye, the full one is in the record. */}
                {model.sha256 ? (
                  <span className="mono muted audit-model-hash" title={`SHA-256 ${model.sha256}`}>
                    {' '}
                    SHA-256 {model.sha256.slice(0, 12)}…
                  </span>
                ) : null}
              </dd>
            </>
          ) : null}
          <dt>Batch</dt>
          <dd>
            <BatchCell batchSeq={event.batchSeq} />
          </dd>
          <dt>Event id</dt>
          <dd className="mono break">{event.id}</dd>
        </dl>
        <div className="audit-record-header">
          <h3>Full record</h3>
          <CopyButton text={event.record} label="Copy the full record" />
        </div>
        <pre className="audit-record" aria-label="Full record" tabIndex={0}>
          {record}
        </pre>
        <p className="muted small">Prompts, answers and anything typed are never in the audit log; only their length and a keyed fingerprint (HMAC-SHA-256 with this workstation&apos;s secret) are.</p>
        <PrivateText text={event.privateText} />
        {recordHoldsTextHash(event.record) ? <TextCheck key={event.id} eventId={event.id} /> : null}
      </div>
    </section>
  );
}

/** Typed text the event is about, kept on this workstation only: never sent to the SIEM nor exported. */
function PrivateText({ text }: { text: Record<string, string> }) {
  const entries = Object.entries(text);
  if (entries.length === 0) return null;
  return (
    <section className="audit-private-text" aria-label="Typed text kept on this workstation">
      <h3>Typed text (this workstation only)</h3>
      <dl className="facts">
        {entries.map(([field, value]) => (
          <Fragment key={field}>
            <dt>{privateTextLabel(field)}</dt>
            <dd className="break">{value}</dd>
          </Fragment>
        ))}
      </dl>
      <p className="muted small">Kept in the encrypted database here; the SIEM and export bundles get only its length and keyed fingerprint.</p>
    </section>
  );
}

/** "Was this exact text the prompt (or answer, or reason) of this event?", checked here by keyed hash; the check is audited, never the text. */
function TextCheck({ eventId }: { eventId: string }) {
  const textId = useId();
  const [text, setText] = useState('');
  const [checking, setChecking] = useState(false);
  const [result, setResult] = useState<AuditTextCheck | null>(null);
  const [error, setError] = useState<ErrorInfo | null>(null);
  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setChecking(true);
    setError(null);
    setResult(null);
    const answer = await call('audit.checkText', { eventId, text });
    setChecking(false);
    if (answer.ok) setResult(answer.output);
    else setError(answer.error);
  }
  return (
    <form className="audit-text-check" onSubmit={(e) => void onSubmit(e)} aria-label="Check a text against this event">
      <label htmlFor={textId} className="field-label">
        Check a text against this event
      </label>
      <textarea id={textId} rows={3} value={text} onChange={(e) => setText(e.target.value)} />
      <div className="audit-text-check-actions">
        <button type="submit" className="btn" disabled={checking || text.length === 0}>
          {checking ? 'Checking…' : 'Check'}
        </button>
        <span role="status" aria-label="Text check result">
          {result
            ? result.matches && result.field
              ? `Matches: this exact text is ${checkedFieldWords(result.field)} of event ${result.sequence}.`
              : `No match: this is not the exact ${result.fields.map(checkedFieldWords).join(' or ') || 'text'} of event ${result.sequence}.`
            : null}
        </span>
      </div>
      <ErrorAlert error={error} title="The text could not be checked" />
      <p className="muted small">Compared by keyed fingerprint on this workstation. The check is audited (which event, and whether it matched), never the text.</p>
    </form>
  );
}
