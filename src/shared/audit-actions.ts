// The fixed vocabulary of audit event actions (shared/design/audit-and-siem.md).
// The core's record schema (main/audit/record.ts) accepts exactly these; the
// compliance screen offers them as a filter. No zod, no Node: the renderer
// imports this file.
export const AUDIT_ACTIONS = [
  'auth.login',
  'auth.logout',
  'auth.lock',
  'auth.unlock',
  'auth.denied',
  'auth.breakglass',
  'auth.account_create',
  'auth.key_recover',
  'auth.key_reset',
  'auth.key_rewrap',
  'auth.attest',
  'session.create',
  'session.end',
  'session.delete',
  'session.rename',
  'chat.purge',
  'ai.prompt',
  'ai.response',
  'ai.cancel',
  'ai.copy',
  'ai.report',
  'model.add',
  'model.load',
  'model.reject',
  'audit.verify',
  'audit.corruption_detected',
  'store.open',
  'policy.apply',
  'audit.enroll',
  'audit.key_rotate',
  'audit.search',
  'audit.export',
  'audit.prune',
  'sync.destination',
  'audit.text_check',
  'db.rekey',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Each action in words, for the CLI and the SIEM (CEF name); the compliance screen shows the string catalog's (audit:action.*), in the same English. */
export const AUDIT_ACTION_LABELS: Record<AuditAction, string> = {
  'auth.login': 'Sign-in',
  'auth.logout': 'Sign-out',
  'auth.lock': 'Locked',
  'auth.unlock': 'Unlocked',
  'auth.denied': 'Access refused',
  'auth.breakglass': 'Emergency access (break-glass)',
  'auth.account_create': 'Local account created',
  'auth.key_recover': 'Earlier chats opened with the previous password',
  'auth.key_reset': 'Earlier chats left locked (started fresh)',
  'auth.key_rewrap': 'Chat keys wrapped under a password changed during the session',
  'auth.attest': 'Acceptable-use statement accepted or declined',
  'session.create': 'Chat session started',
  'session.end': 'Chat session ended',
  'session.delete': 'Chat session deleted by its user',
  'session.rename': 'Chat session renamed by its user',
  'chat.purge': 'Chats deleted by the retention policy',
  'ai.prompt': 'Prompt sent to the model',
  'ai.response': 'Model answer',
  'ai.cancel': 'Answer stopped',
  'ai.copy': 'Text copied from a chat',
  'ai.report': 'Problem with an answer reported',
  'model.add': 'Model added',
  'model.load': 'Model loaded',
  'model.reject': 'Model refused',
  'audit.verify': 'Audit chain verified',
  'audit.corruption_detected': 'Audit damage detected',
  'store.open': 'Encrypted database opened',
  'policy.apply': 'Managed policy applied',
  'audit.enroll': 'Audit signing key enrolled',
  'audit.key_rotate': 'Audit signing key rotated',
  'audit.search': 'Audit log searched',
  'audit.export': 'Audit log exported',
  'audit.prune': 'Delivered audit events removed',
  'sync.destination': 'SIEM destination changed state',
  'audit.text_check': 'Typed text checked against an event',
  'db.rekey': 'Database re-encrypted under a new key',
};

/** Actions sealed into a batch at once and sent to the SIEM before the backlog: emergency access, and a problem reported with an answer. */
export const URGENT_AUDIT_ACTIONS: readonly AuditAction[] = ['auth.breakglass', 'ai.report'];

/** The actions grouped as the filter offers them. Every action is in exactly one group. */
export const AUDIT_ACTION_GROUPS: readonly { id: 'access' | 'chat' | 'audit' | 'workstation'; label: string; actions: readonly AuditAction[] }[] = [
  {
    id: 'access',
    label: 'Sign-in and access',
    actions: ['auth.login', 'auth.logout', 'auth.lock', 'auth.unlock', 'auth.denied', 'auth.breakglass', 'auth.account_create', 'auth.key_recover', 'auth.key_reset', 'auth.key_rewrap', 'auth.attest'],
  },
  {
    id: 'chat',
    label: 'Chat and model',
    actions: [
      'session.create',
      'session.end',
      'session.delete',
      'session.rename',
      'chat.purge',
      'ai.prompt',
      'ai.response',
      'ai.cancel',
      'ai.copy',
      'ai.report',
      'model.add',
      'model.load',
      'model.reject',
    ],
  },
  { id: 'audit', label: 'Audit log', actions: ['audit.search', 'audit.export', 'audit.verify', 'audit.corruption_detected', 'audit.enroll', 'audit.key_rotate', 'audit.prune', 'audit.text_check'] },
  { id: 'workstation', label: 'Workstation', actions: ['store.open', 'policy.apply', 'sync.destination', 'db.rekey'] },
];

export function auditActionLabel(action: string): string {
  return (AUDIT_ACTION_LABELS as Record<string, string | undefined>)[action] ?? action;
}
