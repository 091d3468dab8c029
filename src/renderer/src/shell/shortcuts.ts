// The keyboard shortcuts: which keys run which command (commands.ts), one
// table for the key handler and the help sheet, so the sheet cannot list a key
// that does nothing. Keys avoid what Chromium and Electron keep for themselves
// (Ctrl+N/T/W/R, Ctrl+Shift+I/J, F5, F11, F12); Ctrl stands for Cmd on macOS.
import { useEffect } from 'react';
import { runCommand, type CommandName } from '../commands.js';

export interface Shortcut {
  command: CommandName;
  /** Key combinations as shown to people, e.g. ['Ctrl', 'Shift', 'O']; the first is the one the sheet shows first. */
  keys: readonly (readonly string[])[];
  matches(event: KeyboardEvent): boolean;
}

const mod = (event: KeyboardEvent) => (isMac() ? event.metaKey && !event.ctrlKey : event.ctrlKey && !event.metaKey) && !event.altKey;
const plain = (event: KeyboardEvent) => !event.ctrlKey && !event.metaKey && !event.altKey;
const letter = (event: KeyboardEvent, key: string) => event.key.toLowerCase() === key || event.code === `Key${key.toUpperCase()}`;

export function isMac(): boolean {
  return typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);
}

export const SHORTCUTS: readonly Shortcut[] = [
  { command: 'chat.newSession', keys: [['Ctrl', 'Shift', 'O']], matches: (e) => mod(e) && e.shiftKey && letter(e, 'o') },
  {
    command: 'chat.focusPrompt',
    keys: [
      ['Ctrl', '/'],
      ['Shift', 'Esc'],
    ],
    matches: (e) => (mod(e) && !e.shiftKey && e.key === '/') || (plain(e) && e.shiftKey && e.key === 'Escape'),
  },
  { command: 'chat.focusSearch', keys: [['Ctrl', 'K']], matches: (e) => mod(e) && !e.shiftKey && letter(e, 'k') },
  // Escape is also how dialogs and drawers close: those stop it first (they handle it, or it never reaches here while one is open).
  { command: 'chat.stop', keys: [['Esc']], matches: (e) => plain(e) && !e.shiftKey && e.key === 'Escape' },
  { command: 'session.lock', keys: [['Ctrl', 'Shift', 'L']], matches: (e) => mod(e) && e.shiftKey && letter(e, 'l') },
  {
    command: 'view.textLarger',
    keys: [
      ['Ctrl', '+'],
      ['Ctrl', '='],
    ],
    matches: (e) => mod(e) && (e.key === '+' || e.key === '='),
  },
  { command: 'view.textSmaller', keys: [['Ctrl', '-']], matches: (e) => mod(e) && (e.key === '-' || e.key === '_') },
  { command: 'view.textReset', keys: [['Ctrl', '0']], matches: (e) => mod(e) && !e.shiftKey && (e.key === '0' || e.code === 'Digit0') },
  { command: 'help.shortcuts', keys: [['F1'], ['Ctrl', '?']], matches: (e) => (plain(e) && e.key === 'F1') || (mod(e) && e.key === '?') },
];

/** 'Ctrl' is '⌘' on macOS. */
export function keyLabel(key: string): string {
  if (key === 'Ctrl' && isMac()) return '⌘';
  return key;
}

/** Something modal is open (a dialog, or a drawer that closes on Escape): Escape belongs to it. */
function escapeIsTaken(): boolean {
  return document.querySelector('dialog[open], .drawer, [role="dialog"], [role="alertdialog"]') !== null;
}

/** Listens for the shortcuts on the whole window while mounted. */
export function useShortcuts(): void {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.repeat || event.isComposing) return;
      const shortcut = SHORTCUTS.find((s) => s.matches(event));
      if (!shortcut) return;
      if (shortcut.command === 'chat.stop' && escapeIsTaken()) return;
      // Run it if something on screen can; otherwise the key keeps its usual meaning.
      if (runCommand(shortcut.command)) event.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}
