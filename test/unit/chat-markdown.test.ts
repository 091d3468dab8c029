// What the chat does with Markdown in model output and in session titles:
// GitHub-flavoured Markdown renders (tables, strikethrough, task lists) through
// the sanitiser, raw HTML never does, and titles show as plain text.
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import Markdown from 'react-markdown';
import { describe, expect, it } from 'vitest';
import { plainTitle } from '../../src/renderer/src/components/chat/title.js';
import { markdownOptions } from '../../src/renderer/src/components/markdown-pipeline.js';

function render(text: string): string {
  return renderToStaticMarkup(createElement(Markdown, { ...markdownOptions, children: text }));
}

describe('chat markdown', () => {
  it('renders a GFM table as a table', () => {
    const html = render('| Drug | Dose |\n| --- | --- |\n| Amoxicillin | 500 mg |\n');
    expect(html).toContain('<table>');
    expect(html).toMatch(/<th>Drug<\/th>/);
    expect(html).toMatch(/<td>500 mg<\/td>/);
  });

  it('renders strikethrough and task lists', () => {
    const html = render('~~old dose~~\n\n- [x] bloods taken\n- [ ] chest X-ray\n');
    expect(html).toContain('<del>old dose</del>');
    expect(html).toMatch(/<input[^>]*type="checkbox"[^>]*checked/);
    expect(html).toContain('chest X-ray');
  });

  it('drops raw HTML and script, inside a table too', () => {
    const html = render('<script>alert(1)</script><img src=x onerror=alert(1)>\n\n| a |\n| - |\n| <b onclick="x()">b</b> |\n');
    expect(html).not.toMatch(/<script|onerror|onclick|<b>/);
    expect(html).toContain('<table>');
  });

  it('keeps javascript: links out of the output', () => {
    const html = render('[click](javascript:alert(1))');
    expect(html).not.toContain('javascript:');
  });
});

describe('session titles', () => {
  it('shows markdown titles as plain text', () => {
    expect(plainTitle('**Discharge** plan for `bed 4`')).toBe('Discharge plan for bed 4');
    expect(plainTitle('# Ward round ~~notes~~')).toBe('Ward round notes');
    expect(plainTitle('[link](http://x) and *emphasis*')).toBe('link and emphasis');
  });

  it('leaves plain titles alone', () => {
    expect(plainTitle('Summarise the ward round notes.')).toBe('Summarise the ward round notes.');
    expect(plainTitle('')).toBe('');
  });
});
