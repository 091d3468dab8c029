// The renderer's Content-Security-Policy. One string, used both as the meta tag
// in src/renderer/index.html and as the response header main adds, so a test can
// check they never drift apart. Pure string: safe to import from any process.

/**
 * Nothing remote, nothing inline, nothing evaluated: model output is untrusted
 * text, and this is the last line if the sanitiser ever lets markup through.
 */
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'";
