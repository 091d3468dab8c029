// Session titles come from the first prompt, which may be Markdown: the list
// and the header show its plain text ("**Plan** for `x`" reads "Plan for x"),
// parsed as the chat parses Markdown (GFM: ~~struck~~ too). The parsers are
// remark-gfm's own dependencies.
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmFromMarkdown } from 'mdast-util-gfm';
import { toString } from 'mdast-util-to-string';
import { gfm } from 'micromark-extension-gfm';

const cache = new Map<string, string>();

export function plainTitle(title: string): string {
  const known = cache.get(title);
  if (known !== undefined) return known;
  let plain: string;
  try {
    plain = toString(fromMarkdown(title, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] }))
      .replace(/\s+/g, ' ')
      .trim();
  } catch {
    plain = title;
  }
  if (cache.size > 500) cache.clear();
  cache.set(title, plain);
  return plain;
}
