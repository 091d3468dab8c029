// Windows Group Policy (and Intune's ADMX-backed policies) land in
// HKLM\SOFTWARE\Policies\Enclave and, for user-settable keys, HKCU. We read
// them with `reg.exe query <key> /s`, the tool every Windows has, and parse its
// text output: a header line per key, then one line per value,
//   "    <name>    <REG_TYPE>    <data>"
// with REG_DWORD as 0x-hex and REG_MULTI_SZ items joined by a literal "\0".
// Layout: the setting "session.idleLockSeconds" is the value idleLockSeconds
// under the subkey Enclave\session; a top-level setting is a value of Enclave.
import { execFile } from 'node:child_process';
import { settingByKey, type PolicySetting } from '../catalog.js';
import { emptyLayer, type PolicyLayer } from '../resolve.js';
import { parseStrictJson } from './json-file.js';

export type RegistryHive = 'HKLM' | 'HKCU';
export const REGISTRY_POLICY_KEY = 'SOFTWARE\\Policies\\Enclave';
const HIVE_NAMES: Record<RegistryHive, string> = { HKLM: 'HKEY_LOCAL_MACHINE', HKCU: 'HKEY_CURRENT_USER' };

export interface RegistryValue {
  /** The key's path below the policy root, as segments ([] for the root itself). */
  keyPath: string[];
  name: string;
  type: string;
  /** The data exactly as reg.exe printed it. */
  data: string;
}

/** Parses `reg query <root> /s` output. Keys outside the root are ignored. */
export function parseRegQueryOutput(output: string, hive: RegistryHive): RegistryValue[] {
  const root = `${HIVE_NAMES[hive]}\\${REGISTRY_POLICY_KEY}`.toLowerCase();
  const values: RegistryValue[] = [];
  let keyPath: string[] | null = null;
  for (const rawLine of output.split(/\r?\n/)) {
    const line = rawLine.replace(/\r$/, '');
    if (line.trim() === '') continue;
    if (!line.startsWith(' ')) {
      const lower = line.trim().toLowerCase();
      if (lower === root) keyPath = [];
      else if (lower.startsWith(`${root}\\`))
        keyPath = line
          .trim()
          .slice(root.length + 1)
          .split('\\');
      else keyPath = null;
      continue;
    }
    if (keyPath === null) continue;
    const match = /^ {4}(.*?) {4}(REG_[A-Z_]+)(?: {4}(.*))?$/.exec(line);
    if (!match) continue;
    const [, name, type, data] = match;
    // The unnamed default value carries nothing for us.
    if (name === '(Default)') continue;
    values.push({ keyPath, name: name!, type: type!, data: data ?? '' });
  }
  return values;
}

function expandEnvironment(text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(/%([^%]+)%/g, (whole, name: string) => {
    const found = Object.keys(env).find((k) => k.toLowerCase() === name.toLowerCase());
    return found ? (env[found] ?? whole) : whole;
  });
}

type Converted = { ok: true; value: unknown } | { ok: false; message: string };

const EXPECTED: Record<PolicySetting['registryKind'], string> = {
  REG_DWORD: 'REG_DWORD',
  REG_SZ: 'REG_SZ',
  REG_MULTI_SZ: 'REG_MULTI_SZ',
  REG_SZ_JSON: 'REG_SZ holding JSON',
};

function convert(setting: PolicySetting, value: RegistryValue, env: NodeJS.ProcessEnv): Converted {
  const wrongKind = (): Converted => ({ ok: false, message: `is ${value.type}; it must be ${EXPECTED[setting.registryKind]}` });
  switch (setting.registryKind) {
    case 'REG_DWORD': {
      if (value.type !== 'REG_DWORD') return wrongKind();
      const number = Number.parseInt(value.data, 16);
      // Messages never quote the data: a value may hold a secret (a HEC token set in the wrong place).
      if (!/^0x[0-9a-f]+$/i.test(value.data) || !Number.isFinite(number)) return { ok: false, message: 'has REG_DWORD data that is not a hexadecimal number' };
      if (setting.type === 'boolean') {
        // A number reg.exe read as a DWORD is no secret, and names the mistake.
        if (number !== 0 && number !== 1) return { ok: false, message: `must be 0 (off) or 1 (on), not ${number}` };
        return { ok: true, value: number === 1 };
      }
      return { ok: true, value: number };
    }
    case 'REG_SZ':
      if (value.type === 'REG_SZ') return { ok: true, value: value.data };
      if (value.type === 'REG_EXPAND_SZ') return { ok: true, value: expandEnvironment(value.data, env) };
      return wrongKind();
    case 'REG_MULTI_SZ':
      if (value.type !== 'REG_MULTI_SZ') return wrongKind();
      return { ok: true, value: value.data === '' ? [] : value.data.split('\\0').filter((item) => item !== '') };
    case 'REG_SZ_JSON': {
      if (value.type !== 'REG_SZ') return wrongKind();
      // Where, never what: JSON.parse's message quotes the text, which may hold a HEC token.
      const parsed = parseStrictJson(value.data);
      return parsed.ok ? { ok: true, value: parsed.value } : { ok: false, message: `is not valid JSON: ${parsed.problem} of the value` };
    }
  }
}

/** The policy layer of one hive; null when the hive holds no Enclave policy. */
export function registryLayer(output: string | null, hive: RegistryHive, env: NodeJS.ProcessEnv = process.env): PolicyLayer | null {
  if (output === null) return null;
  const source = `${hive}\\${REGISTRY_POLICY_KEY}`;
  const layer = emptyLayer(source);
  for (const value of parseRegQueryOutput(output, hive)) {
    const location = [source, ...value.keyPath, value.name].join('\\');
    const key = [...value.keyPath, value.name].join('.');
    const setting = settingByKey(key);
    if (!setting) {
      layer.warnings.push({ key, source: location, message: 'is not a policy setting this version of Enclave knows; it was ignored' });
      continue;
    }
    if (hive === 'HKCU' && !setting.userSettable) {
      layer.warnings.push({ key, source: location, message: 'can only be set for the whole machine (HKLM); the per-user value was ignored' });
      continue;
    }
    const converted = convert(setting, value, env);
    if (converted.ok) layer.values.push({ key, value: converted.value, origin: location });
    else layer.problems.push({ key, source: location, message: converted.message });
  }
  return layer.values.length + layer.problems.length + layer.warnings.length > 0 ? layer : null;
}

/**
 * Runs reg.exe. The code page is switched to UTF-8 first, since reg.exe
 * otherwise prints non-ASCII text (an institution's name) in the OEM code page.
 * Resolves null when the key does not exist.
 */
export function queryRegistry(hive: RegistryHive): Promise<string | null> {
  const systemRoot = process.env.SystemRoot ?? 'C:\\Windows';
  const command = `chcp 65001 >nul && "${systemRoot}\\System32\\reg.exe" query "${hive}\\${REGISTRY_POLICY_KEY}" /s`;
  return new Promise((resolve, reject) => {
    execFile(
      `${systemRoot}\\System32\\cmd.exe`,
      ['/d', '/s', '/c', `"${command}"`],
      { windowsHide: true, windowsVerbatimArguments: true, encoding: 'utf8', timeout: 15_000 },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        // reg.exe exits 1 with "unable to find the specified registry key" when no policy is set.
        if (/unable to find/i.test(stderr) || /unable to find/i.test(stdout)) return resolve(null);
        reject(new Error(`reg.exe query ${hive}\\${REGISTRY_POLICY_KEY} failed: ${stderr.trim() || error.message}`));
      },
    );
  });
}
