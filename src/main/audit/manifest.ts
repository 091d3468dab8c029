// The signed batch manifest of shared/design/audit-and-siem.md. Pure: no store,
// so the bundle verifier on another machine uses exactly this code.
//
// signature = Ed25519 over "enclave-audit-batch/v1\n" ‖ JCS(manifest without
// signature); the manifest hash that the next manifest chains to is
// SHA-256(JCS(manifest with signature)).
import { createPublicKey, verify } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson, sha256Hex } from './record.js';

export const MANIFEST_FORMAT = 'enclave-audit-batch/v1';
export const SIGNING_CONTEXT = `${MANIFEST_FORMAT}\n`;

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits');
const Base64 = z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64');
const Seq = z.number().int().positive();
const Time = z.string().datetime({ precision: 3 });

/** Why a manifest starts a new signature chain (its prev_* are null). */
export const StartReason = z.enum(['enrolment', 'key_rotation']);

export const BatchManifestSchema = z
  .object({
    format: z.literal(MANIFEST_FORMAT),
    origin: z.object({ institution: z.string(), host_id: z.string(), host_name: z.string() }).strict(),
    batch_seq: Seq,
    /** A heartbeat holds no events and proves that nothing happened since the last batch. */
    kind: z.enum(['events', 'heartbeat']),
    first_seq: Seq.nullable(),
    last_seq: Seq.nullable(),
    event_count: z.number().int().nonnegative(),
    oldest: Time.nullable(),
    newest: Time.nullable(),
    created: Time,
    /** RFC 6962 tree over every event since enrolment, and its root. */
    tree_size: z.number().int().nonnegative(),
    root: Hex64,
    prev_manifest_hash: Hex64.nullable(),
    prev_signature: Base64.nullable(),
    /** Set on a starting manifest (prev_* null): why the chain starts here. */
    start: z.object({ reason: StartReason, previous_key_id: Hex64.optional() }).strict().nullable(),
    key_id: Hex64,
    alg: z.literal('Ed25519'),
    signature: Base64,
  })
  .strict()
  .superRefine((m, ctx) => {
    const empty = m.event_count === 0;
    if (empty !== (m.kind === 'heartbeat')) ctx.addIssue({ code: 'custom', message: 'a heartbeat, and only a heartbeat, holds no events' });
    if (empty ? m.first_seq !== null || m.last_seq !== null : m.first_seq === null || m.last_seq === null || m.last_seq - m.first_seq + 1 !== m.event_count) {
      ctx.addIssue({ code: 'custom', message: 'first_seq, last_seq and event_count disagree' });
    }
    if (!empty && m.last_seq !== m.tree_size) ctx.addIssue({ code: 'custom', message: 'tree_size must equal last_seq' });
    if ((m.prev_manifest_hash === null) !== (m.prev_signature === null)) ctx.addIssue({ code: 'custom', message: 'prev_manifest_hash and prev_signature go together' });
    if ((m.start === null) === (m.prev_manifest_hash === null)) ctx.addIssue({ code: 'custom', message: 'a manifest either chains to the previous one or says why it starts' });
  });
export type BatchManifest = z.infer<typeof BatchManifestSchema>;
export type UnsignedManifest = Omit<BatchManifest, 'signature'>;

/** The exact bytes the signature covers. */
export function manifestSigningInput(manifest: UnsignedManifest | BatchManifest): Buffer {
  const { signature: _omit, ...unsigned } = manifest as BatchManifest;
  return Buffer.from(SIGNING_CONTEXT + canonicalJson(unsigned), 'utf8');
}

/** What the next manifest's prev_manifest_hash names. */
export function manifestHash(manifest: BatchManifest): string {
  return sha256Hex(canonicalJson(manifest));
}

export function verifyManifestSignature(manifest: BatchManifest, publicKeyPem: string): boolean {
  try {
    return verify(null, manifestSigningInput(manifest), createPublicKey(publicKeyPem), Buffer.from(manifest.signature, 'base64'));
  } catch {
    return false;
  }
}
