import { useEffect, useId, useRef } from 'react';
import { useStrings } from '../../i18n/index.js';

/** Asks before a session is deleted for good; focus starts on Cancel, and Escape cancels. */
export function DeleteConfirmation({ busy, onConfirm, onCancel }: { busy: boolean; onConfirm(): void; onCancel(): void }) {
  const { t } = useStrings('chat');
  const cancelRef = useRef<HTMLButtonElement>(null);
  const textId = useId();
  useEffect(() => cancelRef.current?.focus(), []);
  return (
    <div
      className="note note-warning delete-confirm"
      role="alertdialog"
      aria-label={t('deleteTitle')}
      aria-describedby={textId}
      onKeyDown={(event) => {
        if (event.key === 'Escape' && !busy) {
          event.stopPropagation();
          onCancel();
        }
      }}
    >
      <p id={textId}>{t('deleteText')}</p>
      <button type="button" className="btn btn-danger btn-small" onClick={onConfirm} disabled={busy}>
        {busy ? t('deleting') : t('deleteForGood')}
      </button>
      <button type="button" className="btn btn-ghost btn-small" onClick={onCancel} disabled={busy} ref={cancelRef}>
        {t('cancel')}
      </button>
    </div>
  );
}
