// A path to a file on this workstation, as it crosses a boundary (a call's
// input, a policy value). Checked here so the dispatcher (or the policy
// resolver) refuses a bad one with a clear message before any service sees it:
// a NUL byte makes every fs call throw an internal TypeError, control
// characters are never part of a real path and garble logs and messages, and
// a relative path would resolve against whatever folder the core happened to
// start in. Messages never repeat the path, which may be long or hostile.
// Refinements rather than regexes, so the policy's generated JSON schema and
// templates do not change.
import { z } from 'zod';

/** Longer than any real path (Windows long paths top out at 32,767 UTF-16 units; Linux PATH_MAX is 4096 bytes). */
export const LOCAL_PATH_MAX_CHARS = 4096;

/** NUL has its own message. */
const CONTROL_CHARACTER = /[\u0001-\u001f\u007f]/;

/** POSIX /..., Windows C:\... or C:/..., or a UNC \\server\share path. */
export function isAbsoluteLocalPath(path: string): boolean {
  return path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path) || /^\\\\[^\\]/.test(path);
}

export const LocalPath = z
  .string()
  .min(1, 'Enter a path.')
  .max(LOCAL_PATH_MAX_CHARS, `A path has at most ${LOCAL_PATH_MAX_CHARS} characters.`)
  .refine((path) => !path.includes('\u0000'), 'A path cannot contain a NUL byte.')
  .refine((path) => !CONTROL_CHARACTER.test(path), 'A path cannot contain control characters (line breaks, tabs, escapes).');

export const AbsoluteLocalPath = LocalPath.refine(isAbsoluteLocalPath, 'Give the full path of the file (starting with / or a drive letter such as C:\\).');
