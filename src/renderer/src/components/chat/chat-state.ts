// What the chat screen keeps of the core's sessions while it is open.
import type { ChatMessage, ChatSessionSummary, EventPayload } from '../../../../shared/api.js';

export type ChatDone = EventPayload<'chat.done'>;

export interface Conversation {
  session: ChatSessionSummary;
  messages: ChatMessage[];
}

/** A session's answer under way (waiting or being written); ids are null until chat.send resolves. */
export interface Generation {
  sessionId: string;
  promptText: string;
  promptId: string | null;
  responseId: string | null;
  startedAt: number;
  stopping: boolean;
}

export function upsert(messages: ChatMessage[], message: ChatMessage): ChatMessage[] {
  const index = messages.findIndex((m) => m.id === message.id);
  if (index === -1) return [...messages, message];
  const copy = messages.slice();
  copy[index] = message;
  return copy;
}
