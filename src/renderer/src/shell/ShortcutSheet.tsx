// The help sheet: the shortcuts that can run now (a command whose screen is not
// showing is left out), as a modal dialog that gives focus back when it closes.
import { Fragment, useSyncExternalStore } from 'react';
import { commandAvailable, subscribeCommands } from '../commands.js';
import { useStrings } from '../i18n/index.js';
import { keyLabel, SHORTCUTS } from './shortcuts.js';
import { ShellDialog } from './ShellDialog.js';

/** A string snapshot (stable between renders) of which commands can run. */
function availableNow(): string {
  return SHORTCUTS.filter((s) => commandAvailable(s.command))
    .map((s) => s.command)
    .join(' ');
}

export function ShortcutSheet({ onClose }: { onClose(): void }) {
  const { t } = useStrings('shell');
  const available = useSyncExternalStore(subscribeCommands, availableNow).split(' ');
  const shown = SHORTCUTS.filter((s) => available.includes(s.command));
  return (
    <ShellDialog titleId="shortcuts-title" title={t('shortcuts.title')} closeLabel={t('shortcuts.close')} onClose={onClose}>
      {shown.length === 0 ? (
        <p>{t('shortcuts.none')}</p>
      ) : (
        <>
          <p className="muted">{t('shortcuts.intro')}</p>
          <dl className="shortcut-list">
            {shown.map((shortcut) => (
              <div key={shortcut.command} className="shortcut-row">
                <dt>{t(`shortcuts.command.${shortcut.command}`)}</dt>
                <dd>
                  {shortcut.keys.map((combo, i) => (
                    <Fragment key={combo.join('+')}>
                      {i > 0 ? <span className="muted"> {t('shortcuts.or')} </span> : null}
                      <span className="shortcut-keys">
                        {combo.map((key, j) => (
                          <Fragment key={key}>
                            {j > 0 ? '+' : null}
                            <kbd>{keyLabel(key)}</kbd>
                          </Fragment>
                        ))}
                      </span>
                    </Fragment>
                  ))}
                </dd>
              </div>
            ))}
          </dl>
        </>
      )}
    </ShellDialog>
  );
}
