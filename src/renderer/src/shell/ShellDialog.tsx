// The shell's modal dialogs (display settings, the shortcut sheet): a native
// <dialog> named by its heading, with a close button, giving focus back to its
// opener when it closes (useModalDialog).
import type { ReactNode } from 'react';
import { useModalDialog } from './useModalDialog.js';

interface ShellDialogProps {
  titleId: string;
  title: string;
  closeLabel: string;
  onClose(): void;
  children: ReactNode;
}

export function ShellDialog({ titleId, title, closeLabel, onClose, children }: ShellDialogProps) {
  const ref = useModalDialog(onClose);
  return (
    <dialog ref={ref} className="shell-dialog" aria-labelledby={titleId}>
      <div className="shell-dialog-header">
        <h2 id={titleId}>{title}</h2>
        <button type="button" className="btn btn-secondary btn-small" onClick={onClose}>
          {closeLabel}
        </button>
      </div>
      {children}
    </dialog>
  );
}
