// The chat pane: the open session's header, its conversation and the prompt box.
import type { RefObject } from 'react';
import type { ChatSessionSummary, ModelSummary, User } from '../../../../shared/api.js';
import type { ErrorInfo } from '../../enclave.js';
import { fullTime } from '../../format.js';
import { ErrorAlert, Spinner } from '../common.js';
import type { ModelLoadingEvent } from '../ModelSetup.js';
import type { Conversation, Generation } from './chat-state.js';
import { Composer } from './Composer.js';
import { DeleteConfirmation } from './DeleteConfirmation.js';
import { MessageView, PendingAnswer } from './MessageView.js';

interface ConversationPaneProps {
  user: User;
  models: readonly ModelSummary[];
  loading: ModelLoadingEvent | null;
  maxPromptChars: number;
  selectedId: string | null;
  /** The open session as the list last described it; null while none is open. */
  current: ChatSessionSummary | null;
  conversation: Conversation | null;
  openError: ErrorInfo | null;
  /** The open session's answer under way, and what has streamed of it. */
  generation: Generation | null;
  liveText: string;
  /** Its place in the core's queue, while it waits for another session's answer. */
  aheadHere: number | null;
  busyElsewhere: boolean;
  errorHere: ErrorInfo | null;
  currentWorkloadName: string | null;
  /** The model that writes this session's answers. */
  sessionModel: ModelSummary | null;
  creating: boolean;
  deleting: boolean;
  confirmingDelete: string | null;
  onConfirmDelete(sessionId: string | null): void;
  draft: string;
  onDraft(text: string): void;
  onNewSession(): void;
  onEndSession(): void;
  onDeleteSession(sessionId: string): void;
  onSend(): void;
  onStop(): void;
  promptRef: RefObject<HTMLTextAreaElement | null>;
  logRef: RefObject<HTMLDivElement | null>;
  onLogScroll(): void;
}

export function ConversationPane({
  user,
  models,
  loading,
  maxPromptChars,
  selectedId,
  current,
  conversation,
  openError,
  generation,
  liveText,
  aheadHere,
  busyElsewhere,
  errorHere,
  currentWorkloadName,
  sessionModel,
  creating,
  deleting,
  confirmingDelete,
  onConfirmDelete: setConfirmingDelete,
  draft,
  onDraft: setDraft,
  onNewSession,
  onEndSession,
  onDeleteSession,
  onSend,
  onStop,
  promptRef,
  logRef,
  onLogScroll,
}: ConversationPaneProps) {
  const generatingHere = generation !== null;
  return (
    <section className="chat-pane" aria-label="Chat">
      {!current ? (
        <div className="chat-empty">
          {openError ? (
            <ErrorAlert error={openError} />
          ) : selectedId ? (
            <p>
              <Spinner /> Opening session…
            </p>
          ) : (
            <>
              <h2>No session open</h2>
              <p className="muted">Choose a session on the left or start a new one. Each session keeps its own context with the model.</p>
              <button type="button" className="btn btn-primary" onClick={onNewSession} disabled={creating}>
                New session
              </button>
            </>
          )}
        </div>
      ) : (
        <>
          <div className="chat-header">
            <div>
              <h2 className="chat-title">{current.title || 'Untitled session'}</h2>
              <p className="chat-subtitle">
                {currentWorkloadName} · Started {fullTime(current.createdAt)}
                {current.endedAt !== null ? ` · Ended ${fullTime(current.endedAt)}` : ''}
              </p>
            </div>
            <div className="chat-header-actions">
              {current.endedAt === null ? (
                <button type="button" className="btn btn-ghost btn-small" onClick={onEndSession} disabled={generatingHere}>
                  End session
                </button>
              ) : null}
              <button type="button" className="btn btn-ghost btn-small" onClick={() => setConfirmingDelete(current.id)} disabled={deleting || confirmingDelete === current.id}>
                Delete session
              </button>
            </div>
          </div>
          {confirmingDelete === current.id ? (
            <DeleteConfirmation busy={deleting} onConfirm={() => onDeleteSession(current.id)} onCancel={() => setConfirmingDelete(null)} />
          ) : null}
          {sessionModel?.isTestModel ? (
            <p className="note note-warning chat-notice" role="note" aria-label="Test model notice">
              <strong>Test model:</strong> random weights — the answers below are noise, not language or clinical information.
            </p>
          ) : null}
          <div className="message-log" role="log" aria-label="Conversation" ref={logRef} onScroll={onLogScroll}>
            <div className="message-stack">
              {conversation && conversation.messages.length === 0 && !generatingHere ? (
                <p className="log-empty">No messages yet. Type a prompt below.</p>
              ) : null}
              {conversation?.messages.map((m) => (
                <MessageView key={m.id} message={m} user={user} model={sessionModel} />
              ))}
              {generation ? (
                <PendingAnswer generation={generation} liveText={liveText} ahead={aheadHere} loading={loading} models={models} user={user} model={sessionModel} />
              ) : null}
            </div>
          </div>
          <ErrorAlert error={errorHere} />
          {current.endedAt !== null ? (
            <p className="chat-ended">This session has ended; its model context was disposed. Start a new session to continue.</p>
          ) : (
            <Composer
              draft={draft}
              onDraft={setDraft}
              maxChars={maxPromptChars}
              generating={generatingHere}
              sending={generation !== null && generation.responseId === null}
              stopping={generation?.stopping ?? false}
              busyElsewhere={busyElsewhere}
              onSend={onSend}
              onStop={onStop}
              textareaRef={promptRef}
            />
          )}
        </>
      )}
    </section>
  );
}
