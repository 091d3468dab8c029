// The sessions sidebar: new session, the workload it will use, search, and
// the list (or the search results while a search is typed).
import { memo, type RefObject } from 'react';
import type { ChatSessionSummary, GenerationQueue, ModelSummary, Workload } from '../../../../shared/api.js';
import { shortTime } from '../../format.js';
import { useStrings } from '../../i18n/index.js';
import { ErrorAlert, Spinner } from '../common.js';
import { answersAhead } from '../inference-format.js';
import type { Generation } from './chat-state.js';
import { SearchResults, SessionSearchBox } from './SessionSearch.js';
import { plainTitle } from './title.js';
import { useChat, useChatStore } from './use-chat.js';
import { WorkloadPicker } from './WorkloadPicker.js';

interface SessionListProps {
  queue: GenerationQueue | null;
  workloads: Workload[];
  models: readonly ModelSummary[];
  workload: Workload | null;
  onChooseWorkload(id: string): void;
  searchRef: RefObject<HTMLInputElement | null>;
}

export function SessionList({ queue, workloads, models, workload, onChooseWorkload, searchRef }: SessionListProps) {
  const { t } = useStrings('chat');
  const store = useChatStore();
  const sessions = useChat((s) => s.sessions);
  const listError = useChat((s) => s.listError);
  const selectedId = useChat((s) => s.selectedId);
  const generations = useChat((s) => s.generations);
  const creating = useChat((s) => s.creating);
  const searching = useChat((s) => s.search.query.trim() !== '');
  return (
    <nav className="sidebar" aria-label={t('sessions')}>
      <div className="sidebar-header">
        <h2 className="sidebar-title">{t('sessions')}</h2>
        <button type="button" className="btn btn-primary btn-small" onClick={() => void store.newSession()} disabled={creating}>
          {t('newSession')}
        </button>
      </div>
      <WorkloadPicker workloads={workloads} models={models} value={workload} onChange={onChooseWorkload} disabled={creating} />
      <SessionSearchBox inputRef={searchRef} />
      <ErrorAlert error={listError} />
      {searching ? (
        <SearchResults />
      ) : (
        <>
          {sessions === null && !listError ? (
            <p className="sidebar-empty">
              <Spinner /> {t('loadingSessions')}
            </p>
          ) : null}
          {sessions && sessions.length === 0 ? <p className="sidebar-empty">{t('noSessions')}</p> : null}
          {sessions && sessions.length > 0 ? (
            <ul className="session-list">
              {sessions.map((s) => (
                <SessionItem key={s.id} session={s} selected={s.id === selectedId} generation={generations.get(s.id)} queue={queue} />
              ))}
            </ul>
          ) : null}
        </>
      )}
    </nav>
  );
}

const SessionItem = memo(function SessionItem({
  session: s,
  selected,
  generation,
  queue,
}: {
  session: ChatSessionSummary;
  selected: boolean;
  generation: Generation | undefined;
  queue: GenerationQueue | null;
}) {
  const { t } = useStrings('chat');
  const store = useChatStore();
  return (
    <li>
      <button type="button" className={`session-item ${selected ? 'is-selected' : ''} ${s.locked ? 'is-locked' : ''}`} aria-current={selected ? 'true' : undefined} onClick={() => store.select(s.id)}>
        {/* Sealed under a key this sign-in does not hold: no title to show, and opening it says why. */}
        <span className="session-item-title">{s.locked ? t('lockedChat') : plainTitle(s.title) || t('untitled')}</span>
        <span className="session-item-meta">
          {s.locked ? <span className="tag">{t('locked')}</span> : null}
          {generation ? answersAhead(queue, generation.responseId) !== null ? <span className="tag">{t('waiting')}</span> : <span className="tag tag-info">{t('answering')}</span> : null}
          {s.endedAt !== null ? <span className="tag">{t('ended')}</span> : null}
          <time dateTime={new Date(s.updatedAt).toISOString()}>{shortTime(s.updatedAt)}</time>
        </span>
      </button>
    </li>
  );
});
