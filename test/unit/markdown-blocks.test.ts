// The streaming answer is drawn block by block (markdown-blocks.ts): the cut
// must never fall inside fenced code, or a code block would render as text.
import { describe, expect, it } from 'vitest';
import { markdownBlocks } from '../../src/renderer/src/components/markdown-blocks.js';

describe('markdownBlocks', () => {
  it('cuts at blank lines, dropping the blank lines themselves', () => {
    expect(markdownBlocks('# Title\n\nFirst paragraph\nstill first\n\n\n- a\n- b\n')).toEqual(['# Title', 'First paragraph\nstill first', '- a\n- b']);
  });

  it('keeps a fenced code block whole, blank lines inside and all, until its closing fence', () => {
    const text = 'Before\n\n```python\ndef f():\n\n    return 1\n```\n\nAfter';
    expect(markdownBlocks(text)).toEqual(['Before', '```python\ndef f():\n\n    return 1\n```', 'After']);
  });

  it('a fence still open (the answer is mid-code) holds everything after it', () => {
    expect(markdownBlocks('Intro\n\n~~~\nline 1\n\nline 2')).toEqual(['Intro', '~~~\nline 1\n\nline 2']);
  });

  it('closes a fence only with the same character and at least as many', () => {
    const text = '````\n```\n\ninside\n````\n\nout';
    expect(markdownBlocks(text)).toEqual(['````\n```\n\ninside\n````', 'out']);
  });

  it('finished blocks keep their text as the answer grows, so they need not be drawn again', () => {
    const early = markdownBlocks('Para one\n\nPara tw');
    const later = markdownBlocks('Para one\n\nPara two\n\n| a | b |\n|---|---|\n| 1 | 2 |');
    expect(later[0]).toBe(early[0]);
    expect(later).toHaveLength(3);
  });
});
