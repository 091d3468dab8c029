// The sessions sidebar: new session, the workload it will use, and the list.
import type { ChatSessionSummary, GenerationQueue, ModelSummary, Workload } from '../../../../shared/api.js';
import type { ErrorInfo } from '../../enclave.js';
import { shortTime } from '../../format.js';
import { ErrorAlert, Spinner } from '../common.js';
import { answersAhead } from '../inference-format.js';
import type { Generation } from './chat-state.js';
import { WorkloadPicker } from './WorkloadPicker.js';

interface SessionListProps {
  sessions: ChatSessionSummary[] | null;
  listError: ErrorInfo | null;
  selectedId: string | null;
  generations: ReadonlyMap<string, Generation>;
  queue: GenerationQueue | null;
  workloads: Workload[];
  models: readonly ModelSummary[];
  workload: Workload | null;
  onChooseWorkload(id: string): void;
  creating: boolean;
  onNewSession(): void;
  onSelect(sessionId: string): void;
}

export function SessionList({ sessions, listError, selectedId, generations, queue, workloads, models, workload, onChooseWorkload, creating, onNewSession, onSelect }: SessionListProps) {
  return (
    <nav className="sidebar" aria-label="Sessions">
      <div className="sidebar-header">
        <h2 className="sidebar-title">Sessions</h2>
        <button type="button" className="btn btn-primary btn-small" onClick={onNewSession} disabled={creating}>
          New session
        </button>
      </div>
      <WorkloadPicker workloads={workloads} models={models} value={workload} onChange={onChooseWorkload} disabled={creating} />
      <ErrorAlert error={listError} />
      {sessions === null && !listError ? (
        <p className="sidebar-empty">
          <Spinner /> Loading sessions…
        </p>
      ) : null}
      {sessions && sessions.length === 0 ? <p className="sidebar-empty">No sessions yet. Start one with “New session”.</p> : null}
      {sessions && sessions.length > 0 ? (
        <ul className="session-list">
          {sessions.map((s) => (
            <li key={s.id}>
              <button
                type="button"
                className={`session-item ${s.id === selectedId ? 'is-selected' : ''} ${s.locked ? 'is-locked' : ''}`}
                aria-current={s.id === selectedId ? 'true' : undefined}
                onClick={() => onSelect(s.id)}
              >
                {/* Sealed under a key this sign-in does not hold: no title to show, and opening it says why. */}
                <span className="session-item-title">{s.locked ? 'Locked chat' : s.title || 'Untitled session'}</span>
                <span className="session-item-meta">
                  {s.locked ? <span className="tag">Locked</span> : null}
                  <SessionAnswerTag generation={generations.get(s.id)} queue={queue} />
                  {s.endedAt !== null ? <span className="tag">Ended</span> : null}
                  <time dateTime={new Date(s.updatedAt).toISOString()}>{shortTime(s.updatedAt)}</time>
                </span>
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </nav>
  );
}

/** A session's answer in the sidebar: being written, or waiting for the model. */
function SessionAnswerTag({ generation, queue }: { generation: Generation | undefined; queue: GenerationQueue | null }) {
  if (!generation) return null;
  return answersAhead(queue, generation.responseId) !== null ? <span className="tag">Waiting</span> : <span className="tag tag-info">Answering</span>;
}
