// Model output is untrusted text. It is rendered as GitHub-flavoured Markdown
// (tables, strikethrough, task lists: remark-gfm) through rehype-sanitize with
// raw HTML dropped; links and images are rendered inert (the window blocks
// navigation and remote loads anyway, this keeps the UI from offering them at
// all). Code blocks get a copy button when the caller allows copying.
import { memo, useMemo, useRef, type ReactNode } from 'react';
import ReactMarkdown, { type Components } from 'react-markdown';
import { useStrings } from '../i18n/index.js';
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
