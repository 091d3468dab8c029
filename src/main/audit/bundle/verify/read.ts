// Reading a bundle's files without trusting them: line by line in bounded
// chunks (never a whole file of unknown size), regular files only, and a
// clear refusal of a line longer than any record of a bundle.
import { closeSync, existsSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { z } from 'zod';
import { EnclaveError } from '../../../../shared/errors.js';
import { openRegularFileSync, readLimitedFileSync, UnreadableFileError } from '../../../files/index.js';
import { canonicalJson } from '../../record.js';

/** One event, manifest, proof or CSV record is kilobytes; a "line" of gigabytes would only fill memory. */
const MAX_LINE_CHARS = 16 * 1024 * 1024;

function lineTooLong(path: string): EnclaveError {
  return new EnclaveError('invalid_input', `${path} has a line of more than ${MAX_LINE_CHARS.toLocaleString('en-US')} characters; it is not a file of an Enclave audit bundle.`);
}

/** Lines of a file, read in chunks (never the whole file at once); a CR before the LF is dropped. */
export function* fileLines(path: string): Generator<string> {
  // A regular file only: a FIFO or /dev/zero named events.jsonl must not hang or flood the verifier.
  const fd = openRegularFileSync(path);
  try {
    const chunk = Buffer.alloc(1 << 20);
    const decoder = new StringDecoder('utf8');
    let rest = '';
    for (;;) {
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      rest += decoder.write(chunk.subarray(0, read));
      let start = 0;
      for (let end = rest.indexOf('\n', start); end !== -1; end = rest.indexOf('\n', start)) {
        yield rest.charCodeAt(end - 1) === 13 ? rest.slice(start, end - 1) : rest.slice(start, end);
        start = end + 1;
      }
      rest = rest.slice(start);
      if (rest.length > MAX_LINE_CHARS) throw lineTooLong(path);
    }
    rest += decoder.end();
    if (rest.length > 0) yield rest;
  } finally {
    closeSync(fd);
  }
}

/** RFC 4180 records of a CSV file, as their raw text without the line end (quoted line breaks stay inside). */
export function* csvRecords(path: string): Generator<string> {
  // A regular file only: a FIFO or /dev/zero named events.jsonl must not hang or flood the verifier.
  const fd = openRegularFileSync(path);
  try {
    const chunk = Buffer.alloc(1 << 20);
    const decoder = new StringDecoder('utf8');
    let record = '';
    let quoted = false;
    let pendingCr = false;
    for (;;) {
      const read = readSync(fd, chunk, 0, chunk.length, null);
      const text = read === 0 ? decoder.end() : decoder.write(chunk.subarray(0, read));
      let start = 0;
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (pendingCr) {
          pendingCr = false;
          if (c === 10) {
            yield record;
            record = '';
            start = i + 1;
            continue;
          }
          record += '\r';
        }
        if (c === 34) quoted = !quoted;
        else if (!quoted && c === 13) {
          record += text.slice(start, i);
          start = i + 1;
          pendingCr = true;
        } else if (!quoted && c === 10) {
          record += text.slice(start, i);
          start = i + 1;
          yield record;
          record = '';
        }
      }
      record += text.slice(start);
      if (record.length > MAX_LINE_CHARS) throw lineTooLong(path);
      if (read === 0) break;
    }
    if (pendingCr) record += '\r';
    if (record.length > 0) yield record;
  } finally {
    closeSync(fd);
  }
}

/** Are an object's keys, at every level, in the UTF-16 code-unit order that JCS sorts by? */
function keysInCodeUnitOrder(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) return value.every(keysInCodeUnitOrder);
  const keys = Object.keys(value);
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! >= keys[i]!) return false;
  return Object.values(value).every(keysInCodeUnitOrder);
}

/**
 * Is `text` the canonical JSON (RFC 8785) of `value`, its parse? JCS output is
 * JSON.stringify's with keys sorted by code unit, so the usual case is checked
 * without re-serialising through canonicalize; anything else (integer-like
 * keys, which JS orders numerically) falls back to canonicalJson itself.
 */
export function isCanonicalText(text: string, value: unknown): boolean {
  if (JSON.stringify(value) === text && keysInCodeUnitOrder(value)) return true;
  try {
    return canonicalJson(value) === text;
  } catch {
    return false;
  }
}

/** bundle.json and keys.json hold a header and a few public keys: kilobytes. */
const BUNDLE_JSON_MAX_BYTES = 16 * 1024 * 1024;

export function readJsonFile(path: string): { ok: true; value: unknown } | { ok: false; why: string } {
  if (!existsSync(path)) return { ok: false, why: 'the file is missing' };
  let text: string;
  try {
    text = readLimitedFileSync(path, { maxBytes: BUNDLE_JSON_MAX_BYTES }).toString('utf8');
  } catch (error) {
    if (error instanceof UnreadableFileError) return { ok: false, why: `it ${error.problem}` };
    throw error;
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, why: `it is not valid JSON (${(error as Error).message})` };
  }
}

export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message}` : 'schema mismatch';
}
