// Everything behind a signed-in, unlocked session: header, model setup or
// chat, the compliance officer's audit log, and the audit drawer. The one main
// landmark (the skip link's target) and one h1 per screen live here.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { AppStatus, GenerationQueue, InferenceStatus, ModelSummary, SessionState, User } from '../../../shared/api.js';
import { ADMIN_ROLES, AUDIT_ROLES, CHAT_ROLES, COMPLIANCE_ROLES, holdsAnyRole } from '../../../shared/roles.js';
import { registerCommand } from '../commands.js';
import { call, on, type ErrorInfo } from '../enclave.js';
import { useStrings } from '../i18n/index.js';
import { headerWorkload, useSessionWorkloadId } from '../shell/header-model.js';
import { AuditPanel } from './AuditPanel.js';
import { AuditSearch } from './AuditSearch.js';
import { ChatWorkspace } from './ChatWorkspace.js';
import { ErrorAlert, Spinner } from './common.js';
import { Header } from './Header.js';
import { deviceText, modelOfWorkload, offloadWarning, workloadAvailability } from './inference-format.js';
import { ModelLoadingStatus, ModelSetup, type ModelLoadingEvent } from './ModelSetup.js';
import { AboutPanel } from './PolicyScreens.js';

/** model.changed comes with every step of a file check: re-read model.status at most this often. */
const MODEL_CHANGED_DELAY_MS = 200;

/** The model chats run on: the loaded one, else the one the user's first workload routes to, else the only one. */
export function currentModel(inference: InferenceStatus | null): ModelSummary | null {
  if (!inference) return null;
  const byId = (id: string | null | undefined) => (id ? inference.models.find((m) => m.id === id) : undefined);
  return byId(inference.loadedModelId) ?? byId(inference.workloads[0]?.modelId) ?? inference.models[0] ?? null;
}

function isBusy(loading: ModelLoadingEvent | null): boolean {
  return loading !== null && (loading.phase === 'verifying' || loading.phase === 'loading');
}

/** What the status strip shows: a load in progress (or failed), else a model file being checked. */
function modelActivity(inference: InferenceStatus | null, loading: ModelLoadingEvent | null): ModelLoadingEvent | null {
  if (loading && loading.phase !== 'ready') return loading;
  const checking = inference?.models.find((m) => m.availability.state === 'checking');
  return checking ? { modelId: checking.id, phase: 'verifying', progress: checking.availability.progress, message: null } : null;
}

interface Props {
  status: AppStatus;
  user: User;
  selectedSessionId: string | null;
  onSelectSession(id: string | null): void;
  onSession(session: SessionState): void;
  onStaleSession(): void;
  /** Opens one of the shell's dialogs (display settings, the shortcut sheet). */
  onOpenDialog(kind: 'display' | 'shortcuts'): void;
}

export function Workspace({ status, user, selectedSessionId, onSelectSession, onSession, onStaleSession, onOpenDialog }: Props) {
  const { t } = useStrings('shell');
  const [inference, setInference] = useState<InferenceStatus | null>(null);
  const [inferenceError, setInferenceError] = useState<ErrorInfo | null>(null);
  const [loading, setLoading] = useState<ModelLoadingEvent | null>(null);
  const [queue, setQueue] = useState<GenerationQueue | null>(null);
  // Events counted, so a model.status answer older than an event does not undo it.
  const heard = useRef({ loading: 0, queue: 0 });
  const latestRead = useRef(0);
  const [drawer, setDrawer] = useState<'audit' | 'about' | null>(null);
  const [actionError, setActionError] = useState<ErrorInfo | null>(null);
  const [busy, setBusy] = useState(false);
  // Focus goes back to the header button that opened a drawer when the drawer closes.
  const auditButton = useRef<HTMLButtonElement>(null);
  const aboutButton = useRef<HTMLButtonElement>(null);
  const closeDrawer = useCallback(() => {
    const opener = drawer === 'audit' ? auditButton.current : drawer === 'about' ? aboutButton.current : null;
    setDrawer(null);
    // After the drawer has gone, so the focus is not pulled back into it.
    if (opener) window.setTimeout(() => opener.focus(), 0);
  }, [drawer]);

  const canChat = holdsAnyRole(user.roles, CHAT_ROLES);
  const canAudit = holdsAnyRole(user.roles, AUDIT_ROLES);
  const isAdmin = holdsAnyRole(user.roles, ADMIN_ROLES);
  // The compliance officer gets the audit log screen in place of chat (and as
  // their home screen when they cannot chat); others who may audit keep the
  // verify drawer.
  const canSearchAudit = holdsAnyRole(user.roles, COMPLIANCE_ROLES);
  const [auditScreen, setAuditScreen] = useState(canSearchAudit && !canChat);

  const refreshInference = useCallback(async () => {
    const read = ++latestRead.current;
    const before = { ...heard.current };
    const result = await call('model.status', {});
    // A newer read is on its way and will say more.
    if (read !== latestRead.current) return;
    if (result.ok) {
      setInference(result.output);
      setInferenceError(null);
      const nowLoading = result.output.loading;
      const nowQueue = result.output.queue;
      // After a reload this is the only way to learn of a load in progress; a finished one clears a stale busy line.
      if (heard.current.loading === before.loading) setLoading((prev) => nowLoading ?? (isBusy(prev) ? null : prev));
      if (heard.current.queue === before.queue) setQueue(nowQueue);
    } else {
      setInferenceError(result.error);
      if (result.error.code === 'locked' || result.error.code === 'not_signed_in') onStaleSession();
    }
  }, [onStaleSession]);

  useEffect(() => {
    void refreshInference();
    const offLoading = on('model.loading', (event) => {
      heard.current.loading += 1;
      setLoading(event);
      // The device is only known once a model is loaded.
      if (event.phase === 'ready' || event.phase === 'failed') void refreshInference();
    });
    // Coalesced rather than debounced: a long file check sends a steady stream, and its progress should still show.
    let pending: number | null = null;
    const offChanged = on('model.changed', () => {
      if (pending !== null) return;
      pending = window.setTimeout(() => {
        pending = null;
        void refreshInference();
      }, MODEL_CHANGED_DELAY_MS);
    });
    const offQueue = on('chat.queue', (next) => {
      heard.current.queue += 1;
      setQueue(next);
    });
    return () => {
      offLoading();
      offChanged();
      offQueue();
      if (pending !== null) window.clearTimeout(pending);
    };
  }, [refreshInference]);

  const act = useCallback(
    async (method: 'auth.lock' | 'auth.signOut') => {
      setBusy(true);
      setActionError(null);
      const result = await call(method, {});
      setBusy(false);
      if (result.ok) onSession(result.output);
      else setActionError(result.error);
    },
    [onSession],
  );

  useEffect(() => registerCommand('session.lock', () => void act('auth.lock')), [act]);

  const onSessionError = useCallback(() => onStaleSession(), [onStaleSession]);
  const onAnswerDone = useCallback(() => {
    // The first answer loads the model; the header's device comes from model.status.
    void refreshInference();
  }, [refreshInference]);

  const model = currentModel(inference);
  const activity = modelActivity(inference, loading);
  // The header speaks of the open session's workload (else the one a new session would use), never a refused default.
  const sessionWorkloadId = useSessionWorkloadId(canChat ? selectedSessionId : null, inference);
  const shownWorkload = inference ? headerWorkload(inference, sessionWorkloadId) : null;
  const shownState = inference && shownWorkload ? workloadAvailability(inference.models, shownWorkload) : null;
  const facts = inference
    ? {
        model: shownWorkload ? (modelOfWorkload(inference.models, shownWorkload) ?? model) : model,
        state: shownState ?? { state: 'ready' as const, reason: null },
        device: deviceText(inference),
        fallback: offloadWarning(inference),
      }
    : null;
  let heading: string | null = null;
  let body;
  if (canSearchAudit && auditScreen) {
    body = <AuditSearch onClose={canChat ? () => setAuditScreen(false) : undefined} onSessionError={onStaleSession} />;
  } else if (inferenceError && !inference) {
    body = (
      <div className="center-screen">
        <ErrorAlert error={inferenceError} title={t('workspace.cannotReadModels')} />
        <button type="button" className="btn btn-secondary" onClick={() => void refreshInference()}>
          {t('workspace.tryAgain')}
        </button>
      </div>
    );
  } else if (!inference) {
    body = (
      <div className="center-screen">
        <Spinner /> {t('workspace.loading')}
      </div>
    );
  } else if (inference.models.length === 0) {
    body = <ModelSetup inference={inference} isAdmin={isAdmin} policySource={status.policySource} loading={loading} onConfigured={() => void refreshInference()} />;
  } else if (!canChat) {
    body = (
      <div className="center-screen">
        <section className="panel setup-panel">
          <h1>{t('workspace.noChatTitle')}</h1>
          <p>
            {t('workspace.noChatBody')} {canAudit ? t('workspace.noChatAudit') : ''}
          </p>
        </section>
      </div>
    );
  } else if (inference.workloads.length === 0) {
    body = (
      <div className="center-screen">
        <section className="panel setup-panel">
          <h1>{t('workspace.noWorkloadTitle')}</h1>
          <p>{t('workspace.noWorkloadBody', { roles: user.roles.join(', ') })}</p>
        </section>
      </div>
    );
  } else {
    heading = t('workspace.heading');
    body = (
      <ChatWorkspace
        user={user}
        model={model}
        models={inference.models}
        workloads={inference.workloads}
        queue={queue}
        maxPromptChars={status.limits.maxPromptChars}
        loading={loading}
        selectedId={selectedSessionId}
        onSelect={onSelectSession}
        onSessionError={onSessionError}
        onAnswerDone={onAnswerDone}
      />
    );
  }

  return (
    <div className="workspace">
      <Header
        institution={status.institution}
        user={user}
        facts={facts}
        canAudit={canAudit}
        canAdminister={isAdmin}
        drawer={drawer ?? (canSearchAudit && auditScreen ? 'audit' : null)}
        busy={busy}
        auditRef={auditButton}
        aboutRef={aboutButton}
        onDisplay={() => onOpenDialog('display')}
        onShortcuts={() => onOpenDialog('shortcuts')}
        onAudit={() => {
          if (!canSearchAudit) setDrawer((d) => (d === 'audit' ? null : 'audit'));
          // Without chat the audit log is the only screen: the button brings it back, never away.
          else setAuditScreen((open) => !open || !canChat);
        }}
        onAbout={() => setDrawer((d) => (d === 'about' ? null : 'about'))}
        onLock={() => void act('auth.lock')}
        onSignOut={() => void act('auth.signOut')}
      />
      <div className="workspace-body">
        <main id="main" className="workspace-main" tabIndex={-1}>
          {heading ? <h1 className="visually-hidden">{heading}</h1> : null}
          {/* Inside main (a landmark), first after the heading: what is wrong or loading concerns this screen. */}
          {actionError ? (
            <div className="header-error">
              <ErrorAlert error={actionError} />
            </div>
          ) : null}
          {shownWorkload && shownState?.state === 'unavailable' ? (
            <div className="status-strip status-unavailable">
              <p>
                {shownState.reason ? t('workspace.unavailable', { workload: shownWorkload.name, reason: shownState.reason }) : t('workspace.unavailableNoReason', { workload: shownWorkload.name })}
              </p>
            </div>
          ) : null}
          {inference && inference.models.length > 0 && activity ? (
            <div className="status-strip">
              <ModelLoadingStatus event={activity} models={inference.models} />
            </div>
          ) : null}
          {body}
        </main>
        {drawer === 'audit' ? <AuditPanel onClose={closeDrawer} /> : null}
        {drawer === 'about' ? <AboutPanel status={status} onClose={closeDrawer} /> : null}
      </div>
    </div>
  );
}
