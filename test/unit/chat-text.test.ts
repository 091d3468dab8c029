// Session titles made from a first prompt (Markdown stripped, cut at a word)
// and chat search's matching and snippets (inference/chat-titles.ts, chat-search.ts).
import { describe, expect, it } from 'vitest';
import { findIn, queryPattern, SNIPPET_CHARS } from '../../src/main/inference/chat-search.js';
import { cutAtWord, NEW_SESSION_TITLE, titleFrom, TITLE_MAX_CHARS } from '../../src/main/inference/chat-titles.js';

describe('a title made from the first prompt', () => {
  it('shows the text a reader sees, not the Markdown', () => {
    expect(titleFrom('# Discharge **summary** for `bed 4`')).toBe('Discharge summary for bed 4');
    expect(titleFrom('- [x] check *potassium*\n- ~~repeat~~ ECG')).toBe('check potassium repeat ECG');
    expect(titleFrom('| drug | dose |\n|---|---|\n| apixaban | 5 mg |')).toBe('drug dose apixaban 5 mg');
    expect(titleFrom('See [the guideline](https://example.org/nice) and ![chart](x.png)')).toBe('See the guideline and chart');
    expect(titleFrom('> quoted\n\n```\ncode block\n```')).toBe('quoted code block');
  });

  it('collapses whitespace and cuts at a word boundary with an ellipsis', () => {
    const title = titleFrom(`Summarise   the\n\nadmission notes of ${'patient '.repeat(20)}`);
    expect(title.length).toBeLessThanOrEqual(TITLE_MAX_CHARS);
    expect(title).toMatch(/^Summarise the admission notes of patient( patient)*…$/);
    expect(title).not.toMatch(/\s{2}/);
  });

  it('cuts a single long word mid-word, never inside a surrogate pair', () => {
    const long = 'x'.repeat(58) + '😀😀';
    const cut = cutAtWord(long, TITLE_MAX_CHARS);
    expect(cut.endsWith('…')).toBe(true);
    expect(cut.length).toBeLessThanOrEqual(TITLE_MAX_CHARS);
    expect(/[\ud800-\udbff]…$/.test(cut)).toBe(false);
  });

  it('a prompt with no visible text gives the default title', () => {
    expect(titleFrom('***')).toBe(NEW_SESSION_TITLE);
    expect(titleFrom('<!-- nothing -->')).toBe(NEW_SESSION_TITLE);
  });
});

describe('chat search matching', () => {
  it('is case-insensitive, treats the query literally, and lets any whitespace match any whitespace', () => {
    expect(findIn('Heart\n  FAILURE with reduced EF', queryPattern('heart failure'))).toMatchObject({ snippet: 'Heart FAILURE with reduced EF', matchStart: 0, matchLength: 13 });
    expect(findIn('dose (mg) [max]', queryPattern('(MG) [max'))).toMatchObject({ matchStart: 5 });
    expect(findIn('a.b', queryPattern('a*b'))).toBeNull();
    expect(findIn('co-amoxiclav 625', queryPattern('CO-AMOX'))).toMatchObject({ matchStart: 0, matchLength: 7 });
  });

  it('keeps about 160 characters around the match, marks the cuts, and says where the match lies in the snippet', () => {
    const text = `${'lorem ipsum '.repeat(50)}the WARFARIN dose ${'dolor sit '.repeat(50)}`;
    const hit = findIn(text, queryPattern('warfarin'))!;
    expect(hit.snippet.length).toBeLessThanOrEqual(SNIPPET_CHARS + 2);
    expect(hit.snippet.length).toBeGreaterThan(SNIPPET_CHARS - 40);
    expect(hit.snippet.startsWith('…')).toBe(true);
    expect(hit.snippet.endsWith('…')).toBe(true);
    expect(hit.snippet.slice(hit.matchStart, hit.matchStart + hit.matchLength)).toBe('WARFARIN');
  });

  it('offsets stay right where case folding would change the length of lower-cased text', () => {
    const text = 'İİİ note about sepsis';
    const hit = findIn(text, queryPattern('SEPSIS'))!;
    expect(hit.snippet.slice(hit.matchStart, hit.matchStart + hit.matchLength)).toBe('sepsis');
  });
});
