// What the renderer build (Vite) puts in import.meta.env: only VITE_-prefixed variables, fixed at build time.
interface ImportMetaEnv {
  /** 'en-XA' builds the pseudo-locale (i18n/pseudo.ts); anything else, or nothing, English. */
  readonly VITE_ENCLAVE_LOCALE?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
