// Shown when the policy names no model yet: in evaluation mode an
// administrator may point at a local GGUF file or generate the test model.
import { useState, type FormEvent } from 'react';
import type { EventPayload, InferenceStatus, ModelSummary } from '../../../shared/api.js';
import { call, type ErrorInfo } from '../enclave.js';
import { ErrorAlert, Spinner, TextField } from './common.js';
import { hashProgress, percent } from './inference-format.js';

export type ModelLoadingEvent = EventPayload<'model.loading'>;

const PHASE_TEXT: Record<ModelLoadingEvent['phase'], string> = {
  verifying: 'Checking model file…',
  loading: 'Loading the model…',
  ready: 'Model ready.',
  failed: 'The model failed to load.',
};

/**
 * The latest model.loading event (or a model file being checked), as a live
 * status line with its progress. The core's 'verifying' event carries no
 * progress of its own: the file's hash progress comes from model.status.
 */
export function ModelLoadingStatus({ event, models, className }: { event: ModelLoadingEvent | null; models?: readonly ModelSummary[]; className?: string }) {
  if (!event) return null;
  const busy = event.phase === 'verifying' || event.phase === 'loading';
  const progress = event.phase === 'verifying' ? (event.progress ?? hashProgress(models ?? [], event.modelId)) : event.phase === 'loading' ? event.progress : null;
  const done = percent(progress);
  return (
    <div role="status" aria-label="Model loading" className={`model-loading model-loading-${event.phase} ${className ?? ''}`}>
      {busy ? <Spinner /> : <span className="model-loading-dot" aria-hidden="true" />}
      <span>
        {PHASE_TEXT[event.phase]}
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

  if (!inference.allowUserModels || !isAdmin) {
    return (
      <div className="setup-screen">
        <section className="panel setup-panel" aria-labelledby="setup-title">
          <h1 id="setup-title">No model is configured</h1>
          <p>
            {inference.allowUserModels
              ? 'An administrator must choose the model for this workstation before Enclave can be used.'
              : `The policy (${policySource}) lists no model this workstation may load. Ask IT to deploy one.`}
          </p>
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
    if (result.ok) onConfigured();
    else setFileError(result.error);
  }

  async function createTestModel() {
    setBusy('test');
    setTestError(null);
    const result = await call('model.createTestModel', {});
    setBusy(null);
    if (result.ok) onConfigured();
    else setTestError(result.error);
  }

  return (
    <div className="setup-screen">
      <section className="panel setup-panel" aria-labelledby="setup-title">
        <h1 id="setup-title">Choose a model</h1>
        <p className="muted">
          No model is configured yet. In evaluation mode you can use a GGUF file on this workstation or generate a small test model. Enclave records the file's SHA-256 and refuses to load it if the
          file changes.
        </p>

        <div className="setup-options">
          <form className="setup-option" onSubmit={addFile} aria-labelledby="setup-file-title">
            <h2 id="setup-file-title">Use a model file</h2>
            <TextField
              label="GGUF file path"
              value={path}
              onChange={(e) => setPath(e.target.value)}
              placeholder="/path/to/model.gguf"
              spellCheck={false}
              autoComplete="off"
              hint="The full path of a .gguf file readable by this user."
            />
            <ErrorAlert error={fileError} />
            <button type="submit" className="btn btn-primary" disabled={busy !== null || path.trim() === ''}>
              {busy === 'file' ? 'Checking the file…' : 'Add model file'}
            </button>
          </form>

          <div className="setup-option" role="group" aria-labelledby="setup-test-title">
            <h2 id="setup-test-title">Generate a test model</h2>
            <p>Creates a tiny model in the real GGUF format so you can try every screen without a real model.</p>
            <p className="note note-warning">
              The test model has <strong>random weights: its output is noise</strong>, not language and never medical information.
            </p>
            <ErrorAlert error={testError} />
            <button type="button" className="btn btn-secondary" onClick={createTestModel} disabled={busy !== null}>
              {busy === 'test' ? 'Generating test model…' : 'Generate test model'}
            </button>
          </div>
        </div>
        <ModelLoadingStatus event={loading} models={inference.models} className="setup-loading" />
      </section>
    </div>
  );
}
