// Reading the chat store from components: a slice through a selector, and the
// live answer's text (told at most once per animation frame).
import { createContext, useContext, useSyncExternalStore } from 'react';
import type { ChatState, ChatStore } from './chat-store.js';

export const ChatStoreContext = createContext<ChatStore | null>(null);

export function useChatStore(): ChatStore {
  const store = useContext(ChatStoreContext);
  if (!store) throw new Error('useChatStore outside the chat workspace');
  return store;
}

/** A slice of the chat state; the component re-renders only when the slice changes (Object.is), so select stored values, not new objects. */
export function useChat<T>(selector: (state: ChatState) => T): T {
  const store = useChatStore();
  return useSyncExternalStore(store.subscribe, () => selector(store.getState()));
}

/** What has streamed of an answer so far. */
export function useLiveText(responseId: string | null): string {
  const store = useChatStore();
  return useSyncExternalStore(store.subscribeStreams, () => store.streamText(responseId));
}
