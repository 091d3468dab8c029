// The shell's hooks for App: the signed-in person's display settings, the
// commands the shell itself carries out (text size, the shortcut sheet) with
// the key listener, and the skip link.
import { useEffect } from 'react';
import { registerCommand, runCommand } from '../commands.js';
import { useStrings } from '../i18n/index.js';
import { changeTextScale, loadPreferences, resetPreferences } from './display.js';
import { useShortcuts } from './shortcuts.js';

/** Loads the person's settings when someone is signed in (or locked), back to the defaults when nobody is. */
export function usePersonPreferences(userId: string | null): void {
  useEffect(() => {
    if (userId) void loadPreferences();
    else resetPreferences();
  }, [userId]);
}

export function useShellCommands(openDialog: (kind: 'shortcuts') => void): void {
  useShortcuts();
  useEffect(() => {
    const off = [
      registerCommand('view.textLarger', () => changeTextScale(1)),
      registerCommand('view.textSmaller', () => changeTextScale(-1)),
      registerCommand('view.textReset', () => changeTextScale(0)),
      registerCommand('help.shortcuts', () => openDialog('shortcuts')),
    ];
    return () => off.forEach((unregister) => unregister());
  }, [openDialog]);
}

/** The first thing Tab reaches: straight to the prompt when a chat is open, else to the main content. */
export function SkipLink() {
  const { t } = useStrings('shell');
  return (
    <a
      className="skip-link"
      href="#main"
      onClick={(event) => {
        event.preventDefault();
        // The chat may be on screen without a prompt box (no session open): then main itself.
        if (runCommand('chat.focusPrompt') && document.activeElement?.closest('main')) return;
        const main = document.getElementById('main') ?? document.querySelector('main');
        if (main instanceof HTMLElement) {
          if (!main.hasAttribute('tabindex')) main.tabIndex = -1;
          main.focus();
        }
      }}
    >
      {t('app.skipToMain')}
    </a>
  );
}
