// Front door of the files service: reading a small file that someone else
// names (policy files, the key file, PEM and CRL files named by policy, the
// directory lookup password). Every such read goes through here, so none can
// hang on a FIFO, read /dev/zero until memory runs out, or take a 4 GB "CA
// file" into memory: only a regular file is read, and at most a fixed size.
//
// A leaf service: it imports nothing from main/ but the shared error type, so
// policy, keys, identity, siem and cli can all use it without a cycle.
//
// Why open-then-fstat rather than stat-then-read: stat and open are two
// lookups of the path, and the file can be swapped between them; the open fd
// is the file that will be read. O_NONBLOCK makes the open itself return at
// once on a FIFO with no writer (a plain open would block until one appears);
// it changes nothing for a regular file. Windows has no O_NONBLOCK, and its
// named pipes live under \\.\pipe\, which fstat reports as not a file.
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { EnclaveError } from '../../shared/errors.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Size caps by what a file is for; a file over its cap is refused, never truncated. */
export const FILE_SIZE_LIMITS = {
  /** A policy file (JSON, plist): real ones are a few KiB. */
  policy: 1 * MiB,
  /** The database key file: 64 hex characters. */
  keyFile: 4 * KiB,
  /** A password file (the directory lookup account's). */
  secret: 64 * KiB,
  /** A Splunk HEC token file: a GUID, and a newline. */
  token: 4 * KiB,
  /** PEM certificates and keys, including a whole CA bundle (the OS bundle is ~0.2 MiB). */
  pem: 4 * MiB,
  /** A CRL: a large CA's CRL runs to tens of MiB. */
  crl: 64 * MiB,
} as const;

export type UnreadableReason = 'missing' | 'not-regular' | 'too-large' | 'unreadable' | 'not-private';

/**
 * A file that cannot be used. `problem` says what is wrong without the path
 * (for messages that name the path already, such as policy notices); `message`
 * is the whole sentence, path first.
 */
export class UnreadableFileError extends EnclaveError {
  readonly reason: UnreadableReason;
  readonly path: string;
  readonly problem: string;
  /** The errno code when the OS refused (ENOENT, EACCES, ...). */
  readonly errno: string | undefined;
  constructor(path: string, reason: UnreadableReason, problem: string, options?: { cause?: unknown; errno?: string | undefined }) {
    super('invalid_input', `${path} ${problem}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UnreadableFileError';
    this.path = path;
    this.reason = reason;
    this.problem = problem;
    this.errno = options?.errno;
  }
}

export interface ReadLimitedOptions {
  /** Refuse a file larger than this many bytes. */
  maxBytes: number;
  /**
   * A secret (the database key file, a HEC token file): on POSIX, refuse it
   * when its mode gives group or others any access (mode & 0o077), checked on
   * the opened file. Never fixed here: a file someone else could read may
   * already have been read. Windows has no such mode bits (its ACL decides;
   * the admin guide says how to restrict it), so nothing is checked there.
   */
  ownerOnly?: boolean;
}

/** The chmod that makes a file private, for messages. */
export function ownerOnlyFix(path: string): string {
  return `chmod 600 '${path.replace(/'/g, "'\\''")}'`;
}

function checkOwnerOnly(path: string, stats: Stats): void {
  if (process.platform === 'win32') return;
  const open = stats.mode & 0o077;
  if (open === 0) return;
  const mode = (stats.mode & 0o777).toString(8).padStart(3, '0');
  throw new UnreadableFileError(
    path,
    'not-private',
    `can be ${open & 0o044 ? 'read' : 'changed'} by ${open & 0o007 ? 'every local account' : 'its group'} (mode ${mode}); it holds a secret and must be readable by its owner only: ${ownerOnlyFix(path)}`,
  );
}

/** The open flags: read only, never block on a FIFO, never make a terminal ours. */
function readFlags(): number {
  return constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);
}

function kind(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isDirectory()) return 'a folder';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a plain file';
}

export function describeSize(bytes: number): string {
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= KiB && bytes % KiB === 0) return `${bytes / KiB} KiB`;
  return `${bytes} bytes`;
}

function openError(path: string, error: unknown): UnreadableFileError {
  const errno = (error as NodeJS.ErrnoException).code;
  if (errno === 'ENOENT' || errno === 'ENOTDIR') return new UnreadableFileError(path, 'missing', 'does not exist', { cause: error, errno });
  if (errno === 'EACCES' || errno === 'EPERM') return new UnreadableFileError(path, 'unreadable', 'cannot be read (permission denied)', { cause: error, errno });
  if (errno === 'EISDIR') return new UnreadableFileError(path, 'not-regular', 'is a folder, not a regular file', { cause: error, errno });
  if (errno === 'ELOOP') return new UnreadableFileError(path, 'unreadable', 'cannot be read (too many symbolic links)', { cause: error, errno });
  return new UnreadableFileError(path, 'unreadable', `cannot be read (${(error as Error).message})`, { cause: error, errno });
}

function checkOpened(path: string, stats: Stats, maxBytes: number): void {
  if (!stats.isFile()) throw new UnreadableFileError(path, 'not-regular', `is ${kind(stats)}, not a regular file`);
  if (stats.size > maxBytes) throw new UnreadableFileError(path, 'too-large', `is larger than ${describeSize(maxBytes)} (${stats.size.toLocaleString('en-US')} bytes)`);
}

function grewError(path: string, maxBytes: number): UnreadableFileError {
  return new UnreadableFileError(path, 'too-large', `is larger than ${describeSize(maxBytes)} (it grew while being read)`);
}

/** Room for the file as fstat saw it plus one byte, to notice at once if it grew. */
function initialCapacity(stats: Stats, maxBytes: number): number {
  return Math.min(stats.size, maxBytes) + 1;
}

/** A file that grew after fstat (or reports size 0, as some do): more room, never past the cap + 1. */
function grown(path: string, buffer: Buffer, maxBytes: number): Buffer {
  if (buffer.length > maxBytes) throw grewError(path, maxBytes);
  const bigger = Buffer.alloc(Math.min(Math.max(buffer.length * 2, 64 * KiB), maxBytes + 1));
  buffer.copy(bigger);
  buffer.fill(0);
  return bigger;
}

/**
 * Opens a regular file for reading, of any size, for a caller that streams it
 * in bounded chunks (the audit bundle's events); the caller closes the fd.
 * A FIFO, a device or a folder is refused at once, as by readLimitedFileSync.
 */
export function openRegularFileSync(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, readFlags());
  } catch (error) {
    throw openError(path, error);
  }
  try {
    checkOpened(path, fstatSync(fd), Number.MAX_SAFE_INTEGER);
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/**
 * What both readers fill, after checking the opened file: it grows in steps
 * and refuses to pass maxBytes, whatever the file claimed when it was opened.
 */
class BoundedBuffer {
  #buffer: Buffer;
  #length = 0;

  constructor(
    private readonly path: string,
    stats: Stats,
    private readonly options: ReadLimitedOptions,
  ) {
    checkOpened(path, stats, options.maxBytes);
    if (options.ownerOnly) checkOwnerOnly(path, stats);
    this.#buffer = Buffer.alloc(initialCapacity(stats, options.maxBytes));
  }

  /** Where the next read goes: buffer, offset, length. */
  space(): [Buffer, number, number] {
    if (this.#length === this.#buffer.length) this.#buffer = grown(this.path, this.#buffer, this.options.maxBytes);
    return [this.#buffer, this.#length, this.#buffer.length - this.#length];
  }

  /** Counts a read of n bytes; false at the end of the file. */
  took(n: number): boolean {
    if (n === 0) return false;
    this.#length += n;
    if (this.#length > this.options.maxBytes) throw grewError(this.path, this.options.maxBytes);
    return true;
  }

  bytes(): Buffer {
    return this.#buffer.subarray(0, this.#length);
  }
}

/**
 * Reads a regular file of at most `maxBytes`, or throws UnreadableFileError
 * naming the path and the problem. Reads at most maxBytes + 1 bytes, so a file
 * that grows after the size check is refused too.
 */
export function readLimitedFileSync(path: string, options: ReadLimitedOptions): Buffer {
  let fd: number;
  try {
    fd = openSync(path, readFlags());
  } catch (error) {
    throw openError(path, error);
  }
  try {
    const into = new BoundedBuffer(path, fstatSync(fd), options);
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, ...into.space(), null);
      } catch (error) {
        throw openError(path, error);
      }
      if (!into.took(n)) break;
    }
    return into.bytes();
  } finally {
    closeSync(fd);
  }
}

/** readLimitedFileSync off the event loop. */
export async function readLimitedFile(path: string, options: ReadLimitedOptions): Promise<Buffer> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, readFlags());
  } catch (error) {
    throw openError(path, error);
  }
  try {
    const into = new BoundedBuffer(path, await handle.stat(), options);
    for (;;) {
      let n: number;
      try {
        ({ bytesRead: n } = await handle.read(...into.space()));
      } catch (error) {
        throw openError(path, error);
      }
      if (!into.took(n)) break;
    }
    return into.bytes();
  } finally {
    await handle.close();
  }
}
