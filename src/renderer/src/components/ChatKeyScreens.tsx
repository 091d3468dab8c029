// What the person is told about their chat keys (each person's chats are
// sealed with a key their password or card unwraps): after a password change
// in AD, one question (the previous password, or start fresh); otherwise a
// plain line when earlier chats open only with another sign-in, or are damaged.
import { useRef, useState, type FormEvent } from 'react';
import { Trans } from 'react-i18next';
import type { ChatKeyState, SessionState, User } from '../../../shared/api.js';
import { useFormCall } from '../enclave.js';
import { t as translate, useStrings } from '../i18n/index.js';
import { AuthCard, ErrorAlert, TextField } from './common.js';

/** Asked once, before the workspace: answered with the previous password, or by starting fresh. */
export function ChatKeyRecoveryScreen({ institution, user, onSession }: { institution: string; user: User; onSession(session: SessionState): void }) {
  const { t } = useStrings('auth');
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
    <AuthCard institution={institution} title={t('chatKeys.title')} subtitle={<p>{t('chatKeys.passwordChanged')}</p>}>
      <form className="form" onSubmit={recover} noValidate aria-label={t('chatKeys.formLabel')}>
        <p className="muted">
          <Trans t={t} i18nKey="chatKeys.signedInAs" values={{ name: user.displayName, username: user.username }} components={{ strong: <strong translate="no" /> }} />
        </p>
        <TextField
          label={t('chatKeys.previousPassword')}
          type="password"
          autoComplete="off"
          autoFocus
          ref={passwordRef}
          value={previousPassword}
          onChange={(e) => setPreviousPassword(e.target.value)}
          required
        />
        <ErrorAlert error={error} />
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy || previousPassword.length === 0}>
            {t('chatKeys.open')}
          </button>
          <button type="button" className="btn btn-secondary" onClick={() => void startFresh()} disabled={busy}>
            {t('chatKeys.startFresh')}
          </button>
        </div>
        {/* Not now (or not this person): nothing changes, and the question comes again at the next sign-in. */}
        <button type="button" className="btn btn-link" onClick={() => void signOut()} disabled={busy}>
          {t('signOut')}
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
    const how = translate(others.length === 2 ? 'auth:chatKeys.openWith.both' : others[0] === 'card' ? 'auth:chatKeys.openWith.card' : 'auth:chatKeys.openWith.password');
    parts.push(translate('auth:chatKeys.otherSignIn', { how }));
  }
  if (chatKeys.damaged) parts.push(translate('auth:chatKeys.damaged'));
  return parts.length > 0 ? parts.join(' ') : null;
}

export function ChatKeyBanner({ chatKeys }: { chatKeys: ChatKeyState | undefined }) {
  const { t } = useStrings('auth');
  const text = chatKeyNotice(chatKeys);
  if (!text) return null;
  return (
    <div role="status" aria-label={t('chatKeys.bannerLabel')} className="alert alert-info chat-key-banner">
      {text}
    </div>
  );
}
