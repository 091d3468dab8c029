// The plain text of a Markdown fragment as a reader sees it ("**Plan** for
// `x`" reads "Plan for x"), parsed as the conversation parses Markdown (GFM,
// remark-gfm) rather than stripped by pattern. Shared: the core titles a
// session from its first prompt, and the renderer shows titles stored before
// titles were made plain.
import type { Nodes, Root } from 'mdast';
import { toString } from 'mdast-util-to-string';
import remarkGfm from 'remark-gfm';
import remarkParse from 'remark-parse';
import { unified } from 'unified';

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
