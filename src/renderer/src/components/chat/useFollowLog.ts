import { useEffect, useRef, type RefObject } from 'react';

/**
 * Follows the answer as it grows, unless the user scrolled up to read. A
 * ResizeObserver also catches reflows (the audit drawer narrowing the pane).
 * `changes` are what may have grown the log; `hasContent` says whether it is on screen.
 */
export function useFollowLog(stickToBottom: RefObject<boolean>, hasContent: boolean, changes: { conversation: unknown; liveText: string; generation: unknown }) {
  const logRef = useRef<HTMLDivElement>(null);
  const { conversation, liveText, generation } = changes;

  useEffect(() => {
    const log = logRef.current;
    if (log && stickToBottom.current) log.scrollTop = log.scrollHeight;
  }, [stickToBottom, conversation, liveText, generation]);

  useEffect(() => {
    const log = logRef.current;
    const content = log?.firstElementChild;
    if (!log || !content) return;
    const observer = new ResizeObserver(() => {
      if (stickToBottom.current) log.scrollTop = log.scrollHeight;
    });
    observer.observe(log);
    observer.observe(content);
    return () => observer.disconnect();
  }, [stickToBottom, hasContent]);

  function onLogScroll() {
    const log = logRef.current;
    if (log) stickToBottom.current = log.scrollHeight - log.scrollTop - log.clientHeight < 48;
  }

  return { logRef, onLogScroll };
}
