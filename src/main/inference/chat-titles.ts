// A session's title from its first prompt: the prompt's first words as a
// reader sees them (Markdown stripped by parsing it, not by pattern),
// whitespace collapsed, cut at a word boundary.
import type { Nodes, Root } from 'mdast';
import { toString } from 'mdast-util-to-string';
import remarkGfm from 'remark-gfm';
import remarkParse from 'remark-parse';
import { unified } from 'unified';

export const NEW_SESSION_TITLE = 'New session';
/** The longest derived title, ellipsis included. */
export const TITLE_MAX_CHARS = 60;
/** Only the start of a prompt can reach the title: a 16 000-character prompt is not parsed whole for 60 characters. */
const PARSED_PREFIX_CHARS = 2000;

// GFM as the conversation shows it (remark-gfm): task lists, strikethrough and tables are stripped too.
const parser = unified().use(remarkParse).use(remarkGfm);
/** Nodes that hold blocks: their blocks are joined with a space, so "# Heading\nText" becomes "Heading Text", not "HeadingText". */
const CONTAINERS = new Set(['root', 'list', 'listItem', 'blockquote', 'table', 'tableRow', 'footnoteDefinition']);

/** The plain text of a Markdown fragment, blocks separated by a space. */
export function plainText(markdown: string): string {
  const tree = parser.runSync(parser.parse(markdown)) as Root;
  return blocks(tree).join(' ');
}

function blocks(node: Nodes): string[] {
  if (CONTAINERS.has(node.type) && 'children' in node) return (node.children as Nodes[]).flatMap(blocks);
  return [toString(node, { includeImageAlt: true, includeHtml: false })];
}

/** Whitespace runs as one space, trimmed. */
export function collapseWhitespace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** At most `max` characters, cut at the last word boundary that fits (or mid-word when a word alone is longer), with an ellipsis. */
export function cutAtWord(text: string, max: number): string {
  if (text.length <= max) return text;
  const room = text.slice(0, max - 1);
  const space = room.lastIndexOf(' ');
  let cut = space >= max / 2 ? room.slice(0, space) : room;
  // Never leave half a surrogate pair.
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return `${cut.replace(/[\s,;:.–—-]+$/u, '')}…`;
}

/** The title a session gets from its first prompt. */
export function titleFrom(prompt: string): string {
  const text = collapseWhitespace(plainText(prompt.slice(0, PARSED_PREFIX_CHARS)));
  return cutAtWord(text, TITLE_MAX_CHARS) || NEW_SESSION_TITLE;
}
