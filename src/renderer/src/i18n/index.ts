// Every string the UI shows comes from the catalog in ./en (one module per
// screen area, an i18next namespace each), so a translation is a new folder
// beside en/ and a hard-coded string is a bug the pseudo-locale shows.
// i18next (with react-i18next) rather than our own lookup: plurals, nesting
// and interpolation are its job, and it is the most used React i18n library.
// Dates and numbers are formatted in the user's locale (the OS's, as Chromium
// reports it), whatever language the strings are in.
import i18next from 'i18next';
import { initReactI18next, useTranslation } from 'react-i18next';
import { en } from './en/index.js';
import { PSEUDO_LOCALE, pseudoCatalog } from './pseudo.js';

export const DEFAULT_NAMESPACE = 'common';
export type Namespace = keyof typeof en;

declare module 'i18next' {
  interface CustomTypeOptions {
    defaultNS: typeof DEFAULT_NAMESPACE;
    resources: typeof en;
  }
}

/**
 * The language of the strings: English is the only catalog today. A build
 * with VITE_ENCLAVE_LOCALE=en-XA (npm run build:pseudo) shows the
 * pseudo-locale instead (./pseudo.ts). It is fixed when the renderer is built:
 * nothing at run time (URL, storage, IPC) can change it.
 */
export const UI_LANGUAGE: string = import.meta.env['VITE_ENCLAVE_LOCALE'] === PSEUDO_LOCALE ? PSEUDO_LOCALE : 'en';

void i18next.use(initReactI18next).init({
  lng: UI_LANGUAGE,
  fallbackLng: 'en',
  ns: Object.keys(en),
  defaultNS: DEFAULT_NAMESPACE,
  resources: UI_LANGUAGE === PSEUDO_LOCALE ? { [PSEUDO_LOCALE]: pseudoCatalog(en) } : { en },
  // React escapes what it renders; escaping here too would show &amp; to the user.
  interpolation: { escapeValue: false },
  returnNull: false,
  initAsync: false,
});

export const i18n = i18next;

/** The strings of one area, e.g. `const { t } = useStrings('chat')`. */
export function useStrings<N extends Namespace>(namespace: N) {
  return useTranslation(namespace);
}

/** Outside React (hooks' error texts, formatters): the same catalog. */
export const t = i18next.t.bind(i18next);
