// Under managed policy a model file must be one that only administrators can
// change: the SHA-256 check proves what was there when it was hashed, and
// the load is bound to that file (chat.ts), but a file or folder that anyone
// may write invites a swap between the two, and a swap in place is only
// caught by the next check. So the file and every folder above it, up to the
// root, must be writable only by administrators.
//
// POSIX rule: each is owned by root or by the account the core runs as
// (whoever holds that account controls the core's process anyway, so its
// files add no one), and is writable by no one else: no write bit for
// others, and none for its group unless that is an administrators' group
// (gid 0, and admin on macOS). A folder with the sticky bit (such as /tmp) is
// the exception: others may add files there but not rename or remove
// someone else's.
//
// The limit of that rule: where the desktop app runs as the signed-in
// clinician, that clinician's own files pass (the core cannot tell its
// account from the person's). `enclave doctor`, run by IT as root or an
// administrator, applies the rule with its own account, so it flags them.
//
// Windows: not checked. Deciding who may write needs the file's ACL (and the
// folders'), which Node does not expose; calling icacls and parsing its
// localised output is not a check to rely on. The installer's folder ACLs are
// what protect the models there; the load is still bound to the checked file.
import { realpath, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { modelFileError } from './model-file.js';

const OTHER_WRITE = 0o002;
const GROUP_WRITE = 0o020;
const STICKY = 0o1000;
/** Groups whose members are administrators anyway: root/wheel, and admin on macOS. */
const ADMIN_GIDS: ReadonlySet<number> = new Set(process.platform === 'darwin' ? [0, 80] : [0]);

/** True where the check means something; false on Windows (see above). */
export const FILE_PROTECTION_CHECKED = process.platform !== 'win32';

function ancestorsOf(path: string): string[] {
  const chain = [path];
  for (let dir = dirname(path); chain.at(-1) !== dir; dir = dirname(dir)) chain.push(dir);
  return chain;
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/**
 * Why a model file is not protected from non-administrators (naming the path
 * and the permission), or null when it is, or when the platform is not checked.
 * Both the folders of the path as listed and those of the file it resolves to
 * are checked: a symbolic link can be changed by whoever may write its folder.
 */
export async function modelFileProtectionProblem(path: string): Promise<string | null> {
  if (!FILE_PROTECTION_CHECKED) return null;
  const listed = resolve(path);
  let real: string;
  try {
    real = await realpath(listed);
  } catch (error) {
    throw modelFileError(listed, error);
  }
  const ownUid = process.getuid?.() ?? 0;
  const paths = [...new Set([...ancestorsOf(real), ...ancestorsOf(listed).slice(1)])];
  for (const candidate of paths) {
    let stats;
    try {
      stats = await stat(candidate);
    } catch (error) {
      throw modelFileError(candidate, error);
    }
    const what = candidate === real ? 'the file' : 'the folder';
    if (stats.uid !== 0 && stats.uid !== ownUid) {
      return `${what} ${candidate} is owned by user id ${stats.uid}, not by root or the account Enclave runs as (user id ${ownUid})`;
    }
    const otherWrite = (stats.mode & OTHER_WRITE) !== 0;
    const groupWrite = (stats.mode & GROUP_WRITE) !== 0 && !ADMIN_GIDS.has(stats.gid);
    if ((otherWrite || groupWrite) && (stats.isFile() || (stats.mode & STICKY) === 0)) {
      const who = otherWrite ? 'anyone' : `its group (group id ${stats.gid})`;
      return `${what} ${candidate} can be written by ${who} (mode ${octal(stats.mode)})`;
    }
  }
  return null;
}
