// Windows has no mode bits: whether every local account can read a secret file
// (a HEC tokenFile) is in its ACL. `enclave doctor` reads the ACL as SDDL
// (PowerShell's Get-Acl; SIDs, so the answer does not depend on the language
// of the group names) and names the broad groups an allow entry lets read it.
// Only doctor does this: spawning PowerShell at every send would cost more
// than the check is worth, so delivery on Windows trusts the ACL IT set.
import { execFile } from 'node:child_process';

/** Well-known SIDs (SDDL abbreviations and full forms) that mean "every local account", or near enough. */
const BROAD_SIDS: Record<string, string> = {
  WD: 'Everyone',
  'S-1-1-0': 'Everyone',
  AU: 'Authenticated Users',
  'S-1-5-11': 'Authenticated Users',
  BU: 'Users',
  'S-1-5-32-545': 'Users',
  IU: 'Interactive users',
  'S-1-5-4': 'Interactive users',
  AN: 'Anonymous',
  'S-1-5-7': 'Anonymous',
  BG: 'Guests',
  'S-1-5-32-546': 'Guests',
};

/** SDDL access-right strings that include reading the file's data. */
const READING_RIGHTS = new Set(['GA', 'GR', 'FA', 'FR']);
const FILE_READ_DATA = 0x1;
const GENERIC_ALL = 0x10000000;
const GENERIC_READ = 0x80000000;

function rightsRead(rights: string): boolean {
  if (/^0x[0-9a-f]+$/i.test(rights)) {
    const mask = Number.parseInt(rights, 16);
    return (mask & (FILE_READ_DATA | GENERIC_ALL | GENERIC_READ)) !== 0;
  }
  // Letter codes come in pairs: GA, GR, FA, FR, ...
  for (let i = 0; i + 1 < rights.length; i += 2) if (READING_RIGHTS.has(rights.slice(i, i + 2))) return true;
  return false;
}

/**
 * The broad groups an SDDL string's DACL lets read the file, by name; a
 * missing or null DACL lets everyone. Deny entries are not weighed against
 * allow entries (an allow for Users with a deny for Everyone is rare, and
 * still worth a look).
 */
export function broadReaders(sddl: string): string[] {
  const dacl = /D:([^(]*)((?:\([^)]*\))*)/.exec(sddl);
  if (!dacl) return ['Everyone (no access list was found)'];
  if (dacl[1]!.includes('NO_ACCESS_CONTROL')) return ['Everyone (a null access list: NO_ACCESS_CONTROL)'];
  const readers = new Set<string>();
  for (const ace of dacl[2]!.matchAll(/\(([^)]*)\)/g)) {
    const [type, , rights, , , sid] = ace[1]!.split(';');
    if (type !== 'A' || rights === undefined || sid === undefined) continue;
    const group = BROAD_SIDS[sid.toUpperCase()] ?? BROAD_SIDS[sid];
    if (group && rightsRead(rights)) readers.add(group);
  }
  return [...readers];
}

/** The file's ACL as SDDL, or null when it could not be read (not Windows, no PowerShell, no access). */
export function readSddl(path: string, timeoutMs = 10_000): Promise<string | null> {
  if (process.platform !== 'win32') return Promise.resolve(null);
  const systemRoot = process.env.SystemRoot ?? 'C:\\Windows';
  const powershell = `${systemRoot}\\System32\\WindowsPowerShell\\v1.0\\powershell.exe`;
  return new Promise((resolve) => {
    execFile(
      powershell,
      ['-NoProfile', '-NonInteractive', '-Command', '(Get-Acl -LiteralPath $env:ENCLAVE_ACL_PATH).Sddl'],
      { windowsHide: true, timeout: timeoutMs, encoding: 'utf8', env: { ...process.env, ENCLAVE_ACL_PATH: path } },
      (error, stdout) => resolve(error ? null : stdout.trim() || null),
    );
  });
}
