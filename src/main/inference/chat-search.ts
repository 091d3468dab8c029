// chat.search: the signed-in person's own sessions, titles and messages,
// opened with their key and searched in memory. There is no index, plaintext
// or otherwise: nothing searchable is ever written under the workstation key.
// What was opened is kept in memory for the next search (typing a query runs
// several), for this person's signed-in session only: it is dropped at lock,
// sign-out and whenever the session's epoch changes (a new sign-in, an unlock).
// JS strings cannot be zeroed; dropping them is what the process can do, as
// for the open session's messages the renderer holds.
import type { ChatSearchHit, User } from '../../shared/api.js';
import { chatSessions, type Store } from '../store/index.js';
import { SessionChangedError, type ChatKeys, type SessionGate } from './chat-ports.js';

export interface ChatSearchOptions {
  store: Store;
  keys: ChatKeys;
  session: SessionGate;
}

export interface ChatSearchResult {
  hits: ChatSearchHit[];
  /** Sessions whose key this sign-in holds; those sealed under another (locked) are not searched. */
  sessionsSearched: number;
  truncated: boolean;
}

/** About this many characters of context around a match. */
export const SNIPPET_CHARS = 160;
/** Work in slices this long, then let other work (an answer streaming) run; the session is asked again after each. */
const SLICE_MS = 12;
/** The most opened text kept for the next search (UTF-16 code units, ~2 bytes each): a year of heavy use fits well within it. */
const CACHE_MAX_CHARS = 40_000_000;

interface OpenedText {
  userId: string;
  epoch: number;
  /** Session id → the title as stored (sealed) and as opened: a rename changes the stored one. */
  titles: Map<string, { stored: string; plain: string }>;
  /** Message id → opened content. A message's text never changes once written (an edit writes a new message). */
  messages: Map<string, string>;
  chars: number;
}

export class ChatSearch {
  readonly #o: ChatSearchOptions;
  #opened: OpenedText | null = null;

  constructor(options: ChatSearchOptions) {
    this.#o = options;
  }

  /** Lock, sign-out, or the person's keys changed: what was opened is forgotten. */
  drop(): void {
    this.#opened = null;
  }

  async search(user: User, input: { query: string; limit: number }): Promise<ChatSearchResult> {
    const epoch = this.#o.session.epoch;
    this.#assertCurrent(epoch);
    const opened = this.#openedFor(user.id, epoch);
    const pattern = queryPattern(input.query);
    const sessions = chatSessions.sessionsOfUser(this.#o.store.reader, user.id).filter((row) => this.#o.keys.canOpen(user.id, row.key_id));
    const searchable = new Map(sessions.map((row) => [row.id, row]));
    const hits: ChatSearchHit[] = [];
    const titles = new Map<string, string>();
    for (const row of sessions) {
      const title = this.#title(opened, user, row);
      titles.set(row.id, title);
      const hit = findIn(title, pattern);
      if (hit) hits.push({ sessionId: row.id, sessionTitle: title, messageId: null, role: null, ...hit, createdAt: row.updated_at });
    }

    const places = chatSessions.messagePlacesOfUser(this.#o.store.reader, user.id).filter((place) => searchable.has(place.session_id));
    // Opened in this search but over the cache's room: searched now, opened again next time.
    const uncached = new Map<string, string>();
    let sliceStart = performance.now();
    for (let i = 0; i < places.length; i++) {
      if (performance.now() - sliceStart > SLICE_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        this.#assertCurrent(epoch);
        sliceStart = performance.now();
      }
      const place = places[i]!;
      let text = opened.messages.get(place.id) ?? uncached.get(place.id);
      if (text === undefined) {
        this.#openBatch(opened, uncached, user, searchable, places.slice(i, i + 200));
        text = opened.messages.get(place.id) ?? uncached.get(place.id) ?? '';
      }
      const hit = findIn(text, pattern);
      if (hit) hits.push({ sessionId: place.session_id, sessionTitle: titles.get(place.session_id) ?? '', messageId: place.id, role: place.role, ...hit, createdAt: place.created_at });
    }

    // Sessions deleted (or purged) while the search let other work run are left out.
    const stillThere = new Set(chatSessions.sessionsOfUser(this.#o.store.reader, user.id).map((row) => row.id));
    const found = hits.filter((hit) => stillThere.has(hit.sessionId)).sort((a, b) => b.createdAt - a.createdAt);
    return { hits: found.slice(0, input.limit), sessionsSearched: sessions.filter((row) => stillThere.has(row.id)).length, truncated: found.length > input.limit };
  }

  #assertCurrent(epoch: number): void {
    const stale = this.#o.session.staleness(epoch);
    if (stale) {
      this.drop();
      throw new SessionChangedError(stale);
    }
  }

  #openedFor(userId: string, epoch: number): OpenedText {
    if (this.#opened?.userId !== userId || this.#opened.epoch !== epoch) this.#opened = { userId, epoch, titles: new Map(), messages: new Map(), chars: 0 };
    return this.#opened;
  }

  #title(opened: OpenedText, user: User, row: chatSessions.SessionRow): string {
    const known = opened.titles.get(row.id);
    if (known?.stored === row.title) return known.plain;
    const plain = this.#o.keys.openTitle(user.id, row.key_id, row.id, row.title);
    opened.titles.set(row.id, { stored: row.title, plain });
    return plain;
  }

  /** Opens the messages among `places` not opened yet (one query for the lot): into the cache while it has room, else into `uncached`. */
  #openBatch(opened: OpenedText, uncached: Map<string, string>, user: User, sessions: Map<string, chatSessions.SessionRow>, places: chatSessions.MessagePlaceRow[]): void {
    const wanted = places.filter((place) => !opened.messages.has(place.id) && !uncached.has(place.id));
    const byId = new Map(wanted.map((place) => [place.id, place]));
    for (const row of chatSessions.messageContents(this.#o.store.reader, [...byId.keys()])) {
      const place = byId.get(row.id)!;
      const session = sessions.get(place.session_id)!;
      const text = this.#o.keys.openMessage(user.id, session.key_id, { id: row.id, sessionId: session.id, role: place.role }, row.content);
      if (opened.chars + text.length > CACHE_MAX_CHARS) {
        uncached.set(row.id, text);
      } else {
        opened.chars += text.length;
        opened.messages.set(row.id, text);
      }
    }
  }
}

/** The query as a case-insensitive pattern: its characters literally, any run of whitespace matching any run. */
export function queryPattern(query: string): RegExp {
  const words = query
    .trim()
    .split(/\s+/u)
    .map((word) => word.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'));
  return new RegExp(words.join('\\s+'), 'iu');
}

/** The first match in `text`, as a snippet of about SNIPPET_CHARS around it with whitespace collapsed, and where the match lies in the snippet. */
export function findIn(text: string, pattern: RegExp): Pick<ChatSearchHit, 'snippet' | 'matchStart' | 'matchLength'> | null {
  const match = pattern.exec(text);
  if (!match) return null;
  const start = match.index;
  const end = start + match[0].length;
  const around = Math.max(0, Math.floor((SNIPPET_CHARS - match[0].length) / 2));
  let from = Math.max(0, start - around);
  let to = Math.min(text.length, end + around);
  // Never split a surrogate pair at either edge.
  if (from > 0 && isLowSurrogate(text.charCodeAt(from))) from -= 1;
  if (to < text.length && isLowSurrogate(text.charCodeAt(to))) to += 1;
  // Start and end on a word boundary where one is near.
  if (from > 0) {
    const space = text.slice(from, start).search(/\s/u);
    if (space >= 0 && space < 20) from += space + 1;
  }
  if (to < text.length) {
    const tail = text.slice(end, to);
    const space = tail.search(/\s\S*$/u);
    if (space >= 0 && tail.length - space < 20) to = end + space;
  }
  const before = (from > 0 ? '…' : '') + collapse(text.slice(from, start)).trimStart();
  const matched = collapse(match[0]);
  const after = collapse(text.slice(end, to)).trimEnd() + (to < text.length ? '…' : '');
  return { snippet: before + matched + after, matchStart: before.length, matchLength: matched.length };
}

function collapse(text: string): string {
  return text.replace(/\s+/gu, ' ');
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
