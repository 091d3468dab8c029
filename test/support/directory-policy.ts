// The managed policy the directory tests run under: the test DC, its CA and
// groups, break-glass for its break-glass group, and the generated test model.
import type { SambaDcInfo } from './samba-dc.js';

export function directoryPolicyDocument(dc: SambaDcInfo, model: { path: string; sha256: string }, directory: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    mode: 'managed',
    institution: { name: 'St Elsewhere Hospital' },
    directory: {
      servers: [dc.ldapsUrl],
      caFile: dc.caFile,
      baseDn: dc.baseDn,
      netbiosDomain: dc.netbiosDomain,
      upnSuffix: dc.upnSuffix,
      timeoutSeconds: 5,
      roleGroups: { clinician: [dc.groups.clinicians], researcher: [dc.groups.researchers], compliance: [dc.groups.compliance], administrator: [dc.groups.admins] },
      ...directory,
    },
    breakGlass: { enabled: true, groups: [dc.groups.breakGlass] },
    inference: { models: [{ id: 'test', name: 'Test model', path: model.path, sha256: model.sha256 }], workloads: [{ id: 'notes', name: 'Notes', model: 'test' }] },
  };
}
