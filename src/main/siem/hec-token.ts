// The Splunk HEC token of a destination: inline in policy (`token`, which every
// local account can read: HKLM\SOFTWARE\Policies, /etc/enclave, managed
// preferences), or in a file policy names (`tokenFile`), read at each send so
// a file IT fixes or rotates is used by the next attempt. The file must be
// readable by its owner only on POSIX (on Windows its ACL decides; see the
// admin guide). No message ever holds a byte of the token.
import { FILE_SIZE_LIMITS, readLimitedFile, UnreadableFileError } from '../files/index.js';
import { DeliveryError, type SiemDestination } from './types.js';

type HecDestination = Extract<SiemDestination, { type: 'splunk-hec' }>;

const isSpace = (byte: number): boolean => byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
/** What an HTTP header value can carry as a token: visible ASCII, no spaces. */
const isTokenByte = (byte: number): boolean => byte >= 0x21 && byte <= 0x7e;

/** The token in a token file's bytes (white space around it ignored), or what is wrong with them. */
export function tokenFromFileBytes(raw: Buffer): { token: string } | { problem: string } {
  let start = 0;
  let end = raw.length;
  while (start < end && isSpace(raw[start]!)) start++;
  while (end > start && isSpace(raw[end - 1]!)) end--;
  if (start === end) return { problem: raw.length === 0 ? 'is empty' : 'holds only white space' };
  for (let i = start; i < end; i++) {
    if (!isTokenByte(raw[i]!))
      return { problem: `holds a character that cannot be part of a HEC token (a space, a line break, a control or non-ASCII character, at byte ${i + 1}); it must hold the token alone` };
  }
  return { token: raw.toString('latin1', start, end) };
}

function unusable(destination: HecDestination, why: string, cause?: unknown): DeliveryError {
  return new DeliveryError(
    'configuration',
    `The tokenFile of SIEM destination "${destination.id}" cannot be used: ${destination.tokenFile} ${why}. Nothing is sent until it is fixed.`,
    cause === undefined ? undefined : { cause },
  );
}

/** The destination's token, from policy or read now from its tokenFile; a DeliveryError ('configuration') naming the file when it cannot be used. */
export async function readHecToken(destination: HecDestination): Promise<string> {
  if (destination.token !== undefined) return destination.token;
  const path = destination.tokenFile;
  if (path === undefined) throw new DeliveryError('configuration', `SIEM destination "${destination.id}" has neither token nor tokenFile.`);
  let raw: Buffer;
  try {
    raw = await readLimitedFile(path, { maxBytes: FILE_SIZE_LIMITS.token, ownerOnly: true });
  } catch (error) {
    if (error instanceof UnreadableFileError)
      throw unusable(
        destination,
        error.reason === 'unreadable' && error.errno === 'EACCES'
          ? 'cannot be read by Enclave (permission denied): it must be readable by the account Enclave runs as, and by no one else'
          : error.problem,
        error,
      );
    throw error;
  }
  try {
    const read = tokenFromFileBytes(raw);
    if ('problem' in read) throw unusable(destination, read.problem);
    return read.token;
  } finally {
    raw.fill(0);
  }
}
