// Model output is untrusted text. It is rendered as Markdown through
// rehype-sanitize with raw HTML dropped; links and images are rendered inert
// (the window blocks navigation and remote loads anyway, this keeps the UI
// from offering them at all).
import ReactMarkdown, { type Components } from 'react-markdown';
import rehypeSanitize from 'rehype-sanitize';

const components: Components = {
  a: ({ children, href }) => (
    <span className="md-link" title={href ? `Link (not opened): ${href}` : undefined}>
      {children}
    </span>
  ),
  img: ({ alt }) => <span className="md-image">[image{alt ? `: ${alt}` : ''}]</span>,
};

const rehypePlugins = [rehypeSanitize];

export function MarkdownView({ text }: { text: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown skipHtml rehypePlugins={rehypePlugins} components={components}>
        {text}
      </ReactMarkdown>
    </div>
  );
}
