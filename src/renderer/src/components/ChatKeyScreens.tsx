// What the person is told about their chat keys (each person's chats are
// sealed with a key their password or card unwraps): after a password change
// in AD, one question (the previous password, or start fresh); otherwise a
// plain line when earlier chats open only with another sign-in, or are damaged.
import { useRef, useState, type FormEvent } from 'react';
import type { ChatKeyState, SessionState, User } from '../../../shared/api.js';
import { useFormCall } from '../enclave.js';
import { AuthCard, ErrorAlert, TextField } from './common.js';

export const PASSWORD_CHANGED_MESSAGE =
  'Your password has changed since you last used Enclave on this workstation. Type your previous password to open your earlier chats, or start fresh (earlier chats on this workstation stay locked and are deleted by the retention schedule).';

/** Asked once, before the workspace: answered with the previous password, or by starting fresh. */
export function ChatKeyRecoveryScreen({ institution, user, onSession }: { institution: string; user: User; onSession(session: SessionState): void }) {
  const passwordRef = useRef<HTMLInputElement>(null);
  const [previousPassword, setPreviousPassword] = useState('');
  const { busy, error, run } = useFormCall();

  async function recover(event: FormEvent) {
    event.preventDefault();
    const session = await run('auth.recoverChatKeys', { previousPassword });
    setPreviousPassword('');
    if (session) onSession(session);
    else passwordRef.current?.focus();
  }

  async function startFresh() {
    const session = await run('auth.resetChatKeys', {});
    if (session) onSession(session);
  }

  async function signOut() {
    const session = await run('auth.signOut', {});
    if (session) onSession(session);
  }

  return (
    <AuthCard institution={institution} title="Your earlier chats" subtitle={<p>{PASSWORD_CHANGED_MESSAGE}</p>}>
      <form className="form" onSubmit={recover} noValidate aria-label="Open earlier chats">
        <p className="muted">
          Signed in as <strong>{user.displayName}</strong> ({user.username}).
        </p>
        <TextField label="Previous password" type="password" autoComplete="off" autoFocus ref={passwordRef} value={previousPassword} onChange={(e) => setPreviousPassword(e.target.value)} required />
        <ErrorAlert error={error} />
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy || previousPassword.length === 0}>
            Open earlier chats
          </button>
          <button type="button" className="btn btn-secondary" onClick={() => void startFresh()} disabled={busy}>
            Start fresh
          </button>
        </div>
        {/* Not now (or not this person): nothing changes, and the question comes again at the next sign-in. */}
        <button type="button" className="btn btn-link" onClick={() => void signOut()} disabled={busy}>
          Sign out
        </button>
      </form>
    </AuthCard>
  );
}

/** Earlier chats this sign-in cannot open, in a sentence; null when there is nothing to say. */
export function chatKeyNotice(chatKeys: ChatKeyState | undefined): string | null {
  if (!chatKeys) return null;
  const parts: string[] = [];
  const others = chatKeys.earlierChatsOpenWith;
  if (others.length > 0) {
    const how = others.length === 2 ? 'your password or your smart card' : others[0] === 'card' ? 'your smart card' : 'your password';
    parts.push(`Some earlier chats on this workstation are locked in this sign-in: they open when you sign in with ${how}. New chats are kept under this sign-in.`);
  }
  if (chatKeys.damaged) parts.push('The stored key of some earlier chats is damaged, so they stay locked; nothing was deleted. Contact IT.');
  return parts.length > 0 ? parts.join(' ') : null;
}

export function ChatKeyBanner({ chatKeys }: { chatKeys: ChatKeyState | undefined }) {
  const text = chatKeyNotice(chatKeys);
  if (!text) return null;
  return (
    <div role="status" aria-label="Locked chats" className="alert alert-info chat-key-banner">
      {text}
    </div>
  );
}
