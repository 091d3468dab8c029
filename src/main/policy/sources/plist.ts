// macOS: an MDM profile (Jamf, Intune, Kandji) with a custom-settings payload
// for Enclave's bundle id is written by the system to
// /Library/Managed Preferences/<bundle id>.plist, in binary or XML form.
// Its keys mirror the JSON policy: dictionaries for sections, arrays of
// dictionaries for models, workloads and SIEM destinations.
import { FILE_SIZE_LIMITS, readLimitedFileSync, UnreadableFileError } from '../../files/index.js';
import { parse, parseBinary, type PlistValue } from 'plist';
import { emptyLayer, layerFromDocument, type PolicyLayer } from '../resolve.js';

export const MAC_BUNDLE_ID = 'org.enclave.desktop';
export const MAC_MANAGED_PREFERENCES_PATH = `/Library/Managed Preferences/${MAC_BUNDLE_ID}.plist`;

/** Plist dates and data have no place in policy; they become strings the schema then rejects by name. */
function toJson(value: PlistValue): unknown {
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes of plist data>`;
  if (Array.isArray(value)) return value.map(toJson);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  return value;
}

export function layerFromPlist(bytes: Uint8Array, source: string): PolicyLayer {
  let value: PlistValue;
  try {
    const binary = Buffer.from(bytes.subarray(0, 8)).toString('latin1') === 'bplist00';
    value = binary ? parseBinary(bytes) : parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    const layer = emptyLayer(source);
    layer.problems.push({ key: null, source, message: `is not a readable property list: ${(error as Error).message}` });
    return layer;
  }
  const document = toJson(value);
  // A profile's own bookkeeping (PayloadUUID, PayloadVersion, ...) may be copied
  // beside the settings; it is not policy, and not worth a warning.
  if (document && typeof document === 'object' && !Array.isArray(document)) {
    for (const key of Object.keys(document)) if (key.startsWith('Payload')) delete (document as Record<string, unknown>)[key];
  }
  return layerFromDocument(document, source);
}

/** Null when no profile has set Enclave's managed preferences. */
export function readPlistPolicy(path: string = MAC_MANAGED_PREFERENCES_PATH): PolicyLayer | null {
  let bytes: Buffer;
  try {
    // Regular file, at most 1 MiB: see readJsonPolicyFile.
    bytes = readLimitedFileSync(path, { maxBytes: FILE_SIZE_LIMITS.policy });
  } catch (error) {
    if (!(error instanceof UnreadableFileError)) throw error;
    if (error.errno === 'ENOENT') return null;
    const layer = emptyLayer(path);
    layer.problems.push({ key: null, source: path, message: error.reason === 'missing' ? 'cannot be read: the file does not exist' : error.problem });
    return layer;
  }
  return layerFromPlist(bytes, path);
}
