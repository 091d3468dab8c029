// An example macOS configuration profile (.mobileconfig).
import { createHash } from 'node:crypto';
import { build as buildPlist, type PlistValue } from 'plist';
import { MAC_BUNDLE_ID } from '../sources/plist.js';
import { EXAMPLE_MANAGED_POLICY, MOBILECONFIG_IDENTIFIER } from './constants.js';

/** An upper-case UUID derived from SHA-256 of a fixed name (RFC 9562 version 8 layout), so profiles are reproducible. */
export function deterministicUuid(name: string): string {
  const bytes = createHash('sha256').update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex').toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** JSON → plist value; plist has no null, so a null in the example is an error rather than a silently dropped key. */
function toPlist(value: unknown, path: string): PlistValue {
  if (value === null || value === undefined) throw new Error(`${path || 'the example'} is ${String(value)}, which a property list cannot hold`);
  if (Array.isArray(value)) return value.map((item, i) => toPlist(item, `${path}[${i}]`));
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, toPlist(v, path ? `${path}.${k}` : k)]));
  }
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  // Whole numbers become <integer>, others (a workload's temperature) <real>; both read back as numbers.
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw new Error(`${path} is ${JSON.stringify(value)}, which policy does not use`);
}

/** The example settings as the payload carries them (the editor-only $schema key dropped). */
export function exampleManagedSettings(): Record<string, unknown> {
  return Object.fromEntries(Object.entries(EXAMPLE_MANAGED_POLICY).filter(([key]) => !key.startsWith('$')));
}

export function renderMobileconfig(): string {
  const settings = toPlist(exampleManagedSettings(), '') as Record<string, PlistValue>;
  const institution = (EXAMPLE_MANAGED_POLICY.institution as { name?: string } | undefined)?.name ?? 'Example institution';
  const payloadIdentifier = `${MOBILECONFIG_IDENTIFIER}.settings`;
  const profile: PlistValue = {
    PayloadContent: [
      {
        PayloadDisplayName: 'Enclave settings',
        PayloadIdentifier: payloadIdentifier,
        PayloadType: MAC_BUNDLE_ID,
        PayloadUUID: deterministicUuid(payloadIdentifier),
        PayloadVersion: 1,
        PayloadEnabled: true,
        ...settings,
      },
    ],
    PayloadDescription:
      "Managed policy for Enclave. The values are an example (resources/policy/example-managed.json): replace the institution, directory, smart-card, SIEM and model settings with your own, and set each model's real SHA-256, before deploying.",
    PayloadDisplayName: 'Enclave managed policy',
    PayloadIdentifier: MOBILECONFIG_IDENTIFIER,
    PayloadOrganization: institution,
    PayloadRemovalDisallowed: true,
    PayloadScope: 'System',
    PayloadType: 'Configuration',
    PayloadUUID: deterministicUuid(MOBILECONFIG_IDENTIFIER),
    PayloadVersion: 1,
  };
  const xml = buildPlist(profile, { pretty: true, indent: '  ', newline: '\n' });
  return xml.endsWith('\n') ? xml : `${xml}\n`;
}
