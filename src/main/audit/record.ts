// The audit event record (see shared/design/audit-and-siem.md): canonical JSON
// with Elastic Common Schema field names, chained by hash. Never holds prompt
// or response text, only their SHA-256.
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { z } from 'zod';
import { Role } from '../../shared/api.js';
import { AUDIT_ACTIONS, type AuditAction } from '../../shared/audit-actions.js';

export { AUDIT_ACTIONS, type AuditAction };

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/);

export const AuditRecordSchema = z
  .object({
    '@timestamp': z.string().datetime({ precision: 3 }),
    event: z
      .object({
        id: z.string().uuid(),
        sequence: z.number().int().positive(),
        action: z.enum(AUDIT_ACTIONS),
        outcome: z.enum(['success', 'failure', 'unknown']),
        reason: z.string().optional(),
        hash: Hex64,
      })
      .strict(),
    prev: Hex64.nullable(),
    host: z.object({ id: z.string(), name: z.string() }).strict(),
    service: z.object({ name: z.literal('enclave'), version: z.string() }).strict(),
    user: z
      .object({ id: z.string().optional(), name: z.string(), roles: z.array(Role).optional(), auth_method: z.string().optional() })
      .strict()
      .optional(),
    enclave: z
      .object({
        clock_state: z.enum(['synced', 'unsynced', 'unknown']),
        session_id: z.string().optional(),
        message_id: z.string().optional(),
        workload: z.string().optional(),
        patient_ref: z.string().optional(),
        model: z.object({ id: z.string(), sha256: Hex64.optional() }).strict().optional(),
        detail: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
      })
      .strict(),
    ai: z
      .object({
        prompt: z.object({ sha256: Hex64, tokens: z.number().int().nonnegative().optional(), chars: z.number().int().nonnegative() }).strict().optional(),
        response: z.object({ sha256: Hex64, tokens: z.number().int().nonnegative().optional(), chars: z.number().int().nonnegative() }).strict().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type AuditRecord = z.infer<typeof AuditRecordSchema>;

/** What a service says about an action; the log adds identity, time, sequence and chain. */
export interface AuditEventInput {
  action: AuditAction;
  outcome: 'success' | 'failure' | 'unknown';
  /** A reason code on failure, e.g. 'bad_credentials'. */
  reason?: string;
  user?: { id?: string; name: string; roles?: Role[]; authMethod?: string } | null;
  sessionId?: string;
  messageId?: string;
  workload?: string;
  model?: { id: string; sha256?: string };
  prompt?: { sha256: string; tokens?: number; chars: number };
  response?: { sha256: string; tokens?: number; chars: number };
  detail?: Record<string, string | number | boolean | null>;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new Error('value cannot be canonicalised');
  return text;
}

/** event.hash = SHA-256(0x00 ‖ JCS(record without event.hash)): also the RFC 6962 Merkle leaf hash. */
export function hashRecord(record: AuditRecord | Omit<AuditRecord, 'event'> & { event: Omit<AuditRecord['event'], 'hash'> & { hash?: string } }): string {
  const { hash: _omit, ...eventWithoutHash } = record.event;
  const unhashed = { ...record, event: eventWithoutHash };
  return createHash('sha256').update(Buffer.from([0])).update(canonicalJson(unhashed), 'utf8').digest('hex');
}
