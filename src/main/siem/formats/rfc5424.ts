// RFC 5424 syslog messages for audit events and batch manifests (pure: no I/O).
//
//   <PRI>1 TIMESTAMP HOSTNAME enclave - MSGID [enclave@<PEN> …] MSG
//
// Facility authpriv (10): these are security and authorisation records, which
// syslog receivers keep apart from ordinary system logs. MSGID AUDIT_EVENT for
// an event, AUDIT_BATCH for the signed manifest that closes a batch; the
// structured data carries what a SIEM needs to check completeness and order
// without parsing the body (event id, sequence, batch, hash; for a manifest the
// Merkle tree size and root).
import type { AuditRecord, BatchManifest } from '../../audit/index.js';

/** authpriv: security/authorisation messages (RFC 5424 section 6.2.1, facility 10). */
export const FACILITY_AUTHPRIV = 10;
export const APP_NAME = 'enclave';
export const MSGID_EVENT = 'AUDIT_EVENT';
export const MSGID_BATCH = 'AUDIT_BATCH';
/** Marks MSG as UTF-8 (RFC 5424 section 6.4, MSG-UTF8). */
export const BOM = '\uFEFF';

/** RFC 5424 severities Enclave uses. */
export const SEVERITY = { warning: 4, notice: 5, informational: 6 } as const;
export type SyslogSeverity = (typeof SEVERITY)[keyof typeof SEVERITY];

/** Actions a SIEM should look at even when they succeeded. */
const ALWAYS_WARNING: ReadonlySet<AuditRecord['event']['action']> = new Set(['auth.breakglass', 'ai.report', 'audit.corruption_detected']);

/**
 * How much an event matters: warning for break-glass access, a reported answer and detected audit
 * corruption, notice for anything that failed (or whose outcome is unknown),
 * informational for the rest. CEF and LEEF severities are derived from this.
 */
export function severityOf(record: AuditRecord): SyslogSeverity {
  if (ALWAYS_WARNING.has(record.event.action)) return SEVERITY.warning;
  return record.event.outcome === 'success' ? SEVERITY.informational : SEVERITY.notice;
}

export function priority(severity: SyslogSeverity): number {
  return FACILITY_AUTHPRIV * 8 + severity;
}

/**
 * A header field as RFC 5424 allows it: PRINTUSASCII (33..126) only, at most
 * `maxLength` characters, NILVALUE `-` when empty. Anything else (a space, a
 * non-ASCII letter in a host name) becomes `_`, so the header always parses.
 */
export function headerField(value: string, maxLength: number): string {
  const printable = value.replace(/[^\x21-\x7e]/g, '_').slice(0, maxLength);
  return printable === '' ? '-' : printable;
}

/** PARAM-VALUE escaping (RFC 5424 section 6.3.3): `"`, `\` and `]` get a backslash. */
export function escapeParamValue(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** One SD-ELEMENT: `[id name="value" …]`; parameters whose value is undefined are left out. */
export function structuredDataElement(id: string, params: readonly (readonly [string, string | number | undefined])[]): string {
  const rendered = params.filter(([, value]) => value !== undefined).map(([name, value]) => ` ${name}="${escapeParamValue(String(value))}"`);
  return `[${id}${rendered.join('')}]`;
}

/** The SD-ID of Enclave's element: a private one, named after the institution's IANA Private Enterprise Number. */
export function sdId(enterpriseNumber: number): string {
  return `enclave@${enterpriseNumber}`;
}

export interface SyslogMessage {
  severity: SyslogSeverity;
  /** RFC 3339 UTC with milliseconds, as the audit record keeps it. */
  timestamp: string;
  hostname: string;
  msgId: string;
  structuredData: string;
  /** MSG: either BOM + UTF-8 text, or text a CEF/LEEF parser expects to start the message. */
  body: string;
}

export function formatSyslogMessage(message: SyslogMessage): string {
  // HOSTNAME up to 255, APP-NAME up to 48, PROCID NILVALUE, MSGID up to 32 (RFC 5424 section 6.2).
  const header = `<${priority(message.severity)}>1 ${message.timestamp} ${headerField(message.hostname, 255)} ${APP_NAME} - ${headerField(message.msgId, 32)}`;
  return `${header} ${message.structuredData} ${message.body}`;
}

/** The structured data of an event: `[enclave@PEN eid="…" seq="…" batch="…" hash="…"]`. */
export function eventStructuredData(record: AuditRecord, batchSeq: number, enterpriseNumber: number): string {
  return structuredDataElement(sdId(enterpriseNumber), [
    ['eid', record.event.id],
    ['seq', record.event.sequence],
    ['batch', batchSeq],
    ['hash', record.event.hash],
  ]);
}

/** The structured data of a manifest; a heartbeat (no events) has no first/last. */
export function manifestStructuredData(manifest: BatchManifest, enterpriseNumber: number): string {
  return structuredDataElement(sdId(enterpriseNumber), [
    ['batch', manifest.batch_seq],
    ['first', manifest.first_seq ?? undefined],
    ['last', manifest.last_seq ?? undefined],
    ['size', manifest.tree_size],
    ['root', manifest.root],
  ]);
}
