// The Markdown pipeline for untrusted model output, apart from the components
// that draw it (Markdown.tsx), so a test can render exactly what the chat
// renders: GitHub-flavoured Markdown (tables, strikethrough, task lists) in,
// sanitised HTML out, raw HTML in the text dropped.
import type { Options } from 'react-markdown';
import rehypeSanitize from 'rehype-sanitize';
import remarkGfm from 'remark-gfm';

export const markdownOptions = {
  skipHtml: true,
  remarkPlugins: [remarkGfm],
  rehypePlugins: [rehypeSanitize],
} as const satisfies Omit<Options, 'children'>;
