// The compliance officer's screen: find audit events by user, dates, action and
// outcome ("every prompt of one clinician over 90 days"), read any one in full,
// verify the chain, and export a bundle an auditor can verify elsewhere. Only
// for the compliance role; the core audits every search and export.
import { Fragment, useCallback, useEffect, useId, useRef, useState, type FormEvent } from 'react';
import type { AuditEventSummary, AuditExportResult, AuditFilter, AuditTextCheck, CallOutput } from '../../../shared/api.js';
import { AUDIT_ACTION_GROUPS, auditActionLabel } from '../../../shared/audit-actions.js';
import { call, type ErrorInfo } from '../enclave.js';
import { formatNumber } from '../format.js';
import { checkedFieldWords, dateInputValue, eventTime, localDayRange, plural, privateTextLabel, reasonWords, recordHoldsTextHash, recordModel, utcOffsetLabel } from './audit-format.js';
import { AuditVerifyResult, useAuditVerify } from './AuditPanel.js';
import { ErrorAlert, Spinner } from './common.js';

const PAGE_SIZE = 100;

type SearchResult = CallOutput<'audit.search'>;
type Outcome = NonNullable<AuditFilter['outcome']>;

interface FormState {
  user: string;
  from: string;
  to: string;
  action: string;
  outcome: '' | Outcome;
}

const EMPTY_FORM: FormState = { user: '', from: '', to: '', action: '', outcome: '' };

const OUTCOME_TEXT: Record<Outcome, string> = { success: 'Success', failure: 'Failure', unknown: 'Unknown' };

/** The form as the filter the core takes, or the reason it is not one. */
function toFilter(form: FormState): { filter: AuditFilter } | { error: string } {
  const filter: AuditFilter = {};
  const user = form.user.trim();
  if (user) filter.user = user;
  if (form.from) {
    const day = localDayRange(form.from);
    if (!day) return { error: 'The start date is not a date.' };
    filter.from = day.start;
  }
  if (form.to) {
    const day = localDayRange(form.to);
    if (!day) return { error: 'The end date is not a date.' };
    filter.to = day.end;
  }
  if (filter.from !== undefined && filter.to !== undefined && filter.from > filter.to) return { error: 'The start date is after the end date.' };
  if (form.action) filter.action = form.action;
  if (form.outcome) filter.outcome = form.outcome;
  return { filter };
}

const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

/** What a filter selects, in words: "dr.a@x · Sign-in · 1 Jan 2025 – 31 Mar 2025". */
export function describeFilter(filter: AuditFilter): string {
  const parts: string[] = [];
  if (filter.user) parts.push(filter.user);
  if (filter.action) parts.push(auditActionLabel(filter.action));
  if (filter.outcome) parts.push(`${OUTCOME_TEXT[filter.outcome].toLowerCase()} only`);
  if (filter.from !== undefined || filter.to !== undefined) {
    const from = filter.from !== undefined ? dayFormat.format(new Date(filter.from)) : 'the beginning';
    const to = filter.to !== undefined ? dayFormat.format(new Date(filter.to)) : 'now';
    parts.push(`${from} – ${to}`);
  }
  return parts.length > 0 ? parts.join(' · ') : 'all events';
}

/** A path as one shell word: quoted only when it has to be. */
function shellWord(value: string): string {
  return /^[A-Za-z0-9_./:\\@%+=,-]+$/.test(value) ? value : `"${value.replaceAll('"', '\\"')}"`;
}

export function verifyCommand(result: AuditExportResult): string {
  const key = result.keyIds[0];
  return `enclave audit verify --bundle ${shellWord(result.directory)}${key ? ` --key-id ${key}` : ''}`;
}

function prettyRecord(record: string): string {
  try {
    return JSON.stringify(JSON.parse(record), null, 2);
  } catch {
    return record;
  }
}

function OutcomeCell({ event }: { event: AuditEventSummary }) {
  return (
    <span className="audit-outcome">
      {/* Success is the quiet normal; what failed stands out. */}
      {event.outcome === 'success' ? (
        <span className="audit-success">Success</span>
      ) : (
        <span className={`tag ${event.outcome === 'failure' ? 'tag-error' : 'tag-warning'}`}>{OUTCOME_TEXT[event.outcome]}</span>
      )}
      {event.reason ? <span className="audit-reason">{reasonWords(event.reason)}</span> : null}
    </span>
  );
}

function BatchCell({ batchSeq }: { batchSeq: number | null }) {
  return batchSeq === null ? <span className="muted">Waiting to be sealed</span> : <span>Sealed in batch {batchSeq}</span>;
}

/** A button that copies text; says so, or says nothing where the clipboard is not allowed. */
function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = window.setTimeout(() => setCopied(false), 2000);
    return () => window.clearTimeout(timer);
  }, [copied]);
  return (
    <button
      type="button"
      className="btn btn-secondary btn-small"
      aria-label={label}
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(
          () => setCopied(true),
          () => undefined,
        );
      }}
    >
      {copied ? 'Copied' : 'Copy'}
    </button>
  );
}

function EventDetail({ event, onClose }: { event: AuditEventSummary; onClose(): void }) {
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
        <p className="muted small">
          Prompts, answers and anything typed are never in the audit log; only their length and a keyed fingerprint (HMAC-SHA-256 with this workstation&apos;s secret) are.
        </p>
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

function ExportResult({ result, filter, onDismiss }: { result: AuditExportResult; filter: AuditFilter; onDismiss(): void }) {
  const command = verifyCommand(result);
  return (
    <section className="audit-export" role="status" aria-label="Export result">
      <div className="audit-export-header">
        <strong>
          Exported {plural(result.selectedEvents, 'event')} — {describeFilter(filter)}
        </strong>
        <button type="button" className="btn btn-ghost btn-icon" onClick={onDismiss} aria-label="Dismiss export result">
          ×
        </button>
      </div>
      <p className="muted">
        The bundle holds the {plural(result.batches, 'signed batch', 'signed batches')} these events are sealed in ({plural(result.coveredEvents, 'event')} in all), so
        every signature and Merkle root can be checked without this workstation.
      </p>
      <dl className="facts">
        <dt>Bundle folder</dt>
        <dd className="mono break" aria-label="Bundle folder">
          {result.directory}
        </dd>
        <dt>Spreadsheet (CSV)</dt>
        <dd className="mono break" aria-label="CSV file">
          {result.csvFile}
        </dd>
        <dt>Events selected</dt>
        <dd>{formatNumber(result.selectedEvents)}</dd>
        <dt>Events covered</dt>
        <dd>{formatNumber(result.coveredEvents)}</dd>
        <dt>Signing {result.keyIds.length === 1 ? 'key' : 'keys'}</dt>
        <dd className="mono break">{result.keyIds.length > 0 ? result.keyIds.join(', ') : 'none (no sealed batch)'}</dd>
      </dl>
      <div className="audit-command">
        <span className="field-label">Verify it on any computer with Enclave’s command-line tool:</span>
        <div className="audit-command-row">
          <code className="mono break" aria-label="Verify command">
            {command}
          </code>
          <CopyButton text={command} label="Copy the verify command" />
        </div>
        <p className="muted small">
          The key id is this workstation’s enrolled signing key; whoever verifies should check it against the one IT registered (<span className="mono">enclave enroll show</span>), not take it from the bundle.
        </p>
        {result.keyIds.length > 1 ? <p className="muted small">The signing key was rotated in this range; the bundle carries the handover, signed by the first key.</p> : null}
      </div>
    </section>
  );
}

export function AuditSearch({ onClose, onSessionError }: { onClose?: () => void; onSessionError?: () => void }) {
  const [form, setForm] = useState<FormState>(EMPTY_FORM);
  const [formError, setFormError] = useState<ErrorInfo | null>(null);
  const [applied, setApplied] = useState<AuditFilter | null>(null);
  const [results, setResults] = useState<SearchResult | null>(null);
  const [searching, setSearching] = useState(false);
  const [loadingMore, setLoadingMore] = useState(false);
  const [searchError, setSearchError] = useState<ErrorInfo | null>(null);
  const [selected, setSelected] = useState<AuditEventSummary | null>(null);
  const [exported, setExported] = useState<{ result: AuditExportResult; filter: AuditFilter } | null>(null);
  const [exporting, setExporting] = useState(false);
  const [exportError, setExportError] = useState<ErrorInfo | null>(null);
  const verification = useAuditVerify({ onMount: true });
  const request = useRef(0);
  const rowButtons = useRef(new Map<number, HTMLButtonElement>());
  const ids = { user: useId(), from: useId(), to: useId(), action: useId(), outcome: useId(), dates: useId() };

  const sessionGone = useCallback(
    (error: ErrorInfo) => {
      if (error.code === 'locked' || error.code === 'not_signed_in') onSessionError?.();
    },
    [onSessionError],
  );

  const search = useCallback(
    async (filter: AuditFilter) => {
      const mine = ++request.current;
      setSearching(true);
      setLoadingMore(false);
      setSearchError(null);
      const result = await call('audit.search', { ...filter, limit: PAGE_SIZE });
      if (mine !== request.current) return;
      setSearching(false);
      if (result.ok) {
        setApplied(filter);
        setResults(result.output);
        setSelected(null);
      } else {
        setSearchError(result.error);
        sessionGone(result.error);
      }
    },
    [sessionGone],
  );

  useEffect(() => {
    void search({});
  }, [search]);

  async function loadOlder() {
    if (!applied || !results || results.nextBeforeSequence === null) return;
    const mine = ++request.current;
    setLoadingMore(true);
    setSearchError(null);
    const result = await call('audit.search', { ...applied, limit: PAGE_SIZE, beforeSequence: results.nextBeforeSequence });
    if (mine !== request.current) return;
    setLoadingMore(false);
    if (result.ok) setResults({ ...result.output, events: [...results.events, ...result.output.events] });
    else {
      setSearchError(result.error);
      sessionGone(result.error);
    }
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    const parsed = toFilter(form);
    if ('error' in parsed) {
      setFormError({ code: 'invalid_input', message: parsed.error });
      return;
    }
    setFormError(null);
    void search(parsed.filter);
  }

  function clear() {
    setForm(EMPTY_FORM);
    setFormError(null);
    void search({});
  }

  function lastDays(days: number) {
    const today = new Date();
    const start = new Date(today.getFullYear(), today.getMonth(), today.getDate() - days);
    setForm((f) => ({ ...f, from: dateInputValue(start), to: dateInputValue(today) }));
  }

  async function runExport() {
    const filter = applied ?? {};
    setExporting(true);
    setExportError(null);
    const result = await call('audit.export', filter);
    setExporting(false);
    if (result.ok) {
      setExported({ result: result.output, filter });
      // Exporting sealed what was waiting: show the rows with their batches.
      void search(filter);
    } else {
      setExportError(result.error);
      sessionGone(result.error);
    }
  }

  const closeDetail = useCallback(() => {
    const sequence = selected?.sequence;
    setSelected(null);
    // Back to the row the details came from, for keyboard users.
    if (sequence !== undefined) window.setTimeout(() => rowButtons.current.get(sequence)?.focus(), 0);
  }, [selected]);

  useEffect(() => {
    if (!selected) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') closeDetail();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [selected, closeDetail]);

  const set = <K extends keyof FormState>(key: K) => (value: FormState[K]) => setForm((f) => ({ ...f, [key]: value }));
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
          <button type="button" className="btn btn-primary" onClick={() => void runExport()} disabled={exporting || !results || results.total === 0}>
            {exporting ? 'Exporting…' : results ? `Export ${plural(results.total, 'event')}` : 'Export'}
          </button>
          {onClose ? (
            <button type="button" className="btn btn-ghost" onClick={onClose}>
              Back to chat
            </button>
          ) : null}
        </div>
      </div>

      <form className="audit-filters" role="search" aria-label="Filter audit events" onSubmit={onSubmit} noValidate>
        <div className="field audit-field-user">
          <label htmlFor={ids.user} className="field-label">
            User
          </label>
          <input
            id={ids.user}
            type="text"
            value={form.user}
            onChange={(e) => set('user')(e.target.value)}
            placeholder="name@hospital.org"
            autoComplete="off"
            spellCheck={false}
            maxLength={256}
          />
        </div>
        <fieldset className="audit-dates" aria-describedby={ids.dates}>
          <legend className="visually-hidden">Dates</legend>
          <div className="field">
            <label htmlFor={ids.from} className="field-label">
              From
            </label>
            <input id={ids.from} type="date" value={form.from} max={form.to || undefined} onChange={(e) => set('from')(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor={ids.to} className="field-label">
              To
            </label>
            <input id={ids.to} type="date" value={form.to} min={form.from || undefined} onChange={(e) => set('to')(e.target.value)} />
          </div>
        </fieldset>
        <div className="field">
          <label htmlFor={ids.action} className="field-label">
            Action
          </label>
          <select id={ids.action} value={form.action} onChange={(e) => set('action')(e.target.value)}>
            <option value="">Any action</option>
            {AUDIT_ACTION_GROUPS.map((group) => (
              <optgroup key={group.label} label={group.label}>
                {group.actions.map((action) => (
                  <option key={action} value={action}>
                    {auditActionLabel(action)} ({action})
                  </option>
                ))}
              </optgroup>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.outcome} className="field-label">
            Outcome
          </label>
          <select id={ids.outcome} value={form.outcome} onChange={(e) => set('outcome')(e.target.value as FormState['outcome'])}>
            <option value="">Any outcome</option>
            <option value="success">Success</option>
            <option value="failure">Failure</option>
            <option value="unknown">Unknown</option>
          </select>
        </div>
        <div className="audit-filter-actions">
          <button type="submit" className="btn btn-primary" disabled={searching}>
            Search
          </button>
          <button type="button" className="btn btn-secondary" onClick={clear} disabled={searching}>
            Clear
          </button>
        </div>
        <p id={ids.dates} className="field-hint audit-filter-hint">
          Dates are days in this workstation’s time zone ({utcOffsetLabel()}), both included.{' '}
          <span className="audit-presets">
            Quick range:{' '}
            {[7, 30, 90].map((days) => (
              <button key={days} type="button" className="btn-link" onClick={() => lastDays(days)}>
                last {days} days
              </button>
            ))}
          </span>
        </p>
      </form>

      <div className="audit-messages">
        <ErrorAlert error={formError} />
        <ErrorAlert error={searchError} title="The search did not run." />
        <ErrorAlert error={verification.error} title="The chain could not be verified." />
        <ErrorAlert error={exportError} title="The export did not complete." />
        {v ? <AuditVerifyResult report={v.report} at={v.at} compact /> : null}
        {exported ? <ExportResult result={exported.result} filter={exported.filter} onDismiss={() => setExported(null)} /> : null}
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
          {results && events.length === 0 && !searching ? <p className="audit-empty muted">No events match these filters.</p> : null}
          {events.length > 0 ? (
            <table className="audit-table" aria-label="Audit events">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col" className="audit-col-seq">
                    #
                  </th>
                  <th scope="col">Action</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">User</th>
                  <th scope="col" className="audit-col-session">
                    Session
                  </th>
                  <th scope="col">Batch</th>
                </tr>
              </thead>
              <tbody>
                {events.map((event) => {
                  const isSelected = selected?.sequence === event.sequence;
                  return (
                    <tr key={event.sequence} className={isSelected ? 'is-selected' : undefined} aria-current={isSelected ? 'true' : undefined} onClick={() => setSelected(event)}>
                      <td className="audit-col-time">
                        <button
                          type="button"
                          className="audit-row-open"
                          title={`${event.timestamp} — show the full record`}
                          ref={(el) => {
                            if (el) rowButtons.current.set(event.sequence, el);
                            else rowButtons.current.delete(event.sequence);
                          }}
                          onClick={(e) => {
                            e.stopPropagation();
                            setSelected(event);
                          }}
                        >
                          {eventTime(event.timestamp)}
                        </button>
                      </td>
                      <td className="audit-col-seq mono">{event.sequence}</td>
                      <td>
                        <span className="audit-action">{auditActionLabel(event.action)}</span> <span className="mono muted audit-action-code">{event.action}</span>
                      </td>
                      <td>
                        <OutcomeCell event={event} />
                      </td>
                      <td className="audit-col-user">{event.user ?? <span className="muted">Workstation</span>}</td>
                      <td className="mono audit-col-session" title={event.sessionId ?? undefined}>
                        {event.sessionId ? event.sessionId.slice(0, 8) : <span className="muted">—</span>}
                      </td>
                      <td className="audit-col-batch">
                        <BatchCell batchSeq={event.batchSeq} />
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          ) : null}
          {results && results.nextBeforeSequence !== null ? (
            <div className="audit-more">
              <button type="button" className="btn btn-secondary" onClick={() => void loadOlder()} disabled={loadingMore}>
                {loadingMore ? 'Loading…' : `Show ${Math.min(PAGE_SIZE, results.total - events.length).toLocaleString()} older events`}
              </button>
            </div>
          ) : null}
        </div>
        {selected ? <EventDetail event={selected} onClose={closeDetail} /> : null}
      </div>
    </div>
  );
}
