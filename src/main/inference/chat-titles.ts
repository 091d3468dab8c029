// A session's title from its first prompt: the prompt's first words as a
// reader sees them (Markdown stripped by parsing it, not by pattern),
// whitespace collapsed, cut at a word boundary.
import { collapseWhitespace, plainText } from '../../shared/markdown-text.js';

export const NEW_SESSION_TITLE = 'New session';
/** The longest derived title, ellipsis included. */
export const TITLE_MAX_CHARS = 60;
/** Only the start of a prompt can reach the title: a 16 000-character prompt is not parsed whole for 60 characters. */
const PARSED_PREFIX_CHARS = 2000;

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
