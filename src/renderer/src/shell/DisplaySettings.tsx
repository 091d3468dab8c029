// The display settings: text size (the same steps as the zoom keys) and theme,
// applied at once and kept with the person's account.
import { useId } from 'react';
import { useStrings } from '../i18n/index.js';
import { changeTextScale, TEXT_SCALE_MAX, TEXT_SCALE_MIN, updatePreferences, usePreferences, type Theme } from './display.js';
import { ShellDialog } from './ShellDialog.js';

const THEMES: readonly Theme[] = ['system', 'light', 'dark'];
const THEME_LABEL = { system: 'display.themeSystem', light: 'display.themeLight', dark: 'display.themeDark' } as const;

export function DisplaySettings({ kept, onClose }: { kept: boolean; onClose(): void }) {
  const { t } = useStrings('shell');
  const prefs = usePreferences();
  const sizeId = useId();
  return (
    <ShellDialog titleId="display-title" title={t('display.title')} closeLabel={t('display.close')} onClose={onClose}>
      <div className="display-row" role="group" aria-labelledby={`${sizeId}-label`}>
        <span id={`${sizeId}-label`} className="field-label">
          {t('display.textSize')}
        </span>
        <div className="display-size">
          <button type="button" className="btn btn-secondary btn-small" onClick={() => changeTextScale(-1)} disabled={prefs.textScale <= TEXT_SCALE_MIN}>
            {t('display.smaller')}
          </button>
          <output className="display-size-value" aria-live="polite">
            {t('display.textSizeValue', { percent: prefs.textScale })}
          </output>
          <button type="button" className="btn btn-secondary btn-small" onClick={() => changeTextScale(1)} disabled={prefs.textScale >= TEXT_SCALE_MAX}>
            {t('display.larger')}
          </button>
          <button type="button" className="btn btn-ghost btn-small" onClick={() => changeTextScale(0)} disabled={prefs.textScale === 100}>
            {t('display.reset')}
          </button>
        </div>
      </div>
      <fieldset className="display-row display-theme">
        <legend className="field-label">{t('display.theme')}</legend>
        {THEMES.map((theme) => (
          <label key={theme} className="display-choice">
            <input type="radio" name="theme" value={theme} checked={prefs.theme === theme} onChange={() => void updatePreferences({ theme })} />
            {t(THEME_LABEL[theme])}
          </label>
        ))}
      </fieldset>
      <p className="muted">{kept ? t('display.kept') : t('display.notKept')}</p>
    </ShellDialog>
  );
}
