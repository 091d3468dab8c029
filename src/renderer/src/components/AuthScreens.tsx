// The screens before the workspace: first-run account, sign-in, and the lock screen.
import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { Trans } from 'react-i18next';
import type { CardStatus, SessionState, User } from '../../../shared/api.js';
import { call, useFormCall } from '../enclave.js';
import { fullTime } from '../format.js';
import { t as translate, useStrings } from '../i18n/index.js';
import { AuthCard, ErrorAlert, TextField } from './common.js';

const MIN_PASSWORD = 12;

interface Props {
  institution: string;
  onSession(session: SessionState): void;
}

export function FirstRunScreen({ institution, onSession }: Props) {
  const { t } = useStrings('auth');
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const { busy, error, setError, run } = useFormCall();

  async function submit(event: FormEvent) {
    event.preventDefault();
    // Checked here only to spare a round trip; the core checks again.
    if (password.length < MIN_PASSWORD) {
      setError({ code: 'invalid_input', message: t('firstRun.tooShort', { min: MIN_PASSWORD }) });
      return;
    }
    if (password !== confirm) {
      setError({ code: 'invalid_input', message: t('firstRun.mismatch') });
      return;
    }
    const session = await run('auth.createFirstAccount', { username, displayName, password });
    if (session) onSession(session);
  }

  return (
    <AuthCard
      institution={institution}
      title={t('firstRun.title')}
      subtitle={
        <>
          <p>
            <Trans t={t} i18nKey="firstRun.intro1" components={{ strong: <strong /> }} />
          </p>
          <p>{t('firstRun.intro2')}</p>
        </>
      }
    >
      <form className="form" onSubmit={submit} noValidate>
        <TextField label={t('userName')} autoComplete="username" autoFocus value={username} onChange={(e) => setUsername(e.target.value)} required />
        <TextField
          label={t('firstRun.displayName')}
          autoComplete="name"
          value={displayName}
          onChange={(e) => setDisplayName(e.target.value)}
          placeholder={t('firstRun.displayNamePlaceholder')}
          required
        />
        <TextField
          label={t('password')}
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
          hint={`${t('firstRun.passwordHint', { min: MIN_PASSWORD })}${password.length > 0 && password.length < MIN_PASSWORD ? ` ${t('firstRun.passwordMore', { count: MIN_PASSWORD - password.length, n: MIN_PASSWORD - password.length })}` : ''}`}
        />
        <TextField label={t('firstRun.confirm')} type="password" autoComplete="new-password" value={confirm} onChange={(e) => setConfirm(e.target.value)} required />
        <ErrorAlert error={error} />
        <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
          {busy ? t('firstRun.busy') : t('firstRun.submit')}
        </button>
      </form>
    </AuthCard>
  );
}

/** User name and password, sent as auth.signIn; used on the sign-in screen and at the lock. */
function SignInForm({ onSession, hint, label, onCancel, children }: { onSession(session: SessionState): void; hint?: string; label?: string; onCancel?(): void; children?: ReactNode }) {
  const { t } = useStrings('auth');
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
      {busy ? t('signIn.busy') : t('signIn.submit')}
    </button>
  );
  return (
    <form className="form" onSubmit={submit} noValidate {...(label ? { 'aria-label': label } : {})}>
      {children}
      <TextField label={t('userName')} autoComplete="username" autoFocus value={username} onChange={(e) => setUsername(e.target.value)} required {...(hint ? { hint } : {})} />
      <TextField label={t('password')} type="password" autoComplete="current-password" ref={passwordRef} value={password} onChange={(e) => setPassword(e.target.value)} required />
      <ErrorAlert error={error} />
      {onCancel ? (
        <div className="form-actions">
          {signIn}
          <button type="button" className="btn btn-secondary" onClick={onCancel} disabled={busy}>
            {translate('common:cancel')}
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
  const { t } = useStrings('auth');
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
      <p className="muted" role="status" aria-label={t('card.label')}>
        {t('card.insert')}
      </p>
    );
  return (
    <form className="form" onSubmit={submit} noValidate aria-label={t('card.label')}>
      {withCard.length > 1 ? (
        <div className="field">
          <label className="field-label">
            {t('card.card')}
            <select value={chosen.slotId} onChange={(e) => setSlotId(e.target.value)}>
              {withCard.map((r) => (
                <option key={r.slotId} value={r.slotId}>
                  {t('card.option', { label: r.card!.label, reader: r.reader })}
                </option>
              ))}
            </select>
          </label>
        </div>
      ) : (
        <p className="muted">{t('card.chosen', { label: chosen.card!.label, reader: chosen.reader })}</p>
      )}
      <div className="field">
        <label htmlFor={pinId} className="field-label">
          {t('card.pin')}
        </label>
        <input id={pinId} type="password" inputMode="numeric" autoComplete="off" value={pin} onChange={(e) => setPin(e.target.value)} required />
      </div>
      <ErrorAlert error={error} />
      <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
        {busy ? t('card.busy') : t('card.submit')}
      </button>
    </form>
  );
}

export function SignInScreen({ institution, onSession, evaluation, breakGlassEnabled }: Props & { evaluation: boolean; breakGlassEnabled: boolean }) {
  const { t } = useStrings('auth');
  const cards = useCards(!evaluation);
  const [emergency, setEmergency] = useState(false);
  if (emergency) return <BreakGlassScreen institution={institution} onSession={onSession} onCancel={() => setEmergency(false)} />;
  return (
    <AuthCard institution={institution} title={t('signIn.title')} subtitle={<p>{evaluation ? t('signIn.evaluation') : t('signIn.managed')}</p>}>
      {cards?.enabled ? <CardSignInForm cards={cards} onSession={onSession} /> : null}
      <SignInForm onSession={onSession} {...(evaluation ? {} : { hint: t('signIn.userHint') })} />
      {breakGlassEnabled ? (
        <button type="button" className="btn btn-link" onClick={() => setEmergency(true)}>
          {t('signIn.breakGlass')}
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
  const { t } = useStrings('auth');
  const { busy, error, run } = useFormCall();

  async function submit(event: FormEvent) {
    event.preventDefault();
    const session = await run('auth.breakGlass', { username, password, reason });
    setPassword('');
    if (session) onSession(session);
  }

  return (
    <AuthCard institution={institution} title={t('breakGlass.title')} subtitle={<p>{t('breakGlass.intro')}</p>}>
      <form className="form" onSubmit={submit} noValidate aria-label={t('breakGlass.title')}>
        <TextField label={t('userName')} autoComplete="username" autoFocus value={username} onChange={(e) => setUsername(e.target.value)} required />
        <TextField label={t('password')} type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        <div className="field">
          <label htmlFor={reasonId} className="field-label">
            {t('breakGlass.reason')}
          </label>
          <textarea id={reasonId} rows={3} maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} required />
        </div>
        <ErrorAlert error={error} />
        <div className="form-actions">
          <button type="submit" className="btn btn-danger" disabled={busy}>
            {busy ? t('signIn.busy') : t('breakGlass.submit')}
          </button>
          <button type="button" className="btn btn-secondary" onClick={onCancel} disabled={busy}>
            {translate('common:cancel')}
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
  const { t } = useStrings('auth');
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
      title={t('lock.title')}
      subtitle={
        <>
          <p className="lock-user">
            <span className="avatar" aria-hidden="true">
              {initials(user.displayName)}
            </span>
            <span translate="no">
              <strong>{user.displayName}</strong>
              <span className="muted"> ({user.username})</span>
            </span>
          </p>
          <p className="muted">
            {reason ? t('lock.lockedAtWhy', { time: fullTime(lockedAt), reason: describeLockReason(reason) }) : t('lock.lockedAt', { time: fullTime(lockedAt) })} {t('lock.cleared')}
          </p>
        </>
      }
    >
      {switching ? (
        // Someone else at a locked workstation: signing in ends the locked person's session first.
        <SignInForm onSession={onSession} label={t('lock.switchLabel')} onCancel={() => setSwitching(false)}>
          <p className="muted">{t('lock.switchNote', { name: user.displayName })}</p>
        </SignInForm>
      ) : cardSession ? (
        // A card session unlocks with the card and its PIN, never with a password.
        <>
          {cards ? <CardSignInForm cards={cards} onSession={onSession} /> : null}
          <ErrorAlert error={error} />
          <button type="button" className="btn btn-secondary" onClick={signOut} disabled={busy}>
            {t('signOut')}
          </button>
          <button type="button" className="btn btn-link" onClick={() => setSwitching(true)} disabled={busy}>
            {t('lock.switchUser', { name: user.displayName })}
          </button>
        </>
      ) : (
        <form className="form" onSubmit={unlock} noValidate>
          <TextField label={t('password')} type="password" autoComplete="current-password" autoFocus ref={passwordRef} value={password} onChange={(e) => setPassword(e.target.value)} required />
          <ErrorAlert error={error} />
          <div className="form-actions">
            <button type="submit" className="btn btn-primary" disabled={busy}>
              {t('lock.unlock')}
            </button>
            <button type="button" className="btn btn-secondary" onClick={signOut} disabled={busy}>
              {t('signOut')}
            </button>
          </div>
          <button type="button" className="btn btn-link" onClick={() => setSwitching(true)} disabled={busy}>
            {t('lock.switchUser', { name: user.displayName })}
          </button>
        </form>
      )}
    </AuthCard>
  );
}

function describeLockReason(reason: string): string {
  switch (reason) {
    case 'idle':
      return translate('auth:lock.reason.idle');
    case 'user':
    case 'manual':
      return translate('auth:lock.reason.user');
    case 'screen-locked':
      return translate('auth:lock.reason.screenLocked');
    case 'suspend':
      return translate('auth:lock.reason.suspend');
    case 'card_removed':
      return translate('auth:lock.reason.cardRemoved');
    default:
      return reason;
  }
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? [parts[0], parts[parts.length - 1]] : parts;
  return letters.map((p) => (p ?? '').charAt(0).toUpperCase()).join('') || '?';
}
