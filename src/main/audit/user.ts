// How an audit event names the signed-in person who acted: every service
// that audits a user's action (identity, inference, the core) records them
// the same way.
import type { Role, User } from '../../shared/api.js';

export function auditUser(user: User): { id: string; name: string; roles: Role[]; authMethod: string } {
  return { id: user.id, name: user.username, roles: user.roles, authMethod: user.authMethod };
}
