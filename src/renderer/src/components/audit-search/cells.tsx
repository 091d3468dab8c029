// Pieces the event table and the event details share.
import { useEffect, useState } from 'react';
import type { AuditEventSummary } from '../../../../shared/api.js';
import { reasonWords } from '../audit-format.js';
import { OUTCOME_TEXT } from './filter.js';

export function OutcomeCell({ event }: { event: AuditEventSummary }) {
  return (
    <span className="audit-outcome">
      {/* Success is the quiet normal; what failed stands out. */}
      {event.outcome === 'success' ? (
        <span className="audit-success">Success</span>
      ) : (
        <span className={`tag ${event.outcome === 'failure' ? 'tag-error' : 'tag-warning'}`}>{OUTCOME_TEXT[event.outcome]}</span>
      )}
      {event.reason ? <span className="audit-reason">{reasonWords(event.reason)}</span> : null}
    </span>
  );
}

export function BatchCell({ batchSeq }: { batchSeq: number | null }) {
  return batchSeq === null ? <span className="muted">Waiting to be sealed</span> : <span>Sealed in batch {batchSeq}</span>;
}

/** A button that copies text; says so, or says nothing where the clipboard is not allowed. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = window.setTimeout(() => setCopied(false), 2000);
    return () => window.clearTimeout(timer);
  }, [copied]);
  return (
    <button
      type="button"
      className="btn btn-secondary btn-small"
      aria-label={label}
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(
          () => setCopied(true),
          () => undefined,
        );
      }}
    >
      {copied ? 'Copied' : 'Copy'}
    </button>
  );
}
