// The prompt box: grows with its text up to a limit, Enter sends, and Stop
// takes Send's place while the session's answer is under way.
import { useEffect, useId, useLayoutEffect, type FormEvent, type KeyboardEvent, type RefObject } from 'react';
import { formatNumber } from '../../format.js';
import { useStrings } from '../../i18n/index.js';
import { useChat, useChatStore } from './use-chat.js';

interface ComposerProps {
  maxChars: number;
  generating: boolean;
  sending: boolean;
  stopping: boolean;
  busyElsewhere: boolean;
  textareaRef: RefObject<HTMLTextAreaElement | null>;
}

/** The box grows with its text to this share of the window's height, then scrolls. */
const MAX_HEIGHT_SHARE = 0.3;

export function Composer({ maxChars, generating, sending, stopping, busyElsewhere, textareaRef }: ComposerProps) {
  const { t } = useStrings('chat');
  const store = useChatStore();
  const draft = useChat((s) => s.draft);
  const focusPending = useChat((s) => s.promptFocusPending);
  const id = useId();
  const countId = useId();
  const over = draft.length > maxChars;

  useLayoutEffect(() => {
    const box = textareaRef.current;
    if (!box) return;
    box.style.height = 'auto';
    const limit = Math.max(48, window.innerHeight * MAX_HEIGHT_SHARE);
    box.style.height = `${Math.min(box.scrollHeight + 2, limit)}px`;
  }, [draft, textareaRef]);

  useEffect(() => {
    if (!focusPending) return;
    textareaRef.current?.focus();
    store.promptFocused();
  }, [focusPending, store, textareaRef]);

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    // Enter sends, Shift+Enter is a new line; never while an IME is composing.
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      if (!generating) void store.send();
    }
  }

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    void store.send();
  }

  return (
    <form className="composer" onSubmit={onSubmit}>
      <label htmlFor={id} className="visually-hidden">
        {t('prompt')}
      </label>
      <textarea
        id={id}
        ref={textareaRef}
        className={over ? 'is-over' : undefined}
        value={draft}
        onChange={(e) => store.setDraft(e.target.value)}
        onKeyDown={onKeyDown}
        placeholder={t('promptPlaceholder')}
        rows={1}
        readOnly={sending}
        aria-describedby={countId}
        aria-invalid={over || undefined}
      />
      <div className="composer-bar">
        <span id={countId} className={`char-count ${over ? 'is-over' : ''}`}>
          {t('charCount', { chars: formatNumber(draft.length), max: formatNumber(maxChars) })}
          {over ? t('charsOver', { over: formatNumber(draft.length - maxChars) }) : ''}
        </span>
        <span className="composer-hint">{busyElsewhere && !generating ? t('busyElsewhere') : t('sendHint')}</span>
        {generating ? (
          <button type="button" className="btn btn-danger" onClick={() => void store.stop()} disabled={stopping}>
            {stopping ? t('stopping') : t('stop')}
          </button>
        ) : (
          <button type="submit" className="btn btn-primary" disabled={sending || draft.trim() === ''}>
            {t('send')}
          </button>
        )}
      </div>
    </form>
  );
}
