import { useEffect, useRef, type RefObject } from 'react';

/**
 * Follows the answer as it grows, unless the user scrolled up to read. A
 * ResizeObserver catches growth (streamed text, a reflow when the audit drawer
 * narrows the pane); `changes` are what may replace the content.
 */
export function useFollowLog(stickToBottom: RefObject<boolean>, hasContent: boolean, changes: readonly unknown[]) {
  const logRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const log = logRef.current;
    if (log && stickToBottom.current) log.scrollTop = log.scrollHeight;
    // eslint-disable-next-line react-hooks/exhaustive-deps -- changes are the triggers, listed by the caller
  }, [stickToBottom, ...changes]);

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
