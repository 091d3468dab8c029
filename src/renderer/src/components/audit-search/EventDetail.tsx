// One audit event in full: its facts, the raw record, typed text kept here, and the text check.
import { Fragment, useEffect, useId, useRef, useState, type FormEvent } from 'react';
import type { AuditEventSummary, AuditTextCheck } from '../../../../shared/api.js';
import { auditActionText } from './action-text.js';
import { call, type ErrorInfo } from '../../enclave.js';
import { checkedFieldWords, eventTime, privateTextLabel, recordHoldsTextHash, recordModel } from '../audit-format.js';
import { useStrings } from '../../i18n/index.js';
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
  const { t } = useStrings('audit');
  const headingRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => headingRef.current?.focus(), [event.sequence]);
  const record = prettyRecord(event.record);
  const { workload, model } = recordModel(event.record);
  return (
    <section className="audit-detail" aria-labelledby={titleId}>
      <div className="audit-detail-header">
        <h2 id={titleId} tabIndex={-1} ref={headingRef}>
          {t('detail.title', { seq: event.sequence, action: auditActionText(event.action) })}
        </h2>
        <button type="button" className="btn btn-ghost btn-icon" onClick={onClose} aria-label={t('detail.close')}>
          ×
        </button>
      </div>
      <div className="audit-detail-body">
        <dl className="facts">
          <dt>{t('detail.time')}</dt>
          <dd>
            <time dateTime={event.timestamp}>{eventTime(event.timestamp)}</time>
            <span className="mono muted audit-utc" translate="no">
              {event.timestamp}
            </span>
          </dd>
          <dt>{t('detail.action')}</dt>
          <dd>
            {auditActionText(event.action)}{' '}
            <span className="mono muted" translate="no">
              {event.action}
            </span>
          </dd>
          <dt>{t('detail.outcome')}</dt>
          <dd>
            <OutcomeCell event={event} />
          </dd>
          <dt>{t('detail.user')}</dt>
          <dd className="break">{event.user ? <span translate="no">{event.user}</span> : <span className="muted">{t('detail.noUser')}</span>}</dd>
          {event.roles.length > 0 ? (
            <>
              <dt>{t('detail.roles')}</dt>
              {/* As recorded: the audit's own role and method codes, the same words the SIEM gets. */}
              <dd translate="no">{event.roles.join(', ')}</dd>
            </>
          ) : null}
          {event.authMethod ? (
            <>
              <dt>{t('detail.signedInBy')}</dt>
              <dd translate="no">{event.authMethod.replaceAll('-', ' ')}</dd>
            </>
          ) : null}
          <dt>{t('detail.session')}</dt>
          <dd className="mono break" translate="no">
            {event.sessionId ?? '—'}
          </dd>
          {workload ? (
            <>
              <dt>{t('detail.workload')}</dt>
              <dd className="mono break" translate="no">
                {workload}
              </dd>
            </>
          ) : null}
          {model ? (
            <>
              <dt>{t('detail.model')}</dt>
              <dd className="break">
                <span className="mono" translate="no">
                  {model.id}
                </span>
                {/* The file's hash pins which weights answered; the prefix is enough to compare by eye, the full one is in the record. */}
                {model.sha256 ? (
                  <span className="mono muted audit-model-hash" title={t('detail.modelHashTitle', { hash: model.sha256 })}>
                    {' '}
                    {t('detail.modelHash', { prefix: model.sha256.slice(0, 12) })}
                  </span>
                ) : null}
              </dd>
            </>
          ) : null}
          <dt>{t('detail.batch')}</dt>
          <dd>
            <BatchCell batchSeq={event.batchSeq} />
          </dd>
          <dt>{t('detail.eventId')}</dt>
          <dd className="mono break" translate="no">
            {event.id}
          </dd>
        </dl>
        <div className="audit-record-header">
          <h3>{t('detail.fullRecord')}</h3>
          <CopyButton text={event.record} label={t('detail.copyRecord')} />
        </div>
        <pre className="audit-record" aria-label={t('detail.fullRecord')} tabIndex={0} translate="no">
          {record}
        </pre>
        <p className="muted small">{t('detail.noText')}</p>
        <PrivateText text={event.privateText} />
        {recordHoldsTextHash(event.record) ? <TextCheck key={event.id} eventId={event.id} /> : null}
      </div>
    </section>
  );
}

/** Typed text the event is about, kept on this workstation only: never sent to the SIEM nor exported. */
function PrivateText({ text }: { text: Record<string, string> }) {
  const { t } = useStrings('audit');
  const entries = Object.entries(text);
  if (entries.length === 0) return null;
  return (
    <section className="audit-private-text" aria-label={t('detail.privateLabel')}>
      <h3>{t('detail.privateTitle')}</h3>
      <dl className="facts">
        {entries.map(([field, value]) => (
          <Fragment key={field}>
            <dt>{privateTextLabel(field)}</dt>
            <dd className="break" translate="no">
              {value}
            </dd>
          </Fragment>
        ))}
      </dl>
      <p className="muted small">{t('detail.privateNote')}</p>
    </section>
  );
}

/** "Was this exact text the prompt (or answer, or reason) of this event?", checked here by keyed hash; the check is audited, never the text. */
function TextCheck({ eventId }: { eventId: string }) {
  const textId = useId();
  const { t } = useStrings('audit');
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
    <form className="audit-text-check" onSubmit={(e) => void onSubmit(e)} aria-label={t('detail.checkLabel')}>
      <label htmlFor={textId} className="field-label">
        {t('detail.checkLabel')}
      </label>
      <textarea id={textId} rows={3} value={text} onChange={(e) => setText(e.target.value)} />
      <div className="audit-text-check-actions">
        <button type="submit" className="btn" disabled={checking || text.length === 0}>
          {checking ? t('detail.checking') : t('detail.check')}
        </button>
        <span role="status" aria-label={t('detail.checkResult')}>
          {result
            ? result.matches && result.field
              ? t('detail.matches', { field: checkedFieldWords(result.field), seq: result.sequence })
              : t('detail.noMatch', { fields: result.fields.map(checkedFieldWords).join(t('detail.or')) || t('detail.text'), seq: result.sequence })
            : null}
        </span>
      </div>
      <ErrorAlert error={error} title={t('detail.checkFailed')} />
      <p className="muted small">{t('detail.checkNote')}</p>
    </form>
  );
}
