// Queries of chat_sessions and chat_messages (migrations 1, 7 and 8). Titles
// and message text are stored sealed with the session's content key (key_id;
// NULL: plain, from before per-person keys); sealing and opening is the
// callers' business (inference/chat, identity/content-keys), as is when a
// session expires (inference/retention): this module only reads and writes.
import type { ChatMessage } from '../../shared/api.js';
import type { ReadableDb, WritableDb } from './handles.js';

/** A chat_sessions row as stored. */
export interface SessionRow {
  id: string;
  user_id: string;
  /** Sealed with key_id's key (or plain where key_id is NULL: from before per-person keys, sealed at its owner's next sign-in). */
  title: string;
  key_id: string | null;
  workload_id: string;
  created_at: number;
  updated_at: number;
  ended_at: number | null;
}

/** A chat_messages row as read for a session's history. */
export interface MessageRow {
  id: string;
  role: 'user' | 'assistant';
  content: string;
  status: ChatMessage['status'];
  reply_to: string | null;
  created_at: number;
}

/** The row's content must already be opened. */
export function toMessage(row: MessageRow): ChatMessage {
  return { id: row.id, role: row.role, content: row.content, status: row.status, createdAt: row.created_at, replyTo: row.reply_to };
}

// --- Sessions ----------------------------------------------------------------------------------

/** The person's sessions, most recently active first. */
export function sessionsOfUser(db: ReadableDb, userId: string): SessionRow[] {
  return db.prepare('SELECT * FROM chat_sessions WHERE user_id = ? ORDER BY updated_at DESC, id DESC').all(userId) as SessionRow[];
}

/** The session, if it is this person's. */
export function getOwnSession(db: ReadableDb, sessionId: string, userId: string): SessionRow | undefined {
  return db.prepare('SELECT * FROM chat_sessions WHERE id = ? AND user_id = ?').get(sessionId, userId) as SessionRow | undefined;
}

/** The session's key id: undefined when there is no such session, null for a plain one. */
export function sessionKeyId(db: ReadableDb, sessionId: string): string | null | undefined {
  const row = db.prepare('SELECT key_id FROM chat_sessions WHERE id = ?').get(sessionId) as { key_id: string | null } | undefined;
  return row ? row.key_id : undefined;
}

export function insertSession(db: WritableDb, row: SessionRow): void {
  db.prepare('INSERT INTO chat_sessions (id, user_id, title, key_id, workload_id, created_at, updated_at, ended_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)').run(
    row.id,
    row.user_id,
    row.title,
    row.key_id,
    row.workload_id,
    row.created_at,
    row.updated_at,
  );
}

export function endSession(db: WritableDb, sessionId: string, time: number): void {
  db.prepare('UPDATE chat_sessions SET ended_at = ?, updated_at = ? WHERE id = ?').run(time, time, sessionId);
}

export function touchSession(db: WritableDb, sessionId: string, time: number): void {
  db.prepare('UPDATE chat_sessions SET updated_at = ? WHERE id = ?').run(time, sessionId);
}

/** A prompt was stored: the session's activity time, its (sealed) title, and the key it is sealed with now. */
export function updateSessionAfterPrompt(db: WritableDb, sessionId: string, update: { time: number; sealedTitle: string; keyId: string }): void {
  db.prepare('UPDATE chat_sessions SET updated_at = ?, title = ?, key_id = ? WHERE id = ?').run(update.time, update.sealedTitle, update.keyId, sessionId);
}

// --- Messages ----------------------------------------------------------------------------------

/** The session's messages in the order they were written (content as stored). */
export function messagesOfSession(db: ReadableDb, sessionId: string): MessageRow[] {
  return db.prepare('SELECT id, role, content, status, reply_to, created_at FROM chat_messages WHERE session_id = ? ORDER BY created_at, id').all(sessionId) as MessageRow[];
}

export interface NewMessage {
  id: string;
  sessionId: string;
  role: 'user' | 'assistant';
  /** Sealed with the session's key. */
  content: string;
  status: ChatMessage['status'];
  replyTo: string | null;
  modelId: string;
  createdAt: number;
}

export function insertMessage(db: WritableDb, message: NewMessage): void {
  db.prepare('INSERT INTO chat_messages (id, session_id, role, content, status, reply_to, model_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
    message.id,
    message.sessionId,
    message.role,
    message.content,
    message.status,
    message.replyTo,
    message.modelId,
    message.createdAt,
  );
}

/** One session's message count (for the audit of a user's own deletion). */
export function countSessionMessages(db: ReadableDb, sessionId: string): number {
  return (db.prepare('SELECT count(*) AS n FROM chat_messages WHERE session_id = ?').get(sessionId) as { n: number }).n;
}

/** Deletes the sessions and all their messages. Run it inside the audited transaction. */
export function deleteSessions(db: WritableDb, sessionIds: readonly string[]): { sessions: number; messages: number } {
  const ids = JSON.stringify(sessionIds);
  const messages = db.prepare('DELETE FROM chat_messages WHERE session_id IN (SELECT value FROM json_each(?))').run(ids).changes;
  const sessions = db.prepare('DELETE FROM chat_sessions WHERE id IN (SELECT value FROM json_each(?))').run(ids).changes;
  return { sessions, messages };
}

/** A session renamed by its owner: its (sealed) title; its activity time is left as it was. */
export function setSessionTitle(db: WritableDb, sessionId: string, sealedTitle: string): void {
  db.prepare('UPDATE chat_sessions SET title = ? WHERE id = ?').run(sealedTitle, sessionId);
}

/** One message of a session, content as stored (null when the session has no such message). */
export function messageOfSession(db: ReadableDb, sessionId: string, messageId: string): (MessageRow & { model_id: string | null }) | undefined {
  return db.prepare('SELECT id, role, content, status, reply_to, created_at, model_id FROM chat_messages WHERE session_id = ? AND id = ?').get(sessionId, messageId) as
    (MessageRow & { model_id: string | null }) | undefined;
}

/** Deletes these messages of the session (a regenerated answer, an edited prompt and its answer). Run it inside the audited transaction. */
export function deleteMessages(db: WritableDb, sessionId: string, messageIds: readonly string[]): number {
  return db.prepare('DELETE FROM chat_messages WHERE session_id = ? AND id IN (SELECT value FROM json_each(?))').run(sessionId, JSON.stringify(messageIds)).changes;
}

/** Where each of the person's messages lies, without its content (chat search reads the content only of messages it has not opened yet). */
export interface MessagePlaceRow {
  id: string;
  session_id: string;
  role: 'user' | 'assistant';
  created_at: number;
}

export function messagePlacesOfUser(db: ReadableDb, userId: string): MessagePlaceRow[] {
  return db
    .prepare('SELECT m.id, m.session_id, m.role, m.created_at FROM chat_sessions s JOIN chat_messages m ON m.session_id = s.id WHERE s.user_id = ? ORDER BY m.created_at DESC, m.id DESC')
    .all(userId) as MessagePlaceRow[];
}

/** The stored (sealed) content of these messages. */
export function messageContents(db: ReadableDb, messageIds: readonly string[]): { id: string; content: string }[] {
  return db.prepare('SELECT id, content FROM chat_messages WHERE id IN (SELECT value FROM json_each(?))').all(JSON.stringify(messageIds)) as { id: string; content: string }[];
}

// --- Sessions from before per-person keys (key_id NULL, plain text) ----------------------------

export function plainSessionsOfUser(db: ReadableDb, userId: string): { id: string; title: string }[] {
  return db.prepare('SELECT id, title FROM chat_sessions WHERE user_id = ? AND key_id IS NULL').all(userId) as { id: string; title: string }[];
}

export function messageTextsOfSession(db: ReadableDb, sessionId: string): { id: string; role: 'user' | 'assistant'; content: string }[] {
  return db.prepare('SELECT id, role, content FROM chat_messages WHERE session_id = ?').all(sessionId) as { id: string; role: 'user' | 'assistant'; content: string }[];
}

export function setMessageContent(db: WritableDb, messageId: string, content: string): void {
  db.prepare('UPDATE chat_messages SET content = ? WHERE id = ?').run(content, messageId);
}

/** A plain session sealed: its title (sealed) and the key it is sealed with. */
export function sealSession(db: WritableDb, sessionId: string, sealedTitle: string, keyId: string): void {
  db.prepare('UPDATE chat_sessions SET title = ?, key_id = ? WHERE id = ?').run(sealedTitle, keyId, sessionId);
}

// --- Retention ---------------------------------------------------------------------------------

/** Which sessions have expired (inference/retention.ts sets the rule). */
export interface ExpiryRule {
  /** Sessions whose last activity is at or before this are expired (when not zeroDays). */
  cutoff: number;
  /** 0 days: ended sessions, and open ones of people not signed in, are expired. */
  zeroDays: boolean;
  /** Never expired: an answer is waiting or under way. */
  busySessionIds: readonly string[];
  /** Signed in (active or locked): with 0 days, their open sessions are kept. */
  presentUserIds: readonly string[];
}

/**
 * The rule as SQL over chat_sessions. Parameters: @cutoff, @zero (1 when
 * days is 0), @busy and @present (JSON arrays of ids).
 */
const EXPIRED = `
  id NOT IN (SELECT value FROM json_each(@busy))
  AND CASE WHEN @zero = 1
    THEN ended_at IS NOT NULL OR user_id NOT IN (SELECT value FROM json_each(@present))
    ELSE MAX(updated_at, COALESCE(ended_at, updated_at)) <= @cutoff
  END`;

function expiryParameters(rule: ExpiryRule): { cutoff: number; zero: number; busy: string; present: string } {
  return { cutoff: rule.cutoff, zero: rule.zeroDays ? 1 : 0, busy: JSON.stringify(rule.busySessionIds), present: JSON.stringify(rule.presentUserIds) };
}

/** Up to `limit` expired sessions, oldest activity first. */
export function expiredSessionIds(db: ReadableDb, rule: ExpiryRule, limit: number): string[] {
  const rows = db.prepare(`SELECT id FROM chat_sessions WHERE ${EXPIRED} ORDER BY MAX(updated_at, COALESCE(ended_at, updated_at)), id LIMIT @limit`).all({ ...expiryParameters(rule), limit }) as {
    id: string;
  }[];
  return rows.map((row) => row.id);
}

/** How many sessions (and their messages) the rule would purge now. */
export function countExpiredSessions(db: ReadableDb, rule: ExpiryRule): { sessions: number; messages: number } {
  return db
    .prepare(`SELECT count(*) AS sessions, (SELECT count(*) FROM chat_messages WHERE session_id IN (SELECT id FROM chat_sessions WHERE ${EXPIRED})) AS messages FROM chat_sessions WHERE ${EXPIRED}`)
    .get(expiryParameters(rule)) as { sessions: number; messages: number };
}
