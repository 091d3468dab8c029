// The workspace header: who is signed in, which model the open session's
// workload runs on (and whether it can), where it runs, that it all stays on
// this computer, and the session actions. It wraps rather than cut a name.
import type { Ref } from 'react';
import type { ModelSummary, User, WorkloadAvailability } from '../../../shared/api.js';
import { roleLabel } from '../format.js';
import { useStrings } from '../i18n/index.js';
import { initials } from './AuthScreens.js';

interface Props {
  institution: string;
  user: User;
  /** Null until model.status has answered. */
  facts: { model: ModelSummary | null; state: WorkloadAvailability; device: string; fallback: { badge: string; detail: string } | null } | null;
  canAudit: boolean;
  canAdminister: boolean;
  drawer: 'audit' | 'about' | null;
  busy: boolean;
  auditRef: Ref<HTMLButtonElement>;
  aboutRef: Ref<HTMLButtonElement>;
  onAudit(): void;
  onAbout(): void;
  onDisplay(): void;
  onShortcuts(): void;
  onLock(): void;
  onSignOut(): void;
}

export function Header(props: Props) {
  const { institution, user, facts, canAudit, canAdminister, drawer, busy } = props;
  const { t } = useStrings('shell');
  const roles = user.roles.map(roleLabel);
  return (
    <header className="app-header">
      <div className="brand">
        <span className="brand-mark" aria-hidden="true" />
        <span className="brand-text">
          <span className="brand-line">
            <span className="brand-name">{t('header.brand')}</span>
            <span className="brand-institution" translate="no">
              {institution}
            </span>
          </span>
          <span className="trust-cue">{t('header.trustCue')}</span>
        </span>
      </div>

      {facts ? (
        <dl className="header-facts" aria-label={t('header.inference')}>
          <div className="header-fact">
            <dt>{t('header.model')}</dt>
            <dd title={facts.model?.name}>
              {facts.model ? (
                <span className="header-fact-value" translate="no">
                  {facts.model.name}
                </span>
              ) : (
                <span className="header-fact-value">{t('header.none')}</span>
              )}
              {facts.model?.isTestModel ? <span className="tag tag-warning">{t('header.test')}</span> : null}
              <span className={`tag model-state model-state-${facts.state.state}`}>{t(`header.modelState.${facts.state.state}`)}</span>
            </dd>
          </div>
          <div className="header-fact">
            <dt>{t('header.device')}</dt>
            <dd title={facts.fallback ? `${facts.device}. ${facts.fallback.detail}` : facts.device}>
              <span className="header-fact-value">{facts.device}</span>
              {/* Slower answers have a cause IT can fix; the badge names it, the tooltip says why. */}
              {facts.fallback ? (
                <span className="tag tag-warning" role="note" aria-label={`${facts.fallback.badge}: ${facts.fallback.detail}`} title={facts.fallback.detail}>
                  {facts.fallback.badge}
                </span>
              ) : null}
            </dd>
          </div>
        </dl>
      ) : (
        <span />
      )}

      <div className="header-user" role="group" aria-label={t('header.signedInUser')}>
        <span className="avatar" aria-hidden="true">
          {initials(user.displayName)}
        </span>
        <span className="header-user-text" title={t('header.userTitle', { name: user.displayName, username: user.username, roles: roles.join(', ') })}>
          <span className="header-user-name">{user.displayName}</span>
          <span className="header-user-roles">
            {roles.join(' · ')}
            {user.authMethod.endsWith('-offline') ? (
              <span className="tag tag-warning" title={t('header.offlineDetail')}>
                {t('header.offline')}
              </span>
            ) : null}
          </span>
        </span>
      </div>

      <nav className="header-actions" aria-label={t('header.actions')}>
        {canAudit ? (
          <button ref={props.auditRef} type="button" className={`btn btn-ghost ${drawer === 'audit' ? 'is-active' : ''}`} aria-pressed={drawer === 'audit'} onClick={props.onAudit}>
            {t('header.audit')}
          </button>
        ) : null}
        {canAdminister ? (
          <button ref={props.aboutRef} type="button" className={`btn btn-ghost ${drawer === 'about' ? 'is-active' : ''}`} aria-pressed={drawer === 'about'} onClick={props.onAbout}>
            {t('header.about')}
          </button>
        ) : null}
        <button type="button" className="btn btn-ghost" aria-haspopup="dialog" onClick={props.onDisplay}>
          {t('header.display')}
        </button>
        <button type="button" className="btn btn-ghost" aria-haspopup="dialog" onClick={props.onShortcuts}>
          {t('header.shortcuts')}
        </button>
        <button type="button" className="btn btn-ghost" onClick={props.onLock} disabled={busy}>
          {t('header.lock')}
        </button>
        <button type="button" className="btn btn-ghost" onClick={props.onSignOut} disabled={busy}>
          {t('header.signOut')}
        </button>
      </nav>
    </header>
  );
}
