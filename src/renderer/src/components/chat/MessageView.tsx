// One message of the conversation, and the answer still being written.
import type { ChatMessage, ModelSummary, User } from '../../../../shared/api.js';
import { shortTime } from '../../format.js';
import { Spinner } from '../common.js';
import { waitingText } from '../inference-format.js';
import { MarkdownView } from '../Markdown.js';
import { ModelLoadingStatus, type ModelLoadingEvent } from '../ModelSetup.js';
import type { Generation } from './chat-state.js';

export function MessageView({ message, user, model }: { message: ChatMessage; user: User; model: ModelSummary | null }) {
  const isUser = message.role === 'user';
  return (
    <article className={`message ${isUser ? 'message-user' : 'message-assistant'} message-${message.status}`} aria-label={isUser ? 'Prompt' : 'Answer'}>
      <div className="message-meta">
        <span className="message-author">{isUser ? user.displayName : (model?.name ?? 'Model')}</span>
        <time dateTime={new Date(message.createdAt).toISOString()}>{shortTime(message.createdAt)}</time>
        {message.status === 'cancelled' ? <span className="tag tag-warning">Stopped</span> : null}
        {message.status === 'failed' ? <span className="tag tag-error">Failed</span> : null}
      </div>
      <div className="message-body">
        {isUser ? (
          <p className="plain-text">{message.content}</p>
        ) : message.content ? (
          <MarkdownView text={message.content} />
        ) : (
          <p className="muted">{message.status === 'cancelled' ? 'Stopped before any text.' : '(no text)'}</p>
        )}
      </div>
    </article>
  );
}

interface PendingAnswerProps {
  generation: Generation;
  /** What has streamed of the answer so far. */
  liveText: string;
  /** Answers ahead of this one in the core's queue; null once it is being written. */
  ahead: number | null;
  loading: ModelLoadingEvent | null;
  models: readonly ModelSummary[];
  user: User;
  model: ModelSummary | null;
}

/** The prompt until chat.send gives its id, and the answer as it streams in (or waits its turn). */
export function PendingAnswer({ generation, liveText, ahead: aheadHere, loading, models, user, model: sessionModel }: PendingAnswerProps) {
  return (
    <>
      {generation.promptId === null ? (
        <MessageView
          message={{ id: 'pending-prompt', role: 'user', content: generation.promptText, status: 'complete', createdAt: generation.startedAt, replyTo: null }}
          user={user}
          model={sessionModel}
        />
      ) : null}
      <article className={`message message-assistant is-streaming ${aheadHere !== null ? 'is-queued' : ''}`} aria-label="Answer" aria-busy="true">
        <div className="message-meta">
          <span className="message-author">{sessionModel?.name ?? 'Model'}</span>
          <span className="tag tag-info">{generation.stopping ? 'Stopping…' : aheadHere !== null ? 'Waiting' : 'Generating…'}</span>
        </div>
        <div className="message-body">
          {liveText ? (
            <MarkdownView text={liveText} />
          ) : (
            // One label for every placeholder, so "no answer text yet" is one thing to look for.
            <div className="typing" role="status" aria-label="Waiting for the answer">
              <Spinner /> <span>{aheadHere !== null ? waitingText(aheadHere) : generation.responseId ? 'Waiting for the first words…' : 'Sending…'}</span>
            </div>
          )}
          {/* The load belongs to the answer being written, not to one still waiting. */}
          {aheadHere === null && loading && (loading.phase === 'verifying' || loading.phase === 'loading') ? <ModelLoadingStatus event={loading} models={models} /> : null}
        </div>
      </article>
    </>
  );
}
