// An audit event as one ArcSight Common Event Format (CEF) line (pure):
//
//   CEF:0|<vendor>|Enclave|<version>|<event.action>|<name>|<severity>|<extension>
//
// Extension keys come from CEF's standard dictionary, with the custom string
// and number slots (cs1..cs6, cn1, flexString1/2) labelled for Enclave's own
// fields. Absent fields are left out. CEF carries the fields a SIEM searches
// and correlates on; the complete record, byte for byte as hashed, travels in
// the rfc5424-json format.
import { AUDIT_ACTION_LABELS } from '../../../shared/audit-actions.js';
import type { AuditRecord } from '../../audit/index.js';
import type { RenderContext } from '../types.js';
import { SEVERITY, severityOf, type SyslogSeverity } from './rfc5424.js';

export const CEF_PRODUCT = 'Enclave';

/** CEF severity (0-10: 0-3 low, 4-6 medium, 7-8 high) for each syslog severity Enclave sends. */
const CEF_SEVERITY: Record<SyslogSeverity, number> = {
  [SEVERITY.informational]: 3,
  [SEVERITY.notice]: 5,
  [SEVERITY.warning]: 8,
};

/** Header fields: `\` → `\\`, `|` → `\|`; CEF defines no line breaks in the header, so they become spaces. */
export function escapeCefHeader(value: string): string {
  return value.replace(/[\\|]/g, (c) => `\\${c}`).replace(/\r\n|[\r\n]/g, ' ');
}

/** Extension values: `\` → `\\`, `=` → `\=`, CR → `\r`, LF → `\n` (pipes need no escape there). */
export function escapeCefValue(value: string): string {
  return value.replace(/[\\=\r\n]/g, (c) => (c === '\r' ? '\\r' : c === '\n' ? '\\n' : `\\${c}`));
}

type Extension = [key: string, value: string | number | undefined][];

function labelled(slot: string, label: string, value: string | number | undefined): Extension {
  return value === undefined
    ? []
    : [
        [slot, value],
        [`${slot}Label`, label],
      ];
}

export function renderCef(record: AuditRecord, batchSeq: number, ctx: RenderContext): string {
  const { event, user, host, enclave } = record;
  const extension: Extension = [
    ['rt', Date.parse(record['@timestamp'])],
    ['externalId', event.id],
    ['act', event.action],
    ['cat', event.action.split('.')[0]],
    ['outcome', event.outcome],
    ['reason', event.reason],
    ['suser', user?.name],
    ['suid', user?.id],
    ['dvchost', host.name],
    ['deviceExternalId', host.id],
    ...labelled('cn1', 'sequence', event.sequence),
    ...labelled('cs1', 'eventHash', event.hash),
    ...labelled('cs2', 'sessionId', enclave.session_id),
    ...labelled('cs3', 'modelSha256', enclave.model?.sha256),
    ...labelled('cs4', 'batch', batchSeq),
    ...labelled('cs5', 'roles', user?.roles?.length ? user.roles.join(',') : undefined),
    ...labelled('cs6', 'modelId', enclave.model?.id),
    ...labelled('flexString1', 'workload', enclave.workload),
    ...labelled('flexString2', 'patientRef', enclave.patient_ref),
  ];
  const header = [
    'CEF:0',
    escapeCefHeader(ctx.vendor),
    CEF_PRODUCT,
    escapeCefHeader(ctx.productVersion),
    escapeCefHeader(event.action),
    escapeCefHeader(AUDIT_ACTION_LABELS[event.action]),
    String(CEF_SEVERITY[severityOf(record)]),
  ].join('|');
  const ext = extension
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([key, value]) => `${key}=${escapeCefValue(String(value))}`)
    .join(' ');
  return `${header}|${ext}`;
}
