// Dates and numbers follow the user's OS locale (navigator.languages), not the
// language of the strings; the pseudo-locale marks every catalog string and
// keeps placeholders and <Trans> tags intact.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createFormats, formatBytes, formatNumber, fullTime, relativeTime, userLocales } from '../../src/renderer/src/format.js';
import { en } from '../../src/renderer/src/i18n/en/index.js';
import { pseudoCatalog, pseudoLocalize } from '../../src/renderer/src/i18n/pseudo.js';

/** Intl puts narrow and non-breaking spaces where a person reads a space. */
const spaces = (text: string) => text.replace(/[\u00a0\u202f]/g, ' ');

function withLanguages(languages: string[]) {
  vi.stubGlobal('navigator', { languages, language: languages[0] });
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('formats in the user locale', () => {
  it('numbers and sizes use the OS locale, whatever the UI language', () => {
    withLanguages(['de-DE', 'en']);
    expect(spaces(formatNumber(1234.5))).toBe(spaces('1.234,5'));
    expect(spaces(formatBytes(4_200_000_000))).toBe('4,2 GB');
    withLanguages(['en-US']);
    expect(spaces(formatNumber(1234.5))).toBe('1,234.5');
    expect(spaces(formatBytes(4_200_000_000))).toBe('4.2 GB');
    expect(spaces(formatBytes(512))).toBe('512 byte');
  });

  it('dates follow the locale: day before month in en-GB, month first in en-US', () => {
    const at = new Date(2026, 2, 4, 9, 5).getTime();
    withLanguages(['en-GB']);
    expect(fullTime(at)).toMatch(/^4 Mar 2026/);
    withLanguages(['en-US']);
    expect(fullTime(at)).toMatch(/^Mar 4, 2026/);
  });

  it('relative times are the locale’s, and a moment ahead never reads "now" before it happens', () => {
    withLanguages(['en-US']);
    const now = 1_000_000_000;
    expect(spaces(relativeTime(now - 2_000, now))).toBe('now');
    expect(spaces(relativeTime(now + 400, now))).toBe('in 1 sec.');
    expect(spaces(relativeTime(now - 120_000, now))).toBe('2 min. ago');
    withLanguages(['fr-FR']);
    expect(spaces(relativeTime(now - 120_000, now))).toBe('il y a 2 min');
  });

  it('a locale tag Intl refuses falls back to Intl’s default instead of breaking every screen', () => {
    withLanguages(['not a locale!']);
    expect(userLocales()).toEqual([]);
    expect(() => formatNumber(1)).not.toThrow();
    expect(createFormats([]).number.format(2)).toBe('2');
  });
});

describe('the pseudo-locale', () => {
  it('accents, lengthens and marks a string, keeping placeholders, nesting and tags', () => {
    const out = pseudoLocalize('Locked {{time}} by <strong>{{name}}</strong>, see $t(common:close).');
    expect(out.startsWith('⟦') && out.endsWith('⟧')).toBe(true);
    expect(out).toContain('{{time}}');
    expect(out).toContain('<strong>{{name}}</strong>');
    expect(out).toContain('$t(common:close)');
    expect(out.replace(/\{\{[^}]*\}\}|<\/?strong>|\$t\([^)]*\)/g, '')).not.toMatch(/[A-Za-z]/);
    // About 30% longer, as many languages are.
    expect(pseudoLocalize('Locked by the user').length).toBeGreaterThanOrEqual(Math.floor('Locked by the user'.length * 1.25));
  });

  it('transforms every string of the catalog and keeps every key', () => {
    const pseudo = pseudoCatalog(en);
    const leaves = (tree: object, path = ''): [string, string][] =>
      Object.entries(tree).flatMap(([k, v]) => (typeof v === 'string' ? [[`${path}${k}`, v] as [string, string]] : leaves(v as object, `${path}${k}.`)));
    const english = leaves(en);
    const transformed = new Map(leaves(pseudo));
    expect(english.length).toBeGreaterThan(100);
    for (const [key] of english) expect(transformed.get(key), key).toMatch(/^⟦.*⟧$/s);
  });
});
