// macOS: an MDM profile (Jamf, Intune, Kandji) with a custom-settings payload
// for Enclave's bundle id is written by the system to
// /Library/Managed Preferences/<bundle id>.plist, in binary or XML form.
// Its keys mirror the JSON policy: dictionaries for sections, arrays of
// dictionaries for models, workloads and SIEM destinations.
import { FILE_SIZE_LIMITS, readLimitedFileSync, UnreadableFileError } from '../../files/index.js';
import { DOMParser, type Document, type Node } from '@xmldom/xmldom';
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

/** Where in the XML, as "at line L, column C", or nothing when the parser did not say. */
function at(line: number | undefined, column: number | undefined): string {
  return typeof line === 'number' && line > 0 ? ` at line ${line}${typeof column === 'number' && column > 0 ? `, column ${column}` : ''}` : '';
}

interface XmlCheck {
  /** The first error's position, when the XML is not well-formed. */
  fault: string | null;
  /** The parsed document, to find where plist's own complaint lies. */
  document: Document | undefined;
}

/**
 * Parses the XML silently and notes where the first error is. xmldom's default
 * handler prints each error to the console, with the text around it; plist's
 * messages name the offending tag or text. Neither is shown: a value may hold
 * a secret (a HEC token), so a problem is told by where it is, never by what.
 */
function checkXml(text: string): XmlCheck {
  let fault: string | null = null;
  let document: Document | undefined;
  try {
    document = new DOMParser({
      onError: (_level, _message, context) => {
        // Warnings too: plist's own parse prints them, text and all, so only XML that raises none goes on to it.
        if (fault !== null) return;
        const locator = (context as { locator?: { lineNumber?: number; columnNumber?: number } } | undefined)?.locator;
        fault = at(locator?.lineNumber, locator?.columnNumber);
      },
    }).parseFromString(text, 'text/xml');
  } catch {
    fault ??= '';
  }
  return { fault, document };
}

const PLIST_ELEMENTS = new Set(['plist', 'dict', 'key', 'array', 'string', 'integer', 'real', 'date', 'data', 'true', 'false']);

/** plist's complaints that are fixed text (none quotes the document), in words for IT. */
const PLIST_PROBLEMS: Record<string, string> = {
  'malformed document. First element should be <plist>': 'its first element is not <plist>',
  'Missing key while parsing <dict/>.': 'a <dict> holds a value without a <key> before it',
  'Unexpected <key> while parsing <dict/>. Keys and values must alternate.': 'a <dict> holds two <key>s in a row',
  '__proto__ keys can lead to prototype pollution. More details on CVE-2022-22912': 'it holds a __proto__ key',
  'Cannot parse "" as integer.': 'it holds an empty <integer>',
  'Cannot parse "" as real.': 'it holds an empty <real>',
  'Cannot parse "" as Date.': 'it holds an empty <date>',
};

/** The first element a property list does not allow, by position. */
function unknownElementAt(document: Document | undefined): string {
  const walk = (node: Node | null | undefined): string | null => {
    for (let child = node?.firstChild; child; child = child.nextSibling) {
      if (child.nodeType === 1 && !PLIST_ELEMENTS.has(child.nodeName)) {
        const located = child as unknown as { lineNumber?: number; columnNumber?: number };
        return at(located.lineNumber, located.columnNumber);
      }
      const inner = walk(child);
      if (inner !== null) return inner;
    }
    return null;
  };
  return walk(document) ?? '';
}

export function layerFromPlist(bytes: Uint8Array, source: string): PolicyLayer {
  const refuse = (message: string): PolicyLayer => {
    const layer = emptyLayer(source);
    layer.problems.push({ key: null, source, message });
    return layer;
  };
  let value: PlistValue;
  const binary = Buffer.from(bytes.subarray(0, 8)).toString('latin1') === 'bplist00';
  if (binary) {
    try {
      value = parseBinary(bytes);
    } catch {
      // A binary plist is written by the system, never by hand; its parser's messages hold numbers read from the data.
      return refuse('is not a readable property list (a damaged binary plist)');
    }
  } else {
    const text = Buffer.from(bytes).toString('utf8');
    const xml = checkXml(text);
    if (xml.fault !== null) return refuse(`is not a readable property list: the XML is not well-formed${xml.fault}`);
    try {
      value = parse(text);
    } catch (error) {
      const message = (error as Error).message;
      const known = PLIST_PROBLEMS[message];
      if (known) return refuse(`is not a readable property list: ${known}`);
      if (message.startsWith('Invalid PLIST tag')) return refuse(`is not a readable property list: it holds an element a property list does not allow${unknownElementAt(xml.document)}`);
      return refuse('is not a readable property list');
    }
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
