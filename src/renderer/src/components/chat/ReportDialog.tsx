// "Report a problem with this answer": a modal dialog with the categories the
// core records (audited as ai.report, sealed and sent to the SIEM at once).
// Only the category and the message id leave; the dialog says so.
import { useEffect, useId, useRef, useState } from 'react';
import type { ReportCategory } from '../../../../shared/api.js';
import type { ErrorInfo } from '../../enclave.js';
import { useStrings } from '../../i18n/index.js';
import { ErrorAlert } from '../common.js';
import { useChatStore } from './use-chat.js';

const CATEGORIES: readonly ReportCategory[] = ['wrong', 'unsafe', 'other-patient', 'other'];

export function ReportDialog({ messageId, onClose }: { messageId: string; onClose(): void }) {
  const { t } = useStrings('chat');
  const store = useChatStore();
  const dialogRef = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const [category, setCategory] = useState<ReportCategory | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [done, setDone] = useState(false);
  const closeRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    const dialog = dialogRef.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);

  useEffect(() => {
    if (done) closeRef.current?.focus();
  }, [done]);

  // Out of the modal state first: while it is modal the rest of the page is inert and the opener cannot take focus back.
  function close() {
    dialogRef.current?.close();
    onClose();
  }

  async function submit() {
    if (!category || busy) return;
    setBusy(true);
    const refusal = await store.report(messageId, category);
    setBusy(false);
    setError(refusal);
    if (!refusal) setDone(true);
  }

  const labels: Record<ReportCategory, string> = {
    wrong: t('reportWrong'),
    unsafe: t('reportUnsafe'),
    'other-patient': t('reportOtherPatient'),
    other: t('reportOther'),
  };

  return (
    <dialog
      ref={dialogRef}
      className="report-dialog"
      aria-labelledby={titleId}
      onCancel={(e) => {
        // Escape: close through React so focus goes back to the opener.
        e.preventDefault();
        if (!busy) close();
      }}
      onKeyDown={(e) => e.stopPropagation()}
    >
      <h2 id={titleId} className="report-title">
        {t('reportTitle')}
      </h2>
      {done ? (
        <>
          <p role="status">{t('reportDone')}</p>
          <div className="report-actions">
            <button type="button" className="btn btn-primary" ref={closeRef} onClick={close}>
              {t('close')}
            </button>
          </div>
        </>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          <fieldset className="report-categories">
            <legend>{t('reportWhat')}</legend>
            {CATEGORIES.map((c) => (
              <label key={c} className="report-category">
                <input type="radio" name="category" value={c} checked={category === c} onChange={() => setCategory(c)} disabled={busy} />
                {labels[c]}
              </label>
            ))}
          </fieldset>
          <p className="field-hint">{t('reportPrivacy')}</p>
          <ErrorAlert error={error} />
          <div className="report-actions">
            <button type="submit" className="btn btn-primary" disabled={busy || category === null}>
              {busy ? t('reportSending') : t('reportSend')}
            </button>
            <button type="button" className="btn btn-ghost" onClick={close} disabled={busy}>
              {t('cancel')}
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}
