// Roles and who may do what, without zod, so the renderer can show only what
// the core will allow without bundling the schemas. The contract (api.ts)
// uses these same lists for each call's access rule.
export const ROLES = ['clinician', 'researcher', 'compliance', 'administrator'] as const;
export type Role = (typeof ROLES)[number];

/** Chat with the model. */
export const CHAT_ROLES = ['clinician', 'researcher'] as const satisfies readonly Role[];
/** Verify the local audit chain. */
export const AUDIT_ROLES = ['compliance', 'administrator'] as const satisfies readonly Role[];
/** Search and export audit events: the compliance officer alone. */
export const COMPLIANCE_ROLES = ['compliance'] as const satisfies readonly Role[];
/** Configure the workstation (evaluation models). */
export const ADMIN_ROLES = ['administrator'] as const satisfies readonly Role[];

export function holdsAnyRole(userRoles: readonly Role[], allowed: readonly Role[]): boolean {
  return userRoles.some((role) => allowed.includes(role));
}
