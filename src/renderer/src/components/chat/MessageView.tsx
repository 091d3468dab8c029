// One message of the conversation (memoised: a streamed token does not
// re-render it), its actions, and the answer still being written.
import { memo, useCallback, useId, useRef, useState } from 'react';
import type { ChatMessage, ModelSummary } from '../../../../shared/api.js';
import type { ErrorInfo } from '../../enclave.js';
import { shortTime } from '../../format.js';
import { useStrings } from '../../i18n/index.js';
import { ErrorAlert, Spinner } from '../common.js';
import { waitingText } from '../inference-format.js';
import { MarkdownView, StreamingMarkdownView } from '../Markdown.js';
import { ModelLoadingStatus, type ModelLoadingEvent } from '../ModelSetup.js';
import type { CopyPart } from './chat-store.js';
import type { Generation } from './chat-state.js';
import { ReportDialog } from './ReportDialog.js';
import { useChatStore, useLiveText } from './use-chat.js';

export interface MessageViewProps {
  message: ChatMessage;
  /** Its number among the prompts or among the answers, from 1. */
  number: number;
  author: string;
  /** The session's last prompt (it can be edited) or last answer (it can be written again). */
  isLast: boolean;
  /** No answer is under way in the session and it has not ended: regenerate and edit can run. */
  canChange: boolean;
  /** Policy lets answers of the session's workload be copied. */
  copyAllowed: boolean;
}

/** Copies through the core (which audits it and may refuse), then to the clipboard. */
function useCopy(messageId: string) {
  const store = useChatStore();
  const { t } = useStrings('chat');
  const [state, setState] = useState<{ copied: CopyPart | null; error: ErrorInfo | null }>({ copied: null, error: null });
  const copy = useCallback(
    async (part: CopyPart, text: string) => {
      const refusal = await store.requestCopy(messageId, part, text);
      if (refusal) return setState({ copied: null, error: refusal });
      try {
        await navigator.clipboard.writeText(text);
        setState({ copied: part, error: null });
      } catch (cause) {
        setState({ copied: null, error: { code: 'internal', message: t('clipboardFailed', { detail: cause instanceof Error ? cause.message : String(cause) }) } });
      }
    },
    [store, messageId, t],
  );
  return { ...state, copy };
}

export const MessageView = memo(function MessageView({ message, number, author, isLast, canChange, copyAllowed }: MessageViewProps) {
  const { t } = useStrings('chat');
  const isUser = message.role === 'user';
  const time = shortTime(message.createdAt);
  const label = isUser ? t('promptLabel', { number, time }) : t('answerLabel', { number, time });
  const { copied, error, copy } = useCopy(message.id);
  const onCopyCode = useCallback((text: string) => void copy('code-block', text), [copy]);
  const store = useChatStore();
  const [editing, setEditing] = useState(false);
  const editButton = useRef<HTMLButtonElement>(null);

  return (
    // tabIndex -1: a search result brings the message into view and focus.
    <article className={`message ${isUser ? 'message-user' : 'message-assistant'} message-${message.status}`} aria-label={label} data-message-id={message.id} tabIndex={-1}>
      <div className="message-meta">
        <span className="message-author">{author}</span>
        <time dateTime={new Date(message.createdAt).toISOString()}>{time}</time>
        {message.status === 'cancelled' ? <span className="tag tag-warning">{t('stopped')}</span> : null}
        {message.status === 'failed' ? <span className="tag tag-error">{t('failed')}</span> : null}
      </div>
      <div className="message-body">
        {isUser ? (
          editing ? (
            <PromptEditor
              message={message}
              onDone={(sent) => {
                setEditing(false);
                // Sent: the Edit button goes while the answer is written, so focus goes to the prompt box (where Escape stops it).
                if (sent) store.focusPrompt();
                else requestAnimationFrame(() => editButton.current?.focus());
              }}
            />
          ) : (
            <p className="plain-text">{message.content}</p>
          )
        ) : message.content ? (
          <MarkdownView text={message.content} onCopyCode={copyAllowed ? onCopyCode : undefined} />
        ) : (
          <p className="muted">{message.status === 'cancelled' ? t('stoppedBeforeText') : t('noText')}</p>
        )}
      </div>
      {isUser ? (
        isLast && canChange && !editing ? (
          <div className="message-actions">
            <button type="button" className="btn btn-ghost btn-small" ref={editButton} onClick={() => setEditing(true)}>
              {t('editPrompt')}
            </button>
          </div>
        ) : null
      ) : (
        <AnswerActions message={message} number={number} isLast={isLast} canChange={canChange} copyAllowed={copyAllowed} onCopy={() => void copy('answer', message.content)} />
      )}
      {copied ? (
        <p className="message-copied" role="status">
          {copied === 'code-block' ? t('codeCopied') : t('answerCopied')}
        </p>
      ) : null}
      <ErrorAlert error={error} />
    </article>
  );
});

function AnswerActions({
  message,
  number,
  isLast,
  canChange,
  copyAllowed,
  onCopy,
}: {
  message: ChatMessage;
  number: number;
  isLast: boolean;
  canChange: boolean;
  copyAllowed: boolean;
  onCopy(): void;
}) {
  const { t } = useStrings('chat');
  const store = useChatStore();
  const [reporting, setReporting] = useState(false);
  const reportButton = useRef<HTMLButtonElement>(null);
  return (
    <div className="message-actions" role="group" aria-label={t('answerActions', { number })}>
      {copyAllowed && message.content ? (
        <button type="button" className="btn btn-ghost btn-small" onClick={onCopy}>
          {t('copyAnswer')}
        </button>
      ) : null}
      {isLast && canChange ? (
        <button
          type="button"
          className="btn btn-ghost btn-small"
          onClick={() => {
            // The button goes while the answer is written: focus goes to the prompt box (where Escape stops it).
            store.focusPrompt();
            void store.regenerate();
          }}
        >
          {t('regenerate')}
        </button>
      ) : null}
      <button type="button" className="btn btn-ghost btn-small" ref={reportButton} onClick={() => setReporting(true)}>
        {t('reportProblem')}
      </button>
      {reporting ? (
        <ReportDialog
          messageId={message.id}
          onClose={() => {
            setReporting(false);
            reportButton.current?.focus();
          }}
        />
      ) : null}
    </div>
  );
}

/** The last prompt, edited in place and sent again (Enter sends, Escape cancels). */
function PromptEditor({ message, onDone }: { message: ChatMessage; onDone(sent: boolean): void }) {
  const { t } = useStrings('chat');
  const store = useChatStore();
  const id = useId();
  const [text, setText] = useState(message.content);
  const [busy, setBusy] = useState(false);
  async function save() {
    if (text.trim() === '' || busy) return;
    setBusy(true);
    const ok = await store.editLastPrompt(message.id, text);
    setBusy(false);
    if (ok) onDone(true);
  }
  return (
    <form
      className="prompt-editor"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <label htmlFor={id} className="field-label">
        {t('editPromptLabel')}
      </label>
      <textarea
        id={id}
        value={text}
        autoFocus
        rows={3}
        readOnly={busy}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.preventDefault();
            e.stopPropagation();
            onDone(false);
          } else if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
            e.preventDefault();
            void save();
          }
        }}
      />
      <div className="prompt-editor-bar">
        <button type="submit" className="btn btn-primary btn-small" disabled={busy || text.trim() === ''}>
          {t('saveAndResend')}
        </button>
        <button type="button" className="btn btn-ghost btn-small" onClick={() => onDone(false)} disabled={busy}>
          {t('cancel')}
        </button>
      </div>
    </form>
  );
}

interface PendingAnswerProps {
  generation: Generation;
  /** The number the answer will have. */
  number: number;
  /** Answers ahead of this one in the core's queue; null once it is being written. */
  ahead: number | null;
  loading: ModelLoadingEvent | null;
  models: readonly ModelSummary[];
  userName: string;
  modelName: string;
}

/** The prompt until the core gives its id, and the answer as it streams in (or waits its turn). */
export function PendingAnswer({ generation, number, ahead, loading, models, userName, modelName }: PendingAnswerProps) {
  const { t } = useStrings('chat');
  // Re-rendered at most once per frame while tokens arrive: the only component that is.
  const liveText = useLiveText(generation.responseId);
  return (
    <>
      {generation.promptId === null ? (
        <article className="message message-user" aria-label={t('promptPending')}>
          <div className="message-meta">
            <span className="message-author">{userName}</span>
          </div>
          <div className="message-body">
            <p className="plain-text">{generation.promptText}</p>
          </div>
        </article>
      ) : null}
      <article className={`message message-assistant is-streaming ${ahead !== null ? 'is-queued' : ''}`} aria-label={t('answerPending', { number })} aria-busy="true">
        <div className="message-meta">
          <span className="message-author">{modelName}</span>
          <span className="tag tag-info">{generation.stopping ? t('stopping') : ahead !== null ? t('waiting') : t('generating')}</span>
        </div>
        <div className="message-body">
          {liveText ? (
            <StreamingMarkdownView text={liveText} />
          ) : (
            // One label for every placeholder, so "no answer text yet" is one thing to look for.
            <div className="typing" role="status" aria-label={t('waitingForAnswer')}>
              <Spinner /> <span>{ahead !== null ? waitingText(ahead) : generation.responseId ? t('waitingFirstWords') : t('sending')}</span>
            </div>
          )}
          {/* The load belongs to the answer being written, not to one still waiting. */}
          {ahead === null && loading && (loading.phase === 'verifying' || loading.phase === 'loading') ? <ModelLoadingStatus event={loading} models={models} /> : null}
        </div>
      </article>
    </>
  );
}
