// An audit action and its filter group in words, from the string catalog
// (audit:action.*, audit:actionGroup.*), so the compliance screen shows them in
// the UI's language; src/shared/audit-actions.ts keeps the English for the CLI and the SIEM.
import { AUDIT_ACTIONS, type AUDIT_ACTION_GROUPS, type AuditAction } from '../../../../shared/audit-actions.js';
import { t } from '../../i18n/index.js';

const KNOWN: ReadonlySet<string> = new Set(AUDIT_ACTIONS);

/** "auth.login" → "Sign-in"; an action this build does not know (a newer core's) shows as its code. */
export function auditActionText(action: string): string {
  return KNOWN.has(action) ? t(`audit:action.${action as AuditAction}`) : action;
}

export function auditActionGroupText(group: (typeof AUDIT_ACTION_GROUPS)[number]): string {
  return t(`audit:actionGroup.${group.id}`);
}
