// Commands the keyboard shortcuts and the help sheet run, registered by the
// component that can carry them out (the chat registers "new session" while it
// is on screen). The shortcut layer knows keys and names, not components, so
// screens stay independent of each other and a shortcut with nothing to do
// is simply not offered.
export type CommandName = 'chat.newSession' | 'chat.focusPrompt' | 'chat.focusSearch' | 'chat.stop' | 'session.lock' | 'view.textLarger' | 'view.textSmaller' | 'view.textReset' | 'help.shortcuts';

type Handler = () => void;
const handlers = new Map<CommandName, Handler>();
const listeners = new Set<() => void>();

/** Register what a command does while the caller is mounted; returns the unregister function (for a useEffect cleanup). */
export function registerCommand(name: CommandName, handler: Handler): () => void {
  handlers.set(name, handler);
  notify();
  return () => {
    if (handlers.get(name) === handler) {
      handlers.delete(name);
      notify();
    }
  };
}

/** Run a command; false when nothing on screen can carry it out now. */
export function runCommand(name: CommandName): boolean {
  const handler = handlers.get(name);
  if (!handler) return false;
  handler();
  return true;
}

export function commandAvailable(name: CommandName): boolean {
  return handlers.has(name);
}

/** For useSyncExternalStore: the help sheet lists only what can run now. */
export function subscribeCommands(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function notify(): void {
  for (const listener of listeners) listener();
}
