// Policy's acceptable-use statement, shown after sign-in while it is due
// (session.attestation): the text as policy wrote it, in a scrolling region
// the keyboard can reach, with "I accept" and "Decline and sign out". Until
// it is answered the core refuses everything else (attestation_required).
import { useEffect, useId, useRef } from 'react';
import type { AttestationDue, SessionState, User } from '../../../shared/api.js';
import { useFormCall } from '../enclave.js';
import { fullTime } from '../format.js';
import { useStrings } from '../i18n/index.js';
import { ErrorAlert } from './common.js';
import '../styles/governance.css';

/** Paragraphs as policy wrote them: a blank line starts a new one; single line breaks stay inside it. */
export function statementParagraphs(text: string): string[] {
  return text
    .replace(/\r\n?/g, '\n')
    .split(/\n[ \t]*\n/)
    .map((paragraph) => paragraph.replace(/^\n+|\n+$/g, ''))
    .filter((paragraph) => paragraph.trim() !== '');
}

export function AttestationScreen({ institution, user, attestation, onSession }: { institution: string; user: User; attestation: AttestationDue; onSession(session: SessionState): void }) {
  const { t } = useStrings('governance');
  const headingRef = useRef<HTMLHeadingElement>(null);
  const titleId = useId();
  const hintId = useId();
  const { busy, error, run } = useFormCall();

  // Focus starts at the heading, so a screen reader reads the screen from the top.
  useEffect(() => headingRef.current?.focus(), []);

  async function answer(accept: boolean) {
    const session = await run('auth.attest', { accept });
    if (session) onSession(session);
  }

  return (
    <main className="attestation-screen" aria-labelledby={titleId}>
      <section className="attestation-card">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true" />
          <span className="brand-name">{t('brand.name', { ns: 'common' })}</span>
          <span className="brand-institution" translate="no">
            {institution}
          </span>
        </div>
        <h1 id={titleId} tabIndex={-1} ref={headingRef}>
          {t('attestation.title')}
        </h1>
        <p className="attestation-hint">{t('attestation.intro', { name: user.displayName, institution })}</p>
        {attestation.lastAcceptedAt !== null ? <p className="attestation-hint">{t('attestation.lastAccepted', { date: fullTime(attestation.lastAcceptedAt) })}</p> : null}
        {/* Focusable so a keyboard alone can scroll a long statement. */}
        <div className="attestation-text" role="region" aria-label={t('attestation.statementLabel')} tabIndex={0}>
          {statementParagraphs(attestation.text).map((paragraph, i) => (
            // Policy's own text, in the institution's words.
            <p key={i} translate="no">
              {paragraph}
            </p>
          ))}
        </div>
        <ErrorAlert error={error} />
        <p id={hintId} className="attestation-hint">
          {t('attestation.declineHint')}
        </p>
        <div className="form-actions">
          <button type="button" className="btn btn-primary" onClick={() => void answer(true)} disabled={busy} aria-describedby={hintId}>
            {t('attestation.accept')}
          </button>
          <button type="button" className="btn btn-secondary" onClick={() => void answer(false)} disabled={busy} aria-describedby={hintId}>
            {t('attestation.decline')}
          </button>
        </div>
      </section>
    </main>
  );
}
