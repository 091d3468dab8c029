// Top level: reads app.status, follows session.changed, and picks the screen.
import { useCallback, useEffect, useState } from 'react';
import type { AppStatus, SessionState } from '../../shared/api.js';
import { ActivityReporter } from './activity.js';
import { AttestationScreen } from './components/AttestationScreen.js';
import { FirstRunScreen, LockScreen, SignInScreen } from './components/AuthScreens.js';
import { ChatKeyBanner, ChatKeyRecoveryScreen } from './components/ChatKeyScreens.js';
import { BreakGlassBanner, ErrorAlert, EvaluationBanner, Spinner } from './components/common.js';
import { PolicyErrorScreen, PolicyNoticeBanner } from './components/PolicyScreens.js';
import { SiemStatusBar } from './components/SiemStatusBar.js';
import { Workspace } from './components/Workspace.js';
import { bridgeAvailable, call, on, type ErrorInfo } from './enclave.js';
import { useStrings } from './i18n/index.js';
import { DisplaySettings } from './shell/DisplaySettings.js';
import { ShortcutSheet } from './shell/ShortcutSheet.js';
import { SkipLink, useShellCommands, usePersonPreferences } from './shell/useShell.js';

/** Reports keyboard, pointer and wheel activity (activity.ts: throttled, with a trailing report saying how long ago) while the session is active. */
function useActivityReporting(active: boolean) {
  useEffect(() => {
    if (!active) return;
    const reporter = new ActivityReporter({
      now: Date.now,
      setTimer: (callback, ms) => window.setTimeout(callback, ms),
      clearTimer: (timer) => window.clearTimeout(timer),
      send: (idleForMs) => void call('app.activity', { idleForMs }),
    });
    const onActivity = () => reporter.activity();
    window.addEventListener('keydown', onActivity, true);
    window.addEventListener('pointerdown', onActivity, true);
    // Scrolling to read (a long answer, the acceptable-use statement) is activity too.
    window.addEventListener('wheel', onActivity, { capture: true, passive: true });
    return () => {
      window.removeEventListener('keydown', onActivity, true);
      window.removeEventListener('pointerdown', onActivity, true);
      window.removeEventListener('wheel', onActivity, true);
      reporter.stop();
    };
  }, [active]);
}

export function App() {
  const { t } = useStrings('shell');
  const [status, setStatus] = useState<AppStatus | null>(null);
  const [error, setError] = useState<ErrorInfo | null>(null);
  // Remembered across a lock so unlocking returns to the same session.
  const [selectedSessionId, setSelectedSessionId] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    const result = await call('app.status', {});
    if (result.ok) {
      setStatus(result.output);
      setError(null);
      if (result.output.session.state === 'signed-out') setSelectedSessionId(null);
    } else setError(result.error);
  }, []);

  const applySession = useCallback(
    (session: SessionState) => {
      setStatus((prev) => (prev ? { ...prev, session } : prev));
      if (session.state === 'signed-out') setSelectedSessionId(null);
      // needsFirstAccount and friends may have changed with it.
      void refresh();
    },
    [refresh],
  );

  useEffect(() => {
    void refresh();
    // The core also locks by itself (idle) and signs out; follow it. A policy
    // change can alter the mode, the limits, or lock Enclave for a policy error.
    const offSession = on('session.changed', applySession);
    const offPolicy = on('policy.changed', () => void refresh());
    return () => {
      offSession();
      offPolicy();
    };
  }, [refresh, applySession]);

  const onStaleSession = useCallback(() => void refresh(), [refresh]);

  useActivityReporting(status?.session.state === 'active');
  // The shell: the person's text size and theme, the shortcuts, and its two dialogs.
  const sessionState = status?.session.state;
  usePersonPreferences(sessionState === 'signed-out' || !status ? null : status.session.user.id);
  const [dialog, setDialog] = useState<'display' | 'shortcuts' | null>(null);
  useShellCommands(setDialog);

  const evaluation = status?.mode === 'evaluation';
  let screen;
  let showsWorkspace = false;
  if (!bridgeAvailable()) {
    screen = (
      <div className="center-screen">
        <ErrorAlert error={{ code: 'internal', message: t('app.bridgeMissing') }} />
      </div>
    );
  } else if (!status) {
    screen = (
      <div className="center-screen">
        {error ? (
          <>
            <ErrorAlert error={error} title={t('app.cannotStart')} />
            <button type="button" className="btn btn-secondary" onClick={() => void refresh()}>
              {t('app.tryAgain')}
            </button>
          </>
        ) : (
          <p className="muted">
            <Spinner /> {t('app.starting')}
          </p>
        )}
      </div>
    );
  } else if (status.policy.state === 'error') {
    screen = <PolicyErrorScreen status={status} />;
  } else {
    const session = status.session;
    if (session.state === 'signed-out') {
      screen = status.needsFirstAccount ? (
        <FirstRunScreen institution={status.institution} onSession={applySession} />
      ) : (
        <SignInScreen institution={status.institution} onSession={applySession} evaluation={evaluation} breakGlassEnabled={status.breakGlassEnabled} />
      );
    } else if (session.state === 'locked') {
      screen = <LockScreen institution={status.institution} user={session.user} lockedAt={session.lockedAt} reason={session.reason} onSession={applySession} />;
    } else if (session.attestation) {
      // Policy's acceptable-use statement comes first: until it is answered the core refuses everything else.
      screen = <AttestationScreen institution={status.institution} user={session.user} attestation={session.attestation} onSession={applySession} />;
    } else if (session.chatKeys?.recoveryPending) {
      // The password changed in AD: asked once, before anything else, what becomes of the earlier chats.
      screen = <ChatKeyRecoveryScreen institution={status.institution} user={session.user} onSession={applySession} />;
    } else {
      showsWorkspace = true;
      screen = (
        <Workspace
          key={session.user.id}
          status={status}
          user={session.user}
          selectedSessionId={selectedSessionId}
          onSelectSession={setSelectedSessionId}
          onSession={applySession}
          onStaleSession={onStaleSession}
          onOpenDialog={setDialog}
        />
      );
    }
  }

  return (
    <div className="app">
      {/* Its target, the workspace's main (#main), is there only while the workspace is the screen. */}
      {showsWorkspace ? <SkipLink /> : null}
      {evaluation ? <EvaluationBanner /> : null}
      {status ? <PolicyNoticeBanner policy={status.policy} /> : null}
      {status && status.session.state !== 'signed-out' && status.session.breakGlass ? <BreakGlassBanner breakGlass={status.session.breakGlass} /> : null}
      {status?.session.state === 'active' && !status.session.chatKeys?.recoveryPending ? <ChatKeyBanner chatKeys={status.session.chatKeys} /> : null}
      <div className="app-body">{screen}</div>
      {status ? (
        <footer className="app-footer">
          {/* Where the audit goes, for everyone signed in; the core allows siem.status to every role. */}
          {status.session.state === 'active' && !status.session.attestation ? <SiemStatusBar key={status.session.user.id} /> : <span className="app-footer-main">{t('app.footerReassurance')}</span>}
          <span className="app-footer-meta">{t('app.version', { version: status.version })}</span>
          <span className="app-footer-meta" title={status.policySource}>
            {t('app.policy', { source: status.policySource })}
          </span>
        </footer>
      ) : null}
      {dialog === 'display' ? <DisplaySettings kept={sessionState === 'active' || sessionState === 'locked'} onClose={() => setDialog(null)} /> : null}
      {dialog === 'shortcuts' ? <ShortcutSheet onClose={() => setDialog(null)} /> : null}
    </div>
  );
}
