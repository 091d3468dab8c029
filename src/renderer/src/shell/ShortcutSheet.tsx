// The help sheet: the shortcuts that can run now (a command whose screen is not
// showing is left out), as a modal dialog that gives focus back when it closes.
import { Fragment, useSyncExternalStore } from 'react';
import { commandAvailable, subscribeCommands } from '../commands.js';
import { useStrings } from '../i18n/index.js';
import { keyLabel, SHORTCUTS } from './shortcuts.js';
import { useModalDialog } from './useModalDialog.js';

/** A string snapshot (stable between renders) of which commands can run. */
function availableNow(): string {
  return SHORTCUTS.filter((s) => commandAvailable(s.command))
    .map((s) => s.command)
    .join(' ');
}

export function ShortcutSheet({ onClose }: { onClose(): void }) {
  const { t } = useStrings('shell');
  const ref = useModalDialog(onClose);
  const available = useSyncExternalStore(subscribeCommands, availableNow).split(' ');
  const shown = SHORTCUTS.filter((s) => available.includes(s.command));
  return (
    <dialog ref={ref} className="shell-dialog" aria-labelledby="shortcuts-title">
      <div className="shell-dialog-header">
        <h2 id="shortcuts-title">{t('shortcuts.title')}</h2>
        <button type="button" className="btn btn-secondary btn-small" onClick={onClose}>
          {t('shortcuts.close')}
        </button>
      </div>
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
    </dialog>
  );
}
