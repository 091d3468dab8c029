// The open session's header: its name (renamed in place: Enter saves, Escape
// cancels), its workload and start, and End / Delete.
import { useId, useRef, useState } from 'react';
import type { ChatSessionSummary } from '../../../../shared/api.js';
import type { ErrorInfo } from '../../enclave.js';
import { fullTime } from '../../format.js';
import { useStrings } from '../../i18n/index.js';
import { ErrorAlert } from '../common.js';
import { DeleteConfirmation } from './DeleteConfirmation.js';
import { plainTitle } from './title.js';
import { useChat, useChatStore } from './use-chat.js';

export function SessionHeader({ session, workloadName, generating }: { session: ChatSessionSummary; workloadName: string; generating: boolean }) {
  const { t } = useStrings('chat');
  const store = useChatStore();
  const confirmingDelete = useChat((s) => s.confirmingDelete);
  const deleting = useChat((s) => s.deleting);
  const [renaming, setRenaming] = useState(false);
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const renameButton = useRef<HTMLButtonElement>(null);
  const deleteButton = useRef<HTMLButtonElement>(null);
  const inputId = useId();
  const title = plainTitle(session.title) || t('untitled');

  function startRename() {
    setName(session.title ? plainTitle(session.title) : '');
    setError(null);
    setRenaming(true);
  }
  function endRename() {
    setRenaming(false);
    setError(null);
    requestAnimationFrame(() => renameButton.current?.focus());
  }
  async function save() {
    if (busy) return;
    setBusy(true);
    const refusal = await store.rename(session.id, name);
    setBusy(false);
    if (refusal) setError(refusal);
    else endRename();
  }

  return (
    <>
      <div className="chat-header">
        <div className="chat-header-text">
          {renaming ? (
            <form
              className="rename-form"
              onSubmit={(e) => {
                e.preventDefault();
                void save();
              }}
            >
              <label htmlFor={inputId} className="visually-hidden">
                {t('sessionName')}
              </label>
              <input
                id={inputId}
                className="rename-input"
                value={name}
                maxLength={200}
                autoFocus
                readOnly={busy}
                onChange={(e) => setName(e.target.value)}
                onKeyDown={(e) => {
                  if (e.key === 'Escape') {
                    e.preventDefault();
                    e.stopPropagation();
                    endRename();
                  }
                }}
              />
              <button type="submit" className="btn btn-primary btn-small" disabled={busy}>
                {t('save')}
              </button>
              <button type="button" className="btn btn-ghost btn-small" onClick={endRename} disabled={busy}>
                {t('cancel')}
              </button>
            </form>
          ) : (
            <h2 className="chat-title">{title}</h2>
          )}
          <p className="chat-subtitle">
            {t('sessionSubtitle', { workload: workloadName, started: fullTime(session.createdAt) })}
            {session.endedAt !== null ? t('sessionEnded', { ended: fullTime(session.endedAt) }) : ''}
          </p>
        </div>
        <div className="chat-header-actions">
          {!renaming ? (
            <button type="button" className="btn btn-ghost btn-small" ref={renameButton} onClick={startRename}>
              {t('rename')}
            </button>
          ) : null}
          {session.endedAt === null ? (
            <button type="button" className="btn btn-ghost btn-small" onClick={() => void store.endSession()} disabled={generating}>
              {t('endSession')}
            </button>
          ) : null}
          <button type="button" className="btn btn-ghost btn-small" ref={deleteButton} onClick={() => store.confirmDelete(session.id)} disabled={deleting || confirmingDelete === session.id}>
            {t('deleteSession')}
          </button>
        </div>
      </div>
      <ErrorAlert error={error} />
      {confirmingDelete === session.id ? (
        <DeleteConfirmation
          busy={deleting}
          onConfirm={() => void store.deleteSession(session.id)}
          onCancel={() => {
            store.confirmDelete(null);
            requestAnimationFrame(() => deleteButton.current?.focus());
          }}
        />
      ) : null}
    </>
  );
}
