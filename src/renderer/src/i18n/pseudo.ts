// The pseudo-locale (en-XA): every catalog string with its letters accented,
// about a third longer, and wrapped in ⟦ ⟧, so that text which did not come
// from the catalog (hard-coded, or English from elsewhere) stands out on
// screen and in the pseudo-locale e2e spec, and layouts are tried with longer
// text. Placeholders ({{name}}), nesting ($t(key)) and the tags <Trans>
// renders (<strong>) are kept as they are.

export const PSEUDO_LOCALE = 'en-XA';

const ACCENTED: Record<string, string> = {
  a: 'à',
  b: 'ƀ',
  c: 'ç',
  d: 'ð',
  e: 'é',
  f: 'ƒ',
  g: 'ĝ',
  h: 'ĥ',
  i: 'ï',
  j: 'ĵ',
  k: 'ķ',
  l: 'ļ',
  m: 'ɱ',
  n: 'ñ',
  o: 'ö',
  p: 'þ',
  q: 'ǫ',
  r: 'ŕ',
  s: 'š',
  t: 'ţ',
  u: 'û',
  v: 'ṽ',
  w: 'ŵ',
  x: 'ẋ',
  y: 'ý',
  z: 'ž',
  A: 'À',
  B: 'Ɓ',
  C: 'Ç',
  D: 'Ð',
  E: 'É',
  F: 'Ƒ',
  G: 'Ĝ',
  H: 'Ĥ',
  I: 'Ï',
  J: 'Ĵ',
  K: 'Ķ',
  L: 'Ļ',
  M: 'Ṁ',
  N: 'Ñ',
  O: 'Ö',
  P: 'Þ',
  Q: 'Ǫ',
  R: 'Ŕ',
  S: 'Š',
  T: 'Ţ',
  U: 'Û',
  V: 'Ṽ',
  W: 'Ŵ',
  X: 'Ẋ',
  Y: 'Ý',
  Z: 'Ž',
};

/** What is not text: interpolation, nesting and <Trans> tags. */
const KEEP = /(\{\{[^}]*\}\}|\$t\([^)]*\)|<\/?[a-zA-Z0-9]+\s*\/?>)/;

/** One string in the pseudo-locale. */
export function pseudoLocalize(text: string): string {
  let letters = 0;
  const body = text
    .split(KEEP)
    .map((part, i) => {
      if (i % 2 === 1) return part;
      return part.replace(/[A-Za-z]/g, (ch) => {
        letters += 1;
        return ACCENTED[ch] ?? ch;
      });
    })
    .join('');
  // About 30% longer, as German or Finnish often are; the filler is letters no one reads as English.
  const padding = '~'.repeat(Math.ceil(letters * 0.3));
  return `⟦${body}${padding}⟧`;
}

type Catalog = { readonly [key: string]: string | Catalog };

/** A whole catalog (or namespace) in the pseudo-locale, keys unchanged. */
export function pseudoCatalog<T extends Catalog>(catalog: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(catalog)) out[key] = typeof value === 'string' ? pseudoLocalize(value) : pseudoCatalog(value);
  return out as T;
}
