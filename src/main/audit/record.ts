// The audit event record (see shared/design/audit-and-siem.md): canonical JSON
// with Elastic Common Schema field names, chained by hash. Never holds prompt
// or response text, nor any other text a person typed: only its length and a
// keyed hash (HMAC-SHA-256 with the workstation's secret, private-text.ts).
// Records written before keyed hashes carry a plain sha256 of the prompt and
// answer instead; they still parse, so old chains and bundles still verify.
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { z } from 'zod';
import { Role } from '../../shared/api.js';
import { AUDIT_ACTIONS, type AuditAction } from '../../shared/audit-actions.js';

export { AUDIT_ACTIONS, type AuditAction };

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/);

/** A prompt or answer as the record names it: hmac_sha256 (keyed), or in records written before keyed hashes, sha256. */
const TextDigest = z
  .object({
    hmac_sha256: Hex64.optional(),
    /** Only in records written before keyed hashes; never written now. */
    sha256: Hex64.optional(),
    tokens: z.number().int().nonnegative().optional(),
    chars: z.number().int().nonnegative(),
  })
  .strict()
  .refine((d) => (d.hmac_sha256 === undefined) !== (d.sha256 === undefined), { message: 'a prompt or answer names exactly one of hmac_sha256 and (in older records) sha256' });

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
        prompt: TextDigest.optional(),
        response: TextDigest.optional(),
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
  /**
   * typed: the name is what a person typed (a failed sign-in, a card's label)
   * and names no account here; the record gets its keyed token
   * (hmac-sha256:<hex>) and the text goes to the local private text.
   */
  user?: { id?: string; name: string; roles?: Role[]; authMethod?: string; typed?: boolean } | null;
  sessionId?: string;
  messageId?: string;
  workload?: string;
  model?: { id: string; sha256?: string };
  /** The prompt and answer text: the record gets their length and keyed hash, never the text. */
  prompt?: { text: string; tokens?: number };
  response?: { text: string; tokens?: number };
  detail?: Record<string, string | number | boolean | null>;
  /**
   * Free text a person typed that the event is about (a break-glass reason),
   * by field name: the record gets detail.<field>_hmac and detail.<field>_chars;
   * the text is kept on this workstation only (audit_private_text).
   */
  privateText?: Record<string, string>;
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
export function hashRecord(record: AuditRecord | (Omit<AuditRecord, 'event'> & { event: Omit<AuditRecord['event'], 'hash'> & { hash?: string } })): string {
  const { hash: _omit, ...eventWithoutHash } = record.event;
  const unhashed = { ...record, event: eventWithoutHash };
  return createHash('sha256')
    .update(Buffer.from([0]))
    .update(canonicalJson(unhashed), 'utf8')
    .digest('hex');
}
