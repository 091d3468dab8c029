// The events found, newest first, a page at a time.
import type { RefObject } from 'react';
import type { AuditEventSummary, CallOutput } from '../../../../shared/api.js';
import { auditActionText } from './action-text.js';
import { formatNumber } from '../../format.js';
import { useStrings } from '../../i18n/index.js';
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
  const { t } = useStrings('audit');
  return (
    <>
      {results && events.length === 0 && !searching ? <p className="audit-empty muted">{t('table.empty')}</p> : null}
      {events.length > 0 ? (
        <table className="audit-table" aria-label={t('table.label')}>
          <thead>
            <tr>
              <th scope="col">{t('table.time')}</th>
              <th scope="col" className="audit-col-seq">
                {t('table.sequence')}
              </th>
              <th scope="col">{t('table.action')}</th>
              <th scope="col">{t('table.outcome')}</th>
              <th scope="col">{t('table.user')}</th>
              <th scope="col" className="audit-col-session">
                {t('table.session')}
              </th>
              <th scope="col">{t('table.batch')}</th>
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
                      title={t('table.openTitle', { timestamp: event.timestamp })}
                      ref={(el) => {
                        if (el) rowButtons.current.set(event.sequence, el);
                        else rowButtons.current.delete(event.sequence);
                      }}
                      onClick={(e) => {
                        e.stopPropagation();
                        setSelected(event);
                      }}
                    >
                      <time dateTime={event.timestamp}>{eventTime(event.timestamp)}</time>
                    </button>
                  </td>
                  <td className="audit-col-seq mono">{event.sequence}</td>
                  <td>
                    <span className="audit-action">{auditActionText(event.action)}</span>{' '}
                    <span className="mono muted audit-action-code" translate="no">
                      {event.action}
                    </span>
                  </td>
                  <td>
                    <OutcomeCell event={event} />
                  </td>
                  <td className="audit-col-user">{event.user ? <span translate="no">{event.user}</span> : <span className="muted">{t('table.workstation')}</span>}</td>
                  <td className="mono audit-col-session" title={event.sessionId ?? undefined} translate="no">
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
            {loadingMore ? t('table.loading') : t('table.older', { count: Math.min(PAGE_SIZE, results.total - events.length), n: formatNumber(Math.min(PAGE_SIZE, results.total - events.length)) })}
          </button>
        </div>
      ) : null}
    </>
  );
}
