// What the chat service needs from outside inference, as inference defines
// it: the core wires identity's implementations in (the session gate and the
// signed-in person's chat keys), so inference never imports identity. Also
// the events chat work emits, and the refusal of work whose session changed.
import type { EventPayload } from '../../shared/api.js';
import { EnclaveError } from '../../shared/errors.js';

/**
 * Chat events carry one signed-in session's data: each goes with the epoch of
 * the session it belongs to, so that nothing of it reaches a screen that is
 * locked or shows someone else (the core drops it there).
 */
export interface ChatEvents {
  token(payload: EventPayload<'chat.token'>, epoch: number): void;
  done(payload: EventPayload<'chat.done'>, epoch: number): void;
  modelLoading(payload: EventPayload<'model.loading'>): void;
  queue(payload: EventPayload<'chat.queue'>): void;
}

/**
 * Which signed-in session is the active one (the identity service answers).
 * A call takes its user's epoch at entry; every await may end with the
 * session locked, signed out or replaced by someone else's, so the epoch is
 * checked again after each (see ChatService.#stillCurrent).
 */
export interface SessionGate {
  /** The epoch now, taken by a call at its start. */
  readonly epoch: number;
  /** Why work started under `epoch` may not go on, or null while its session is still the active one. */
  staleness(epoch: number): 'locked' | 'signed_out' | null;
}

/**
 * The signed-in person's chat keys (identity's ContentKeyRing): a session's
 * title and its messages are sealed with its owner's key, which only their
 * password or card unwraps. Anyone else's user id is refused by the ring.
 */
export interface ChatKeys {
  keyForNewChats(userId: string): string;
  canOpen(userId: string, keyId: string | null): boolean;
  sealTitle(userId: string, keyId: string, sessionId: string, title: string): string;
  openTitle(userId: string, keyId: string | null, sessionId: string, stored: string): string;
  sealMessage(userId: string, keyId: string, message: { id: string; sessionId: string; role: 'user' | 'assistant' }, content: string): string;
  openMessage(userId: string, keyId: string | null, message: { id: string; sessionId: string; role: 'user' | 'assistant' }, stored: string): string;
}

/** Work refused because the session it was started in was locked or ended before it could finish. */
export class SessionChangedError extends EnclaveError {
  readonly reason: 'locked' | 'signed_out';
  constructor(reason: 'locked' | 'signed_out') {
    super(
      reason === 'locked' ? 'locked' : 'not_signed_in',
      reason === 'locked'
        ? 'Enclave was locked before this could be done, so nothing was sent or stored. Unlock and try again.'
        : 'The session ended before this could be done, so nothing was sent or stored. Sign in and try again.',
    );
    this.reason = reason;
  }
}
