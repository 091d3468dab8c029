// Shown when the policy names no model yet: in evaluation mode an
// administrator may point at a local GGUF file or generate the test model.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Trans } from 'react-i18next';
import type { EventPayload, InferenceStatus, ModelSummary } from '../../../shared/api.js';
import { call, type ErrorInfo } from '../enclave.js';
import { runCommand, subscribeCommands } from '../commands.js';
import { useStrings } from '../i18n/index.js';
import { ErrorAlert, Spinner, TextField } from './common.js';
import { hashProgress, percent } from './inference-format.js';

export type ModelLoadingEvent = EventPayload<'model.loading'>;

/**
 * Once a model is configured this screen gives way to the chat: focus goes to
 * the prompt as soon as the chat registers "focus prompt" (commands.ts), not
 * to the page body. Gives up after a while (no chat for this person's roles).
 */
function focusPromptWhenReady(): void {
  if (runCommand('chat.focusPrompt')) return;
  const stop = subscribeCommands(() => {
    if (runCommand('chat.focusPrompt')) done();
  });
  const timer = window.setTimeout(() => done(), 30_000);
  function done() {
    stop();
    window.clearTimeout(timer);
  }
}

/**
 * The latest model.loading event (or a model file being checked), as a live
 * status line with its progress. The core's 'verifying' event carries no
 * progress of its own: the file's hash progress comes from model.status.
 */
export function ModelLoadingStatus({ event, models, className }: { event: ModelLoadingEvent | null; models?: readonly ModelSummary[]; className?: string }) {
  const { t } = useStrings('model');
  if (!event) return null;
  const busy = event.phase === 'verifying' || event.phase === 'loading';
  const progress = event.phase === 'verifying' ? (event.progress ?? hashProgress(models ?? [], event.modelId)) : event.phase === 'loading' ? event.progress : null;
  const done = percent(progress);
  return (
    <div role="status" aria-label={t('loadingLabel')} className={`model-loading model-loading-${event.phase} ${className ?? ''}`}>
      {busy ? <Spinner /> : <span className="model-loading-dot" aria-hidden="true" />}
      <span>
        {t(`phase.${event.phase}`)}
        {done ? <span className="model-loading-percent"> {done}</span> : null}
        {event.message ? ` ${event.message}` : ''}
      </span>
    </div>
  );
}

interface Props {
  inference: InferenceStatus;
  isAdmin: boolean;
  policySource: string;
  loading: ModelLoadingEvent | null;
  onConfigured(): void;
}

export function ModelSetup({ inference, isAdmin, policySource, loading, onConfigured }: Props) {
  const [path, setPath] = useState('');
  const [busy, setBusy] = useState<'file' | 'test' | null>(null);
  const [fileError, setFileError] = useState<ErrorInfo | null>(null);
  const [testError, setTestError] = useState<ErrorInfo | null>(null);
  const { t } = useStrings('model');
  const headingRef = useRef<HTMLHeadingElement>(null);
  // Arriving here (after the first account is made, or when the model goes away), focus starts at the screen's title, not the page body.
  useEffect(() => {
    if (!document.activeElement || document.activeElement === document.body) headingRef.current?.focus();
  }, []);

  if (!inference.allowUserModels || !isAdmin) {
    return (
      <div className="setup-screen">
        <section className="panel setup-panel" aria-labelledby="setup-title">
          <h1 id="setup-title" tabIndex={-1} ref={headingRef}>
            {t('none.title')}
          </h1>
          <p>{inference.allowUserModels ? t('none.admin') : t('none.policy', { source: policySource })}</p>
        </section>
      </div>
    );
  }

  async function addFile(event: FormEvent) {
    event.preventDefault();
    setBusy('file');
    setFileError(null);
    const result = await call('model.addFile', { path: path.trim() });
    setBusy(null);
    if (result.ok) {
      focusPromptWhenReady();
      onConfigured();
    } else setFileError(result.error);
  }

  async function createTestModel() {
    setBusy('test');
    setTestError(null);
    const result = await call('model.createTestModel', {});
    setBusy(null);
    if (result.ok) {
      focusPromptWhenReady();
      onConfigured();
    } else setTestError(result.error);
  }

  return (
    <div className="setup-screen">
      <section className="panel setup-panel" aria-labelledby="setup-title">
        <h1 id="setup-title" tabIndex={-1} ref={headingRef}>
          {t('setup.title')}
        </h1>
        <p className="muted">{t('setup.intro')}</p>

        <div className="setup-options">
          <form className="setup-option" onSubmit={addFile} aria-labelledby="setup-file-title">
            <h2 id="setup-file-title">{t('setup.fileTitle')}</h2>
            <TextField
              label={t('setup.fileLabel')}
              value={path}
              onChange={(e) => setPath(e.target.value)}
              placeholder={t('setup.filePlaceholder')}
              spellCheck={false}
              autoComplete="off"
              hint={t('setup.fileHint')}
            />
            <ErrorAlert error={fileError} />
            <button type="submit" className="btn btn-primary" disabled={busy !== null || path.trim() === ''}>
              {busy === 'file' ? t('setup.fileBusy') : t('setup.fileSubmit')}
            </button>
          </form>

          <div className="setup-option" role="group" aria-labelledby="setup-test-title">
            <h2 id="setup-test-title">{t('setup.testTitle')}</h2>
            <p>{t('setup.testIntro')}</p>
            <p className="note note-warning">
              <Trans t={t} i18nKey="setup.testWarning" components={{ strong: <strong /> }} />
            </p>
            <ErrorAlert error={testError} />
            <button type="button" className="btn btn-secondary" onClick={createTestModel} disabled={busy !== null}>
              {busy === 'test' ? t('setup.testBusy') : t('setup.testSubmit')}
            </button>
          </div>
        </div>
        <ModelLoadingStatus event={loading} models={inference.models} className="setup-loading" />
      </section>
    </div>
  );
}
