// The events found, newest first, a page at a time.
import type { RefObject } from 'react';
import type { AuditEventSummary, CallOutput } from '../../../../shared/api.js';
import { auditActionLabel } from '../../../../shared/audit-actions.js';
import { eventTime } from '../audit-format.js';
import { BatchCell, OutcomeCell } from './cells.js';
import { PAGE_SIZE } from './useAuditSearch.js';

interface EventTableProps {
  results: CallOutput<'audit.search'> | null;
  searching: boolean;
  loadingMore: boolean;
  selected: AuditEventSummary | null;
  onSelect(event: AuditEventSummary): void;
  onLoadOlder(): void;
  /** Each row's open button by sequence, so focus can go back to it when its details close. */
  rowButtons: RefObject<Map<number, HTMLButtonElement>>;
}

export function EventTable({ results, searching, loadingMore, selected, onSelect: setSelected, onLoadOlder: loadOlder, rowButtons }: EventTableProps) {
  const events = results?.events ?? [];
  return (
    <>
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
          <button type="button" className="btn btn-secondary" onClick={() => loadOlder()} disabled={loadingMore}>
            {loadingMore ? 'Loading…' : `Show ${Math.min(PAGE_SIZE, results.total - events.length).toLocaleString()} older events`}
          </button>
        </div>
      ) : null}
    </>
  );
}
