// Model output is untrusted text. It is rendered as GitHub-flavoured Markdown
// (tables, strikethrough, task lists: remark-gfm) through rehype-sanitize with
// raw HTML dropped; links and images are rendered inert (the window blocks
// navigation and remote loads anyway, this keeps the UI from offering them at
// all). Code blocks get a copy button when the caller allows copying.
import { memo, useMemo, useRef, type ReactNode } from 'react';
import ReactMarkdown, { type Components } from 'react-markdown';
import { useStrings } from '../i18n/index.js';
import { markdownBlocks } from './markdown-blocks.js';
import { markdownOptions } from './markdown-pipeline.js';

function CodeBlock({ children, onCopy }: { children: ReactNode; onCopy: ((text: string) => void) | undefined }) {
  const { t } = useStrings('chat');
  const preRef = useRef<HTMLPreElement>(null);
  return (
    <div className="md-code">
      {onCopy ? (
        <button type="button" className="btn btn-ghost btn-small md-code-copy" onClick={() => onCopy(preRef.current?.textContent ?? '')}>
          {t('copyCode')}
        </button>
      ) : null}
      {/* Focusable: a long line scrolls sideways, and a keyboard must be able to scroll it. */}
      <pre ref={preRef} tabIndex={0}>
        {children}
      </pre>
    </div>
  );
}

function useComponents(onCopyCode: ((text: string) => void) | undefined): Components {
  const { t } = useStrings('chat');
  return useMemo<Components>(
    () => ({
      a: ({ children, href }) => (
        <span className="md-link" title={href ? t('linkNotOpened', { href }) : undefined}>
          {children}
        </span>
      ),
      img: ({ alt }) => <span className="md-image">{alt ? t('imageWithAlt', { alt }) : t('image')}</span>,
      pre: ({ children }) => <CodeBlock onCopy={onCopyCode}>{children}</CodeBlock>,
      // A wide table scrolls on its own, and a keyboard can scroll it (the region takes focus).
      table: ({ children }) => (
        <div className="md-table" role="group" aria-label={t('table')} tabIndex={0}>
          <table>{children}</table>
        </div>
      ),
      // A task list's box says its state in words instead of an unlabelled, disabled checkbox.
      input: ({ checked, type }) =>
        type === 'checkbox' ? (
          <span className="md-task" role="img" aria-label={checked ? t('taskDone') : t('taskOpen')}>
            {checked ? '☑' : '☐'}
          </span>
        ) : null,
    }),
    [onCopyCode, t],
  );
}

export const MarkdownView = memo(function MarkdownView({ text, onCopyCode }: { text: string; onCopyCode?: (text: string) => void }) {
  const components = useComponents(onCopyCode);
  return (
    <div className="markdown">
      <ReactMarkdown {...markdownOptions} components={components}>
        {text}
      </ReactMarkdown>
    </div>
  );
});

const MarkdownBlock = memo(function MarkdownBlock({ text, components }: { text: string; components: Components }) {
  return (
    <ReactMarkdown {...markdownOptions} components={components}>
      {text}
    </ReactMarkdown>
  );
});

/**
 * The block being written is drawn as Markdown while it is short; past this
 * many characters (a very long paragraph or code block) it shows as plain
 * text until it ends, so one frame never re-parses a long block: the finished
 * message is drawn whole as Markdown.
 */
export const LIVE_MARKDOWN_MAX_CHARS = 1500;

/**
 * An answer while it streams: cut into blocks (markdown-blocks.ts) so that a
 * frame re-parses only the block being written; finished blocks are memoised.
 */
export function StreamingMarkdownView({ text }: { text: string }) {
  const components = useComponents(undefined);
  const blocks = markdownBlocks(text);
  const last = blocks.pop();
  return (
    <div className="markdown">
      {blocks.map((block, index) => (
        // Blocks only ever grow at the end, so an index is a stable key.
        <MarkdownBlock key={index} text={block} components={components} />
      ))}
      {last === undefined ? null : last.length <= LIVE_MARKDOWN_MAX_CHARS ? (
        <MarkdownBlock key={blocks.length} text={last} components={components} />
      ) : (
        <p key={blocks.length} className="plain-text">
          {last}
        </p>
      )}
    </div>
  );
}
