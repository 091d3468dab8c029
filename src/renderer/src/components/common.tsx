// Pieces every screen uses: the error box, the evaluation banner, the
// centred card of the sign-in screens and the side drawer.
import { useEffect, useId, useRef, type InputHTMLAttributes, type ReactNode, type Ref } from 'react';
import type { ErrorInfo } from '../enclave.js';
import { clockTime } from '../format.js';
import { useStrings } from '../i18n/index.js';

/** An error from a call, shown where it happened. role=alert so it is announced and testable. */
export function ErrorAlert({ error, title }: { error: ErrorInfo | null; title?: string }) {
  if (!error) return null;
  return (
    <div role="alert" className="alert alert-error" data-code={error.code}>
      {title ? <strong className="alert-title">{title}</strong> : null}
      {/* As the core (or the form) words it; the core's texts are not in the catalog. */}
      <span translate="no">{error.message}</span>
    </div>
  );
}

/**
 * Always rendered in evaluation mode and deliberately without a close button:
 * an evaluation install has none of the managed safeguards.
 */
export function EvaluationBanner() {
  const { t } = useStrings('common');
  return (
    <div role="status" aria-label={t('evaluation.label')} className="eval-banner">
      <span className="eval-banner-mark" aria-hidden="true">
        !
      </span>
      <strong>{t('evaluation.title')}</strong>
      <span className="eval-banner-detail">{t('evaluation.detail')}</span>
    </div>
  );
}

/** A side panel: focus moves to its title when it opens, and Escape closes it. */
export function Drawer({ title, closeLabel, wide, onClose, children }: { title: string; closeLabel: string; wide?: boolean; onClose(): void; children: ReactNode }) {
  const titleId = useId();
  const headingRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => headingRef.current?.focus(), []);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);
  return (
    <aside className={wide ? 'drawer drawer-wide' : 'drawer'} aria-labelledby={titleId}>
      <div className="drawer-header">
        <h2 id={titleId} tabIndex={-1} ref={headingRef}>
          {title}
        </h2>
        <button type="button" className="btn btn-ghost btn-icon" onClick={onClose} aria-label={closeLabel}>
          ×
        </button>
      </div>
      {/* Scrolls on its own: focusable and named so the keyboard can scroll it (axe scrollable-region-focusable). */}
      <div className="drawer-body" tabIndex={0} role="group" aria-labelledby={titleId}>
        {children}
      </div>
    </aside>
  );
}

/**
 * Emergency access stays visible for as long as it lasts; it cannot be hidden.
 * It never shows the stated reason (it may name a patient, and the banner is
 * on screen for anyone passing, the lock screen included): compliance reads
 * it on the audit screen.
 */
export function BreakGlassBanner({ breakGlass }: { breakGlass: { expiresAt: number } }) {
  const { t } = useStrings('common');
  return (
    <div role="status" aria-label={t('breakGlass.label')} className="breakglass-banner">
      <strong>{t('breakGlass.title')}</strong>
      <span>{t('breakGlass.detail', { time: clockTime(breakGlass.expiresAt) })}</span>
    </div>
  );
}

/** The card of the screens before the workspace: the page's main landmark and its one h1. */
export function AuthCard({ title, subtitle, children, institution }: { title: string; subtitle?: ReactNode; children: ReactNode; institution: string }) {
  const { t } = useStrings('common');
  const titleId = useId();
  return (
    <main className="auth-screen" aria-labelledby={titleId}>
      <section className="auth-card" aria-labelledby={titleId}>
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true" />
          <span className="brand-name">{t('brand.name')}</span>
          {/* The institution's name comes from policy: data, not text to translate. */}
          <span className="brand-institution" translate="no">
            {institution}
          </span>
        </div>
        <h1 id={titleId}>{title}</h1>
        {subtitle ? <div className="auth-subtitle">{subtitle}</div> : null}
        {children}
      </section>
    </main>
  );
}

export function Spinner({ label }: { label?: string }) {
  return <span className="spinner" role={label ? 'img' : undefined} aria-label={label} aria-hidden={label ? undefined : true} />;
}

type InputProps = Omit<InputHTMLAttributes<HTMLInputElement>, 'id'>;

/** A labelled input: label and input linked by id, so getByLabel and screen readers agree. */
export function TextField({ label, hint, ref, ...input }: InputProps & { label: string; hint?: ReactNode; ref?: Ref<HTMLInputElement> }) {
  const id = useId();
  const hintId = useId();
  return (
    <div className="field">
      <label htmlFor={id} className="field-label">
        {label}
      </label>
      <input id={id} ref={ref} aria-describedby={hint ? hintId : undefined} {...input} />
      {hint ? (
        <p id={hintId} className="field-hint">
          {hint}
        </p>
      ) : null}
    </div>
  );
}
