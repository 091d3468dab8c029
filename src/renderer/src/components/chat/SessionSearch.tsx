// Search over the person's own sessions (chat.search: the core searches their
// decrypted sessions in memory). Results show a snippet with the match marked;
// choosing one opens the session and brings the message into view.
import { useEffect, useId, type RefObject } from 'react';
import type { ChatSearchHit } from '../../../../shared/api.js';
import { shortTime } from '../../format.js';
import { useStrings } from '../../i18n/index.js';
import { ErrorAlert, Spinner } from '../common.js';
import { plainTitle } from './title.js';
import { useChat, useChatStore } from './use-chat.js';

/** Typing pauses this long before the search runs. */
const SEARCH_DELAY_MS = 250;

export function SessionSearchBox({ inputRef }: { inputRef: RefObject<HTMLInputElement | null> }) {
  const { t } = useStrings('chat');
  const store = useChatStore();
  const query = useChat((s) => s.search.query);
  const id = useId();

  useEffect(() => {
    const timer = setTimeout(() => void store.runSearch(), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [query, store]);

  return (
    <form
      role="search"
      aria-label={t('searchSessions')}
      className="session-search"
      onSubmit={(e) => {
        e.preventDefault();
        void store.runSearch();
      }}
    >
      <label htmlFor={id} className="visually-hidden">
        {t('searchSessions')}
      </label>
      <input
        id={id}
        ref={inputRef}
        type="search"
        value={query}
        placeholder={t('searchPlaceholder')}
        onChange={(e) => store.setSearchQuery(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape' && query !== '') {
            e.preventDefault();
            e.stopPropagation();
            store.clearSearch();
          }
        }}
      />
    </form>
  );
}

export function SearchResults() {
  const { t } = useStrings('chat');
  const store = useChatStore();
  const search = useChat((s) => s.search);
  if (search.query.trim() === '') return null;
  const hits = search.hits;
  return (
    <section className="search-results" aria-label={t('searchResults')}>
      <p className="sidebar-empty" role="status">
        {search.busy ? (
          <>
            <Spinner /> {t('searching')}
          </>
        ) : search.query.trim().length < 2 ? (
          t('searchTooShort')
        ) : hits ? (
          hits.length === 0 ? (
            t('searchNone')
          ) : (
            t('searchCount', { count: hits.length }) + (search.truncated ? t('searchTruncated') : '')
          )
        ) : null}
      </p>
      <ErrorAlert error={search.error} />
      {hits && hits.length > 0 ? (
        <ul className="session-list">
          {hits.map((hit) => (
            <li key={`${hit.sessionId}:${hit.messageId ?? 'title'}`}>
              <button type="button" className="session-item search-hit" onClick={() => store.select(hit.sessionId, hit.messageId)}>
                <span className="session-item-title">{plainTitle(hit.sessionTitle) || t('untitled')}</span>
                <span className="search-snippet">
                  <Snippet hit={hit} />
                </span>
                <span className="session-item-meta">
                  <span className="tag">{hit.role === 'user' ? t('hitPrompt') : hit.role === 'assistant' ? t('hitAnswer') : t('hitTitle')}</span>
                  <time dateTime={new Date(hit.createdAt).toISOString()}>{shortTime(hit.createdAt)}</time>
                </span>
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

function Snippet({ hit }: { hit: ChatSearchHit }) {
  const { snippet, matchStart, matchLength } = hit;
  const start = Math.min(matchStart, snippet.length);
  const end = Math.min(start + matchLength, snippet.length);
  return (
    <>
      {snippet.slice(0, start)}
      <mark>{snippet.slice(start, end)}</mark>
      {snippet.slice(end)}
    </>
  );
}
