// A streaming answer grows at its end only, so only its last block changes
// between frames. Cutting the text into top-level blocks lets the finished
// ones stay rendered (memoised by their text) while each frame parses just the
// block being written: parsing the whole answer every frame grows with its
// length and was what made typing lag while a long answer streamed.
//
// Blocks end at a blank line outside a fenced code block. Constructs that span
// blank lines (a loose list, an indented code block) come out as neighbouring
// blocks while the answer streams; the finished message is rendered whole.

const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/** The text cut at blank lines outside fenced code; joined with "\n\n" they give back the text's blocks. */
export function markdownBlocks(text: string): string[] {
  const blocks: string[] = [];
  let current: string[] = [];
  let fence: string | null = null;
  for (const line of text.split('\n')) {
    const marker = FENCE.exec(line)?.[1];
    if (fence === null && marker) fence = marker;
    else if (fence !== null && marker && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) fence = null;
    if (fence === null && line.trim() === '' && current.length > 0) {
      blocks.push(current.join('\n'));
      current = [];
    } else if (fence !== null || line.trim() !== '') current.push(line);
  }
  if (current.length > 0) blocks.push(current.join('\n'));
  return blocks;
}
