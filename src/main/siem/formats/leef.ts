// An audit event as one IBM QRadar LEEF 2.0 line (pure):
//
//   LEEF:2.0|<vendor>|Enclave|<version>|<event.action>|^|key=value^key=value…
//
// The sixth header field declares `^` as the attribute delimiter (LEEF 1.0's
// tab is easily mangled by relays). Predefined LEEF keys where one fits
// (devTime, cat, sev, usrName, role, identHostName), Enclave's own keys for the
// rest. The EventID is the action and `cat` its outcome, so QRadar's QID map
// can tell a failed sign-in from a successful one, as IBM's guide suggests.
// Absent fields are left out. As with CEF, the complete record, byte for byte
// as hashed, travels in the rfc5424-json format.
import type { AuditRecord } from '../../audit/index.js';
import type { RenderContext } from '../types.js';
import { SEVERITY, severityOf, type SyslogSeverity } from './rfc5424.js';

export const LEEF_PRODUCT = 'Enclave';
export const LEEF_DELIMITER = '^';

/**
 * devTime as QRadar parses it: devTimeFormat is a Java SimpleDateFormat
 * pattern, which has no "epoch milliseconds", so the time is written out with
 * milliseconds and an explicit UTC offset and the pattern says so.
 */
export const LEEF_DEV_TIME_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSZ";

/** LEEF sev (1-10) for each syslog severity Enclave sends. */
const LEEF_SEVERITY: Record<SyslogSeverity, number> = {
  [SEVERITY.informational]: 3,
  [SEVERITY.notice]: 5,
  [SEVERITY.warning]: 8,
};

/**
 * An attribute value. LEEF defines no escape for the delimiter, so a `^` in a
 * value becomes a space, as do CR, LF and other control characters (a LEEF
 * event is one line). This changes only the LEEF rendering: event.hash covers
 * the canonical record, whose original text travels in the rfc5424-json format.
 */
export function leefValue(value: string): string {
  return value.replace(/[\^\x00-\x1f\x7f]/g, ' ');
}

/** A header field: `|` separates header fields and LEEF defines no escape for it, so it becomes a space (as do line breaks). */
export function leefHeaderField(value: string): string {
  return value.replace(/[|\x00-\x1f\x7f]/g, ' ');
}

/** `2024-05-01T12:00:00.123+0000` from `2024-05-01T12:00:00.123Z`. */
export function leefDevTime(timestamp: string): string {
  return new Date(Date.parse(timestamp)).toISOString().replace(/Z$/, '+0000');
}

export function renderLeef(record: AuditRecord, batchSeq: number, ctx: RenderContext): string {
  const { event, user, host, enclave, ai } = record;
  const attributes: [key: string, value: string | number | undefined][] = [
    ['devTime', leefDevTime(record['@timestamp'])],
    ['devTimeFormat', LEEF_DEV_TIME_FORMAT],
    ['cat', event.outcome],
    ['sev', LEEF_SEVERITY[severityOf(record)]],
    ['outcome', event.outcome],
    ['reason', event.reason],
    ['usrName', user?.name],
    ['userId', user?.id],
    ['role', user?.roles?.length ? user.roles.join(',') : undefined],
    ['authMethod', user?.auth_method],
    ['identHostName', host.name],
    ['hostId', host.id],
    ['eventId', event.id],
    ['seq', event.sequence],
    ['hash', event.hash],
    ['batch', batchSeq],
    ['sessionId', enclave.session_id],
    ['messageId', enclave.message_id],
    ['workload', enclave.workload],
    ['patientRef', enclave.patient_ref],
    ['modelId', enclave.model?.id],
    ['modelSha256', enclave.model?.sha256],
    // Keyed (HMAC-SHA-256 with the workstation's secret): only the workstation can check a text against it.
    ['promptHmacSha256', ai?.prompt?.hmac_sha256],
    ['responseHmacSha256', ai?.response?.hmac_sha256],
    // Records written before keyed hashes carry a plain SHA-256; sent as recorded.
    ['promptSha256', ai?.prompt?.sha256],
    ['responseSha256', ai?.response?.sha256],
  ];
  const header = ['LEEF:2.0', leefHeaderField(ctx.vendor), LEEF_PRODUCT, leefHeaderField(ctx.productVersion), leefHeaderField(event.action), LEEF_DELIMITER].join('|');
  const body = attributes
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([key, value]) => `${key}=${leefValue(String(value))}`)
    .join(LEEF_DELIMITER);
  return `${header}|${body}`;
}
