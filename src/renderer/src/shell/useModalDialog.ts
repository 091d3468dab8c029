// A native <dialog> shown modally (the browser traps focus and Escape closes it),
// and focus given back to whatever had it before, which is the button that
// opened it in every case the shell has.
import { useEffect, useRef } from 'react';

export function useModalDialog(onClose: () => void) {
  const ref = useRef<HTMLDialogElement>(null);
  const close = useRef(onClose);
  close.current = onClose;
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (!dialog.open) dialog.showModal();
    const onCancel = (event: Event) => {
      event.preventDefault();
      close.current();
    };
    dialog.addEventListener('cancel', onCancel);
    return () => {
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      // The opener may have gone (e.g. the screen changed); then focus stays where the browser puts it.
      if (opener?.isConnected) opener.focus();
    };
  }, []);
  return ref;
}
