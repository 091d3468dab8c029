// audit.checkText as an audited action, for the app and the CLI alike: the
// check and its audit.text_check event (which event, whether it matched,
// never the text) are one transaction. An unknown event is audited too.
import { EnclaveError } from '../../shared/errors.js';
import type { AuditLog } from './log.js';
import { checkEventText, type TextCheck } from './private-text.js';
import type { AuditEventInput } from './record.js';

export function checkTextAudited(audit: AuditLog, eventId: string, text: string, user: NonNullable<AuditEventInput['user']>): TextCheck {
  try {
    return audit.run(
      (db) => checkEventText(db, eventId, text),
      (check) => ({
        action: 'audit.text_check',
        outcome: 'success',
        user,
        detail: { event_id: check.eventId, event_sequence: check.sequence, matched: check.matches, field: check.field, fields: check.fields.join(',') },
      }),
    );
  } catch (error) {
    if (error instanceof EnclaveError && (error.code === 'not_found' || error.code === 'audit_corrupt')) {
      audit.record({ action: 'audit.text_check', outcome: 'failure', reason: error.code, user, detail: { event_id: eventId } });
    }
    throw error;
  }
}
