// The screens before the workspace: first-run account, sign-in, and the lock screen.
import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import type { CardStatus, SessionState, User } from '../../../shared/api.js';
import { call, useFormCall } from '../enclave.js';
import { fullTime } from '../format.js';
import { AuthCard, ErrorAlert, TextField } from './common.js';

const MIN_PASSWORD = 12;

interface Props {
  institution: string;
  onSession(session: SessionState): void;
}

export function FirstRunScreen({ institution, onSession }: Props) {
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const { busy, error, setError, run } = useFormCall();

  async function submit(event: FormEvent) {
    event.preventDefault();
    // Checked here only to spare a round trip; the core checks again.
    if (password.length < MIN_PASSWORD) {
      setError({ code: 'invalid_input', message: `Use at least ${MIN_PASSWORD} characters for the password.` });
      return;
    }
    if (password !== confirm) {
      setError({ code: 'invalid_input', message: 'The two passwords do not match.' });
      return;
    }
    const session = await run('auth.createFirstAccount', { username, displayName, password });
    if (session) onSession(session);
  }

  return (
    <AuthCard
      institution={institution}
      title="Create the evaluation account"
      subtitle={
        <>
          <p>
            Enclave found no managed policy on this workstation, so it runs in <strong>evaluation mode</strong>. This first account is a local account that exists only in evaluation mode and holds
            every role, so you can try all of Enclave.
          </p>
          <p>Under managed policy, people sign in with the institution's directory or smart card instead.</p>
        </>
      }
    >
      <form className="form" onSubmit={submit} noValidate>
        <TextField label="User name" autoComplete="username" autoFocus value={username} onChange={(e) => setUsername(e.target.value)} required />
        <TextField label="Display name" autoComplete="name" value={displayName} onChange={(e) => setDisplayName(e.target.value)} placeholder="e.g. Dr. Jane Smith" required />
        <TextField
          label="Password"
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
          hint={`At least ${MIN_PASSWORD} characters.${password.length > 0 && password.length < MIN_PASSWORD ? ` ${MIN_PASSWORD - password.length} more to go.` : ''}`}
        />
        <TextField label="Confirm password" type="password" autoComplete="new-password" value={confirm} onChange={(e) => setConfirm(e.target.value)} required />
        <ErrorAlert error={error} />
        <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
          {busy ? 'Creating account…' : 'Create account'}
        </button>
      </form>
    </AuthCard>
  );
}

/** User name and password, sent as auth.signIn; used on the sign-in screen and at the lock. */
function SignInForm({ onSession, hint, label, onCancel, children }: { onSession(session: SessionState): void; hint?: string; label?: string; onCancel?(): void; children?: ReactNode }) {
  const passwordRef = useRef<HTMLInputElement>(null);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, run } = useFormCall();

  async function submit(event: FormEvent) {
    event.preventDefault();
    const session = await run('auth.signIn', { username, password });
    setPassword('');
    if (session) onSession(session);
    else passwordRef.current?.focus();
  }

  const signIn = (
    <button type="submit" className={onCancel ? 'btn btn-primary' : 'btn btn-primary btn-block'} disabled={busy}>
      {busy ? 'Signing in…' : 'Sign in'}
    </button>
  );
  return (
    <form className="form" onSubmit={submit} noValidate {...(label ? { 'aria-label': label } : {})}>
      {children}
      <TextField label="User name" autoComplete="username" autoFocus value={username} onChange={(e) => setUsername(e.target.value)} required {...(hint ? { hint } : {})} />
      <TextField label="Password" type="password" autoComplete="current-password" ref={passwordRef} value={password} onChange={(e) => setPassword(e.target.value)} required />
      <ErrorAlert error={error} />
      {onCancel ? (
        <div className="form-actions">
          {signIn}
          <button type="button" className="btn btn-secondary" onClick={onCancel} disabled={busy}>
            Cancel
          </button>
        </div>
      ) : (
        signIn
      )}
    </form>
  );
}

/** Readers and cards, re-read every two seconds so an inserted card shows up by itself. */
function useCards(active: boolean): CardStatus | null {
  const [status, setStatus] = useState<CardStatus | null>(null);
  useEffect(() => {
    if (!active) return;
    let stopped = false;
    const read = () =>
      void call('auth.cards', {}).then((result) => {
        if (!stopped && result.ok) setStatus(result.output);
      });
    read();
    const timer = window.setInterval(read, 2000);
    return () => {
      stopped = true;
      window.clearInterval(timer);
    };
  }, [active]);
  return status;
}

/** Smart-card sign-in (and unlock): pick the card, type its PIN. */
function CardSignInForm({ cards, onSession }: { cards: CardStatus; onSession(session: SessionState): void }) {
  const withCard = cards.readers.filter((r) => r.card);
  const [slotId, setSlotId] = useState('');
  const [pin, setPin] = useState('');
  const pinId = useId();
  const { busy, error, run } = useFormCall();
  const chosen = withCard.find((r) => r.slotId === slotId) ?? withCard[0];

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!chosen) return;
    const session = await run('auth.signInCard', { slotId: chosen.slotId, pin });
    setPin('');
    if (session) onSession(session);
  }

  if (cards.problem) return <ErrorAlert error={{ code: 'card_unavailable', message: cards.problem }} />;
  if (!chosen)
    return (
      <p className="muted" role="status" aria-label="Smart card">
        Insert your smart card to sign in with it.
      </p>
    );
  return (
    <form className="form" onSubmit={submit} noValidate aria-label="Smart card">
      {withCard.length > 1 ? (
        <div className="field">
          <label className="field-label">
            Card
            <select value={chosen.slotId} onChange={(e) => setSlotId(e.target.value)}>
              {withCard.map((r) => (
                <option key={r.slotId} value={r.slotId}>
                  {r.card!.label} ({r.reader})
                </option>
              ))}
            </select>
          </label>
        </div>
      ) : (
        <p className="muted">
          Card: {chosen.card!.label} ({chosen.reader})
        </p>
      )}
      <div className="field">
        <label htmlFor={pinId} className="field-label">
          PIN
        </label>
        <input id={pinId} type="password" inputMode="numeric" autoComplete="off" value={pin} onChange={(e) => setPin(e.target.value)} required />
      </div>
      <ErrorAlert error={error} />
      <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
        {busy ? 'Checking the card…' : 'Sign in with card'}
      </button>
    </form>
  );
}

export function SignInScreen({ institution, onSession, evaluation, breakGlassEnabled }: Props & { evaluation: boolean; breakGlassEnabled: boolean }) {
  const cards = useCards(!evaluation);
  const [emergency, setEmergency] = useState(false);
  if (emergency) return <BreakGlassScreen institution={institution} onSession={onSession} onCancel={() => setEmergency(false)} />;
  return (
    <AuthCard
      institution={institution}
      title="Sign in"
      subtitle={evaluation ? <p>Sign in with the local evaluation account created on this workstation.</p> : <p>Sign in with your institution account.</p>}
    >
      {cards?.enabled ? <CardSignInForm cards={cards} onSession={onSession} /> : null}
      <SignInForm onSession={onSession} {...(evaluation ? {} : { hint: 'name, DOMAIN\\name or name@domain' })} />
      {breakGlassEnabled ? (
        <button type="button" className="btn btn-link" onClick={() => setEmergency(true)}>
          Emergency access (break-glass)
        </button>
      ) : null}
    </AuthCard>
  );
}

/** Break-glass: for a listed group when the normal path fails; the reason is required and audited. */
function BreakGlassScreen({ institution, onSession, onCancel }: Props & { onCancel(): void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [reason, setReason] = useState('');
  const reasonId = useId();
  const { busy, error, run } = useFormCall();

  async function submit(event: FormEvent) {
    event.preventDefault();
    const session = await run('auth.breakGlass', { username, password, reason });
    setPassword('');
    if (session) onSession(session);
  }

  return (
    <AuthCard
      institution={institution}
      title="Emergency access"
      subtitle={<p>For patient care when the normal sign-in fails. Access is time-limited, shown on screen the whole time, and your reason and every action are reviewed by compliance.</p>}
    >
      <form className="form" onSubmit={submit} noValidate aria-label="Emergency access">
        <TextField label="User name" autoComplete="username" autoFocus value={username} onChange={(e) => setUsername(e.target.value)} required />
        <TextField label="Password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        <div className="field">
          <label htmlFor={reasonId} className="field-label">
            Reason for emergency access
          </label>
          <textarea id={reasonId} rows={3} maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} required />
        </div>
        <ErrorAlert error={error} />
        <div className="form-actions">
          <button type="submit" className="btn btn-danger" disabled={busy}>
            {busy ? 'Signing in…' : 'Use emergency access'}
          </button>
          <button type="button" className="btn btn-secondary" onClick={onCancel} disabled={busy}>
            Cancel
          </button>
        </div>
      </form>
    </AuthCard>
  );
}

export function LockScreen({ institution, user, lockedAt, reason, onSession }: Props & { user: User; lockedAt: number; reason: string }) {
  const passwordRef = useRef<HTMLInputElement>(null);
  const [password, setPassword] = useState('');
  const [switching, setSwitching] = useState(false);
  const cardSession = user.authMethod === 'smart-card';
  const cards = useCards(cardSession);
  const { busy, error, run } = useFormCall();

  async function unlock(event: FormEvent) {
    event.preventDefault();
    const session = await run('auth.unlock', { password });
    setPassword('');
    if (session) onSession(session);
    else {
      passwordRef.current?.focus();
    }
  }

  async function signOut() {
    const session = await run('auth.signOut', {});
    if (session) onSession(session);
  }

  return (
    <AuthCard
      institution={institution}
      title="Locked"
      subtitle={
        <>
          <p className="lock-user">
            <span className="avatar" aria-hidden="true">
              {initials(user.displayName)}
            </span>
            <span>
              <strong>{user.displayName}</strong>
              <span className="muted"> ({user.username})</span>
            </span>
          </p>
          <p className="muted">
            Locked {fullTime(lockedAt)}
            {reason ? ` — ${describeLockReason(reason)}` : ''}. The model's working memory for your sessions was cleared.
          </p>
        </>
      }
    >
      {switching ? (
        // Someone else at a locked workstation: signing in ends the locked person's session first.
        <SignInForm onSession={onSession} label="Sign in as someone else" onCancel={() => setSwitching(false)}>
          <p className="muted">Signing in ends {user.displayName}’s session. Their chats are kept for them.</p>
        </SignInForm>
      ) : cardSession ? (
        // A card session unlocks with the card and its PIN, never with a password.
        <>
          {cards ? <CardSignInForm cards={cards} onSession={onSession} /> : null}
          <ErrorAlert error={error} />
          <button type="button" className="btn btn-secondary" onClick={signOut} disabled={busy}>
            Sign out
          </button>
          <button type="button" className="btn btn-link" onClick={() => setSwitching(true)} disabled={busy}>
            Not {user.displayName}? Sign in as someone else
          </button>
        </>
      ) : (
        <form className="form" onSubmit={unlock} noValidate>
          <TextField label="Password" type="password" autoComplete="current-password" autoFocus ref={passwordRef} value={password} onChange={(e) => setPassword(e.target.value)} required />
          <ErrorAlert error={error} />
          <div className="form-actions">
            <button type="submit" className="btn btn-primary" disabled={busy}>
              Unlock
            </button>
            <button type="button" className="btn btn-secondary" onClick={signOut} disabled={busy}>
              Sign out
            </button>
          </div>
          <button type="button" className="btn btn-link" onClick={() => setSwitching(true)} disabled={busy}>
            Not {user.displayName}? Sign in as someone else
          </button>
        </form>
      )}
    </AuthCard>
  );
}

function describeLockReason(reason: string): string {
  switch (reason) {
    case 'idle':
      return 'locked after a period of inactivity';
    case 'user':
    case 'manual':
      return 'locked by the user';
    case 'screen-locked':
      return 'locked with the computer’s screen lock';
    case 'suspend':
      return 'locked when the computer went to sleep';
    case 'card_removed':
      return 'locked because the smart card was removed';
    default:
      return reason;
  }
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? [parts[0], parts[parts.length - 1]] : parts;
  return letters.map((p) => (p ?? '').charAt(0).toUpperCase()).join('') || '?';
}
