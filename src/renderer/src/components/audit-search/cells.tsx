// Pieces the event table and the event details share.
import { useEffect, useState } from 'react';
import type { AuditEventSummary } from '../../../../shared/api.js';
import { reasonWords } from '../audit-format.js';
import { useStrings } from '../../i18n/index.js';
import { outcomeText } from './filter.js';

export function OutcomeCell({ event }: { event: AuditEventSummary }) {
  const { t } = useStrings('audit');
  return (
    <span className="audit-outcome">
      {/* Success is the quiet normal; what failed stands out. */}
      {event.outcome === 'success' ? (
        <span className="audit-success">{t('outcome.success')}</span>
      ) : (
        <span className={`tag ${event.outcome === 'failure' ? 'tag-error' : 'tag-warning'}`}>{outcomeText(event.outcome)}</span>
      )}
      {/* The reason code as the core recorded it (e.g. wrong password): data, in words. */}
      {event.reason ? (
        <span className="audit-reason" translate="no">
          {reasonWords(event.reason)}
        </span>
      ) : null}
    </span>
  );
}

export function BatchCell({ batchSeq }: { batchSeq: number | null }) {
  const { t } = useStrings('audit');
  return batchSeq === null ? <span className="muted">{t('batch.waiting')}</span> : <span>{t('batch.sealed', { seq: batchSeq })}</span>;
}

/** A button that copies text; says so, or says nothing where the clipboard is not allowed. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const { t } = useStrings('common');
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
      {copied ? t('copied') : t('copy')}
    </button>
  );
}
