// The pieces of the chat service that need no state: which turn a regenerate
// or edit replaces, what it removes, the title after a prompt, the answer's
// limits and sampling, and a session as the UI sees it.
import type { ChatSessionSummary } from '../../shared/api.js';
import { EnclaveError } from '../../shared/errors.js';
import type { Policy, WorkloadEntry } from '../policy/index.js';
import type { chatSessions } from '../store/index.js';
import { NEW_SESSION_TITLE, titleFrom } from './chat-titles.js';
import type { ChatTurn } from './engine-types.js';

type SessionRow = chatSessions.SessionRow;
type MessageRow = chatSessions.MessageRow;

/** A new prompt (send), the last one answered again (regenerate), or the last one replaced (edit). */
export type SubmitRequest = { kind: 'send'; text: string } | { kind: 'regenerate' } | { kind: 'edit'; promptId: string; text: string };

/** A session's last prompt and the messages after it (opened). */
export interface LastTurn {
  prompt: MessageRow;
  after: MessageRow[];
}

/** The last prompt among the session's messages and what follows it; a conflict when there is none, or an edit names another prompt. */
export function lastTurn(messages: MessageRow[], request: SubmitRequest): LastTurn {
  const at = messages.findLastIndex((m) => m.role === 'user');
  const prompt = messages[at];
  if (!prompt) throw new EnclaveError('conflict', 'There is no prompt in this session to answer again. Type one first.');
  if (request.kind === 'edit' && request.promptId !== prompt.id) {
    throw new EnclaveError('conflict', 'Only the last prompt of a session can be edited and sent again, and that is not the last prompt (any more). Look at the conversation again.');
  }
  return { prompt, after: messages.slice(at + 1) };
}

export function sameTurn(a: LastTurn, b: LastTurn): boolean {
  return a.prompt.id === b.prompt.id && a.after.map((m) => m.id).join() === b.after.map((m) => m.id).join();
}

/** What a resend deletes: the earlier answer (regenerate), or the earlier prompt and its answer (edit). */
export function removedBy(request: SubmitRequest, turn: LastTurn): string[] {
  return [...(request.kind === 'edit' ? [turn.prompt.id] : []), ...turn.after.map((m) => m.id)];
}

/**
 * The session's title once `prompt` is stored: a new session's comes from
 * its first prompt; when an edit replaces the first prompt (`replacedFirst`)
 * and the title was made from it, it is made again; a title the user gave is kept.
 */
export function titleAfterPrompt(title: string, prompt: string, replacedFirst: string | null): string {
  const derived = title === NEW_SESSION_TITLE || (replacedFirst !== null && title === titleFrom(replacedFirst));
  return derived ? titleFrom(prompt) : title;
}

/** Earlier turns for rebuilding the model's context: failed answers are left out. */
export function toHistory(messages: MessageRow[]): ChatTurn[] {
  return messages.filter((m) => m.status !== 'failed').map((m) => ({ role: m.role, text: m.content }));
}

/** A workload's own answer limit, never above the policy's. */
export function responseTokenLimit(workload: WorkloadEntry, policy: Policy): number {
  const limit = policy.inference.maxResponseTokens;
  return Math.min(workload.maxTokens ?? limit, limit);
}

/** The row's title must already be opened (or blanked for a locked session). */
export function toSummary(row: SessionRow): ChatSessionSummary {
  return { id: row.id, title: row.title, workloadId: row.workload_id, createdAt: row.created_at, updatedAt: row.updated_at, endedAt: row.ended_at, locked: false };
}

/** The seed of deterministic mode: any fixed number would do; this one is recorded here so IT's acceptance checks can be repeated. */
export const DETERMINISTIC_SEED = 20_261_123;

/** Deterministic mode (policy) overrides a workload's temperature: greedy, with a fixed seed. */
export function sampling(workload: { temperature?: number | undefined }, policy: Policy): { temperature: number | undefined; seed: number | undefined } {
  return policy.inference.deterministic ? { temperature: 0, seed: DETERMINISTIC_SEED } : { temperature: workload.temperature, seed: undefined };
}
