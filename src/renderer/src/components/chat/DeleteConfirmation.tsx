import { useEffect, useId, useRef } from 'react';

/** Asks before a session is deleted for good; focus starts on Cancel, and Escape cancels. */
export function DeleteConfirmation({ busy, onConfirm, onCancel }: { busy: boolean; onConfirm(): void; onCancel(): void }) {
  const cancelRef = useRef<HTMLButtonElement>(null);
  const textId = useId();
  useEffect(() => cancelRef.current?.focus(), []);
  return (
    <div
      className="note note-warning delete-confirm"
      role="alertdialog"
      aria-label="Delete this session?"
      aria-describedby={textId}
      onKeyDown={(event) => {
        if (event.key === 'Escape' && !busy) onCancel();
      }}
    >
      <p id={textId}>Delete this session and all its messages from this workstation? This cannot be undone.</p>
      <button type="button" className="btn btn-danger btn-small" onClick={onConfirm} disabled={busy}>
        {busy ? 'Deleting…' : 'Delete for good'}
      </button>
      <button type="button" className="btn btn-ghost btn-small" onClick={onCancel} disabled={busy} ref={cancelRef}>
        Cancel
      </button>
    </div>
  );
}
