// The workspace header: who is signed in, which model runs where, and the
// session actions.
import type { InferenceStatus, ModelSummary, User } from '../../../shared/api.js';
import { roleLabel } from '../format.js';
import { initials } from './AuthScreens.js';
import { deviceText, offloadWarning } from './inference-format.js';

interface Props {
  institution: string;
  user: User;
  inference: InferenceStatus | null;
  model: ModelSummary | null;
  canAudit: boolean;
  canAdminister: boolean;
  drawer: 'audit' | 'about' | null;
  busy: boolean;
  onAudit(): void;
  onAbout(): void;
  onLock(): void;
  onSignOut(): void;
}

export function Header({ institution, user, inference, model, canAudit, canAdminister, drawer, busy, onAudit, onAbout, onLock, onSignOut }: Props) {
  const device = deviceText(inference);
  const fallback = offloadWarning(inference);
  return (
    <header className="app-header">
      <div className="brand">
        <span className="brand-mark" aria-hidden="true" />
        <span className="brand-name">Enclave</span>
        <span className="brand-institution">{institution}</span>
      </div>

      {inference ? (
        <dl className="header-facts" aria-label="Inference">
          <div className="header-fact">
            <dt>Model</dt>
            <dd title={model ? model.name : undefined}>
              <span className="header-fact-value">{model ? model.name : 'None'}</span>
              {model?.isTestModel ? <span className="tag tag-warning">Test</span> : null}
            </dd>
          </div>
          <div className="header-fact">
            <dt>Device</dt>
            <dd title={fallback ? `${device}. ${fallback.detail}` : device}>
              <span className="header-fact-value">{device}</span>
              {/* Slower answers have a cause IT can fix; the badge names it, the tooltip says why. */}
              {fallback ? (
                <span className="tag tag-warning" role="note" aria-label={`${fallback.badge}: ${fallback.detail}`} title={fallback.detail}>
                  {fallback.badge}
                </span>
              ) : null}
            </dd>
          </div>
        </dl>
      ) : (
        <span />
      )}

      <div className="header-user" aria-label="Signed-in user">
        <span className="avatar" aria-hidden="true">
          {initials(user.displayName)}
        </span>
        <span className="header-user-text" title={`${user.displayName} (${user.username}) — ${user.roles.map(roleLabel).join(', ')}`}>
          <span className="header-user-name">{user.displayName}</span>
          <span className="header-user-roles">
            {user.roles.map(roleLabel).join(' · ')}
            {user.authMethod.endsWith('-offline') ? (
              <span className="tag tag-warning" title="No domain controller answered; you were signed in against your last online sign-in on this workstation.">
                Signed in offline
              </span>
            ) : null}
          </span>
        </span>
      </div>

      <div className="header-actions">
        {canAudit ? (
          <button type="button" className={`btn btn-ghost ${drawer === 'audit' ? 'is-active' : ''}`} aria-pressed={drawer === 'audit'} onClick={onAudit}>
            Audit
          </button>
        ) : null}
        {canAdminister ? (
          <button type="button" className={`btn btn-ghost ${drawer === 'about' ? 'is-active' : ''}`} aria-pressed={drawer === 'about'} onClick={onAbout}>
            About
          </button>
        ) : null}
        <button type="button" className="btn btn-ghost" onClick={onLock} disabled={busy}>
          Lock
        </button>
        <button type="button" className="btn btn-ghost" onClick={onSignOut} disabled={busy}>
          Sign out
        </button>
      </div>
    </header>
  );
}
