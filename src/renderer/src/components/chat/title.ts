// Session titles are shown as plain text: the core makes a title plain when
// it derives it from the first prompt, but titles stored before that may hold
// Markdown ("**Plan** for `x`" reads "Plan for x"). Parsed as the chat parses
// Markdown (src/shared/markdown-text.ts), remembered per title.
import { collapseWhitespace, plainText } from '../../../../shared/markdown-text.js';

const cache = new Map<string, string>();

export function plainTitle(title: string): string {
  const known = cache.get(title);
  if (known !== undefined) return known;
  let plain: string;
  try {
    plain = collapseWhitespace(plainText(title));
  } catch {
    plain = title;
  }
  if (cache.size > 500) cache.clear();
  cache.set(title, plain);
  return plain;
}
