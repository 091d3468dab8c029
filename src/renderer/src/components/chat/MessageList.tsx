// The conversation log: the stored messages (memoised) and the answer under
// way. Focusable, so a keyboard can scroll it; it follows the end unless the
// user scrolled up to read, and brings a search result into view.
import { useEffect, type RefObject } from 'react';
import type { ModelSummary } from '../../../../shared/api.js';
import { useStrings } from '../../i18n/index.js';
import type { ModelLoadingEvent } from '../ModelSetup.js';
import { lastPrompt } from './chat-store.js';
import { MessageView, PendingAnswer } from './MessageView.js';
import { useChat, useChatStore } from './use-chat.js';

interface MessageListProps {
  userName: string;
  modelName: string;
  copyAllowed: boolean;
  ended: boolean;
  aheadHere: number | null;
  loading: ModelLoadingEvent | null;
  models: readonly ModelSummary[];
  logRef: RefObject<HTMLDivElement | null>;
  onLogScroll(): void;
}

export function MessageList({ userName, modelName, copyAllowed, ended, aheadHere, loading, models, logRef, onLogScroll }: MessageListProps) {
  const { t } = useStrings('chat');
  const store = useChatStore();
  const conversation = useChat((s) => s.conversation);
  const generation = useChat((s) => (s.selectedId ? (s.generations.get(s.selectedId) ?? null) : null));
  const reveal = useChat((s) => s.reveal);
  const messages = conversation?.messages ?? [];

  useEffect(() => {
    // Once the session asked for is open (a search result's), bring its message into view and focus.
    if (!reveal || conversation?.session.id !== reveal.sessionId) return;
    const target = logRef.current?.querySelector<HTMLElement>(`[data-message-id="${CSS.escape(reveal.messageId)}"]`);
    if (target) {
      store.stickToBottom.current = false;
      target.scrollIntoView({ block: 'center' });
      target.focus({ preventScroll: true });
    }
    store.revealed();
  }, [reveal, conversation, logRef, store]);

  const canChange = generation === null && !ended;
  const lastPromptId = lastPrompt(messages)?.id ?? null;
  const lastAnswerId = [...messages].reverse().find((m) => m.role === 'assistant')?.id ?? null;
  let prompts = 0;
  let answers = 0;
  return (
    // tabIndex 0: the log scrolls, and a keyboard must be able to scroll it.
    <div className="message-log" role="log" aria-label={t('conversation')} ref={logRef} onScroll={onLogScroll} tabIndex={0}>
      <div className="message-stack">
        {messages.length === 0 && !generation ? <p className="log-empty">{t('noMessages')}</p> : null}
        {messages.map((m) => {
          const number = m.role === 'user' ? ++prompts : ++answers;
          return (
            <MessageView
              key={m.id}
              message={m}
              number={number}
              author={m.role === 'user' ? userName : modelName}
              isLast={m.id === (m.role === 'user' ? lastPromptId : lastAnswerId)}
              canChange={canChange}
              copyAllowed={copyAllowed}
            />
          );
        })}
        {generation ? <PendingAnswer generation={generation} number={answers + 1} ahead={aheadHere} loading={loading} models={models} userName={userName} modelName={modelName} /> : null}
      </div>
    </div>
  );
}
