import { useId, type FormEvent, type KeyboardEvent, type RefObject } from 'react';
import { formatNumber } from '../../format.js';

interface ComposerProps {
  draft: string;
  onDraft(text: string): void;
  maxChars: number;
  generating: boolean;
  sending: boolean;
  stopping: boolean;
  busyElsewhere: boolean;
  onSend(): void;
  onStop(): void;
  textareaRef: RefObject<HTMLTextAreaElement | null>;
}

export function Composer({ draft, onDraft, maxChars, generating, sending, stopping, busyElsewhere, onSend, onStop, textareaRef }: ComposerProps) {
  const id = useId();
  const countId = useId();
  const over = draft.length > maxChars;

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    // Enter sends, Shift+Enter is a new line; never while an IME is composing.
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      if (!generating) onSend();
    }
  }

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    onSend();
  }

  return (
    <form className="composer" onSubmit={onSubmit}>
      <label htmlFor={id} className="visually-hidden">
        Prompt
      </label>
      <textarea
        id={id}
        ref={textareaRef}
        className={over ? 'is-over' : undefined}
        value={draft}
        onChange={(e) => onDraft(e.target.value)}
        onKeyDown={onKeyDown}
        placeholder="Type a prompt…"
        rows={3}
        readOnly={sending}
        aria-describedby={countId}
        aria-invalid={over || undefined}
      />
      <div className="composer-bar">
        <span id={countId} className={`char-count ${over ? 'is-over' : ''}`}>
          {formatNumber(draft.length)} / {formatNumber(maxChars)} characters
          {over ? ` — ${formatNumber(draft.length - maxChars)} over the limit` : ''}
        </span>
        <span className="composer-hint">{busyElsewhere && !generating ? 'Another session is answering; yours will wait its turn.' : 'Enter to send · Shift+Enter for a new line'}</span>
        {generating ? (
          <button type="button" className="btn btn-danger" onClick={onStop} disabled={stopping}>
            {stopping ? 'Stopping…' : 'Stop'}
          </button>
        ) : (
          <button type="submit" className="btn btn-primary" disabled={sending || draft.trim() === ''}>
            Send
          </button>
        )}
      </div>
    </form>
  );
}
