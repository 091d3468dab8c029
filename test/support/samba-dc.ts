// A real Samba Active Directory domain controller on loopback, for the
// integration (vitest) and end-to-end (Playwright) tests of directory sign-in.
//
// What it does, start to finish (a few seconds; see `timings`):
//   1. makes a test CA, a second unrelated CA, and an LDAPS certificate for the
//      DC (IP 127.0.0.1, localhost, dc1.enclave.test) with the `openssl` tool;
//   2. provisions a fresh domain ENCLAVE.TEST into a private directory with
//      `samba-tool domain provision --targetdir` (no DNS, LDAP only, loopback
//      only, our certificate); nothing under /etc/samba, /var/lib/samba or
//      /run/samba is read or written;
//   3. runs `samba -i -M single` (one process, its own process group) and waits
//      until an LDAPS bind as Administrator succeeds;
//   4. adds the Enclave groups and users over LDAPS.
//
// Singleton per machine: Samba's LDAP ports are fixed (389, 636, and the global
// catalog's 3268, 3269; smb.conf has no option to move them), so only one
// harness can run at a time on a machine. A registry file in the system temp
// directory records the owner; a second harness while the owner is alive is
// refused with an error, and a samba left behind by a dead owner is killed.
// In a test runner, start it once in the runner's main process:
//   - vitest: test/support/samba-global-setup.ts (globalSetup), tests read the
//     description with `inject('sambaDc')`;
//   - Playwright: call `sharedSambaDc()` in globalSetup (it also puts the
//     description in process.env.ENCLAVE_SAMBA_DC, which workers inherit) and
//     `releaseSharedSambaDc()` in globalTeardown; workers call
//     `sambaDcInfoFromEnv()`.
// A test process that is not the owner can still take the DC down and bring it
// back ("DC unreachable" tests) with `attachSambaDc(info).stop()/.start()`.
// That is an outage for every test using the DC at that moment, so such tests
// must not run concurrently with other files that sign in against it.
//
// Lifetime: samba runs interactively and exits when its stdin reaches EOF. Its
// stdin is a FIFO that only the owner process holds open for writing, so if
// the owner dies (a killed test run) samba exits on its own, whoever started
// the current samba process. Needs root (ports below 1024; provisioning sets
// file ownership and ACLs); works in a default Docker container (no
// CAP_SYS_ADMIN, no systemd), as CI runs it.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { constants as fsConstants, closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { isAlive, portOpen, sleep, waitFor } from './daemon.js';

export type SambaDcUserKey = 'clinician' | 'researcher' | 'compliance' | 'admin' | 'noGroups' | 'disabled' | 'mustChange' | 'accountExpired' | 'breakGlass' | 'lockable' | 'rotated' | 'suspended';

export type SambaDcGroupKey = 'clinicians' | 'researchers' | 'researchStaff' | 'compliance' | 'admins' | 'breakGlass';

export interface SambaDcUser {
  /** sAMAccountName */
  username: string;
  password: string;
  /** userPrincipalName, `${username}@${upnSuffix}` */
  upn: string;
  displayName: string;
  dn: string;
}

/** Everything a test needs to reach the DC; plain JSON (vitest `provide`, env var). */
export interface SambaDcInfo {
  host: string;
  ldapPort: number;
  ldapsPort: number;
  /** `ldap://127.0.0.1:389` (StartTLS required before a simple bind) */
  ldapUrl: string;
  /** `ldaps://127.0.0.1:636` */
  ldapsUrl: string;
  /** The DC's own DNS name, also in its certificate: `dc1.enclave.test` (not resolvable; use `host`). */
  dcHostName: string;
  realm: string;
  netbiosDomain: string;
  baseDn: string;
  upnSuffix: string;
  /** PEM of the test CA that signed the DC's LDAPS certificate. */
  caFile: string;
  /** PEM of a different CA (for "DC certificate not trusted" tests). */
  untrustedCaFile: string;
  groups: Record<SambaDcGroupKey, string>;
  users: Record<SambaDcUserKey, SambaDcUser>;
  /** The domain's built-in Administrator (for test setup only, e.g. unlocking `lockable`). */
  administrator: SambaDcUser;
  /** Bad passwords that lock `lockable` (it alone; other users never lock). */
  lockoutThreshold: number;
  /** The harness's private directory (Samba's data, config, log, certificates). */
  dir: string;
  /** Samba's log (stdout and stderr of the samba process). */
  logFile: string;
  timings: { pkiMs: number; provisionMs: number; startMs: number; populateMs: number; totalMs: number };
}

export interface SambaDc extends SambaDcInfo {
  /** Stops the samba process (data kept): LDAP and LDAPS connections are refused until start(). */
  stop(): Promise<void>;
  /** Starts samba again on the same data; resolves when an LDAPS bind succeeds. */
  start(): Promise<void>;
  /** Stops samba and deletes the private directory. Only the handle from startSambaDc may. */
  destroy(): Promise<void>;
  /** Clears a lockout (lockoutTime=0) so the account can sign in again. */
  unlock(user: SambaDcUserKey): Promise<void>;
  /** Sets the account's password, as an administrator's reset does. */
  resetPassword(user: SambaDcUserKey, password: string): Promise<void>;
  /** Disables (or enables again) the account. */
  setDisabled(user: SambaDcUserKey, disabled: boolean): Promise<void>;
  /** Adds the user to the group, or takes them out of it. */
  setGroupMember(group: SambaDcGroupKey, user: SambaDcUserKey, member: boolean): Promise<void>;
  /** Whether the samba process is running. */
  isRunning(): boolean;
  /** The JSON-safe description (without the methods). */
  info(): SambaDcInfo;
}

// --- Fixed names ---------------------------------------------------------------------------------

const HOST = '127.0.0.1';
const LDAP_PORT = 389;
const LDAPS_PORT = 636;
const REALM = 'ENCLAVE.TEST';
const NETBIOS_DOMAIN = 'ENCLAVE';
const UPN_SUFFIX = 'enclave.test';
const BASE_DN = 'DC=enclave,DC=test';
const DC_NETBIOS_NAME = 'DC1';
const DC_HOST_NAME = `dc1.${UPN_SUFFIX}`;
const USERS_DN = `CN=Users,${BASE_DN}`;
const ADMIN_PASSWORD = 'Enc-Adm1n-Pa55!word';
const LOCKOUT_THRESHOLD = 3;
/** Lockout duration and observation window for `lockable`, in minutes. */
const LOCKOUT_MINUTES = 10;

/** Environment variable through which `sharedSambaDc()` hands the description to child processes. */
export const SAMBA_DC_ENV = 'ENCLAVE_SAMBA_DC';

/** The machine-wide registry of the running harness (see "Singleton" above). */
const REGISTRY_FILE = join(tmpdir(), 'enclave-samba-dc.registry.json');
/** Marks a directory as ours, so a `dir` left over from an earlier run may be wiped. */
const MARKER_FILE = '.enclave-samba-dc';

const GROUPS: Record<SambaDcGroupKey, string> = {
  clinicians: 'Enclave Clinicians',
  researchers: 'Enclave Researchers',
  researchStaff: 'Research Staff',
  compliance: 'Enclave Compliance',
  admins: 'Enclave Admins',
  breakGlass: 'Enclave Break Glass',
};

// Passwords meet AD complexity (3 of 4 character classes, 7+ characters) and
// contain neither the account name nor any part of the display name.
const USERS: Record<SambaDcUserKey, { displayName: string; givenName: string; sn: string; password: string; groups: SambaDcGroupKey[] }> = {
  clinician: { displayName: 'Dr Alice Clinician', givenName: 'Alice', sn: 'Clinician', password: 'Ward-7-Tulip!', groups: ['clinicians'] },
  researcher: { displayName: 'Dr Bob Researcher', givenName: 'Bob', sn: 'Researcher', password: 'Lab-42-Beaker!', groups: ['researchStaff'] },
  compliance: { displayName: 'Carol Compliance', givenName: 'Carol', sn: 'Compliance', password: 'Audit-9-Ledger!', groups: ['compliance'] },
  admin: { displayName: 'Dave Admin', givenName: 'Dave', sn: 'Admin', password: 'Root-5-Walnut!', groups: ['admins'] },
  noGroups: { displayName: 'Erin Nogroups', givenName: 'Erin', sn: 'Nogroups', password: 'Lone-3-Heron!', groups: [] },
  disabled: { displayName: 'Frank Disabled', givenName: 'Frank', sn: 'Disabled', password: 'Gone-8-Maple!', groups: ['clinicians'] },
  mustChange: { displayName: 'Grace Mustchange', givenName: 'Grace', sn: 'Mustchange', password: 'Temp-6-Orchid!', groups: ['clinicians'] },
  accountExpired: { displayName: 'Heidi Expired', givenName: 'Heidi', sn: 'Expired', password: 'Past-2-Willow!', groups: ['clinicians'] },
  breakGlass: { displayName: 'Dr Ivan Breakglass', givenName: 'Ivan', sn: 'Breakglass', password: 'Siren-1-Amber!', groups: ['breakGlass', 'clinicians'] },
  lockable: { displayName: 'Judy Lockable', givenName: 'Judy', sn: 'Lockable', password: 'Bolt-4-Cobalt!', groups: ['clinicians'] },
  // For tests that change an account while a session is open (resetPassword, setDisabled): no other test signs them in.
  rotated: { displayName: 'Kim Rotated', givenName: 'Kim', sn: 'Rotated', password: 'Quill-5-Harbor!', groups: ['clinicians'] },
  suspended: { displayName: 'Leo Suspended', givenName: 'Leo', sn: 'Suspended', password: 'Fern-3-Glacier!', groups: ['clinicians'] },
};

// userAccountControl flags
const UF_ACCOUNTDISABLE = 0x2;
export const UF_NORMAL_ACCOUNT = 0x200;

// --- Small helpers -------------------------------------------------------------------------------

function run(file: string, args: string[], options: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(file, args, { cwd: options.cwd, env: options.env ?? process.env, timeout: options.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (error) {
        reject(new Error(`${file} ${args.join(' ')} failed (${error.code ?? error.signal ?? error.message}):\n${tail(output, 60)}`));
      } else {
        resolvePromise(output);
      }
    });
  });
}

function tail(text: string, lines: number): string {
  return text.split('\n').slice(-lines).join('\n');
}

async function logTail(logFile: string, lines = 40): Promise<string> {
  try {
    return tail(await readFile(logFile, 'utf8'), lines);
  } catch {
    return '(no samba log)';
  }
}

function findBinary(name: string, dirs: string[]): string {
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`${name} not found (looked in ${dirs.join(', ')}). Install Samba's AD DC: ` + 'apt-get install --no-install-recommends samba samba-ad-dc samba-ad-provision (scripts/test.sh does).');
}

function isSambaProcess(pid: number): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /(^|\/)samba(\0|$)/.test(cmdline.split('\0')[0] ?? '') || cmdline.startsWith('samba:');
  } catch {
    return false;
  }
}

/** Kills a samba process group: SIGTERM, then SIGKILL after `graceMs`. */
async function killSambaGroup(pid: number, graceMs = 5_000): Promise<void> {
  if (!isAlive(pid)) return;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig); // samba -i runs in its own process group (we also spawn it detached)
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* gone */
      }
    }
  };
  signal('SIGTERM');
  if (await waitFor(() => !isAlive(pid), graceMs)) return;
  signal('SIGKILL');
  if (!(await waitFor(() => !isAlive(pid), 5_000))) throw new Error(`samba (pid ${pid}) did not exit after SIGKILL`);
}

function filetime(date: Date): string {
  // 100-ns intervals since 1601-01-01 UTC
  return (BigInt(date.getTime()) * 10_000n + 116_444_736_000_000_000n).toString();
}

export function unicodePwd(password: string): Buffer {
  return Buffer.from(`"${password}"`, 'utf16le');
}

// --- Registry (singleton) ------------------------------------------------------------------------

interface Registry {
  ownerPid: number;
  /** The owner's start time (/proc/<pid>/stat field 22), so a reused pid is not taken for the owner. */
  ownerStart: string | undefined;
  dir: string;
}

function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function ownerAlive(registry: Registry): boolean {
  return isAlive(registry.ownerPid) && (registry.ownerStart === undefined || processStartTime(registry.ownerPid) === registry.ownerStart);
}

function readRegistry(): Registry | undefined {
  try {
    return JSON.parse(readFileSync(REGISTRY_FILE, 'utf8')) as Registry;
  } catch {
    return undefined;
  }
}

/** The pid of the samba process started in `dir` (written by the harness on spawn). */
function sambaPidFile(dir: string): string {
  return join(dir, 'run', 'harness-samba.pid');
}

function readSambaPid(dir: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(sambaPidFile(dir), 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function killLeftoverSamba(dir: string): Promise<void> {
  const pid = readSambaPid(dir);
  if (pid !== undefined && isAlive(pid) && isSambaProcess(pid)) await killSambaGroup(pid);
  await rm(sambaPidFile(dir), { force: true });
}

async function claimMachine(dir: string): Promise<void> {
  const previous = readRegistry();
  if (previous && previous.ownerPid !== process.pid && ownerAlive(previous)) {
    throw new Error(
      `a Samba DC test harness is already running on this machine (owner pid ${previous.ownerPid}, dir ${previous.dir}); ` +
        'it is a singleton (fixed ports 389/636): share it (sharedSambaDc, the vitest globalSetup) or stop the other run',
    );
  }
  if (previous) await killLeftoverSamba(previous.dir);
  await killLeftoverSamba(dir);
  await writeFile(REGISTRY_FILE, JSON.stringify({ ownerPid: process.pid, ownerStart: processStartTime(process.pid), dir } satisfies Registry));
}

async function releaseMachine(dir: string): Promise<void> {
  const current = readRegistry();
  if (current && current.ownerPid === process.pid && current.dir === dir) await rm(REGISTRY_FILE, { force: true });
}

// --- Certificates --------------------------------------------------------------------------------

async function makeCa(dir: string, name: string, commonName: string): Promise<void> {
  const config = join(dir, `${name}.cnf`);
  await writeFile(
    config,
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      `CN = ${commonName}`,
      'O = Enclave tests',
      '[v3_ca]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
      '',
    ].join('\n'),
  );
  await run(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '3650', '-config', config, '-extensions', 'v3_ca', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.pem`)],
    {
      env: { ...process.env, OPENSSL_CONF: config },
    },
  );
  await chmod(join(dir, `${name}.key`), 0o600);
}

async function makePki(pkiDir: string): Promise<{ caFile: string; untrustedCaFile: string; certFile: string; keyFile: string }> {
  await mkdir(pkiDir, { recursive: true, mode: 0o700 });
  await Promise.all([makeCa(pkiDir, 'ca', 'Enclave Test Root CA'), makeCa(pkiDir, 'untrusted-ca', 'Untrusted Test Root CA')]);
  const config = join(pkiDir, 'dc.cnf');
  await writeFile(
    config,
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      `CN = ${DC_HOST_NAME}`,
      'O = Enclave tests',
      '[v3_dc]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      'extendedKeyUsage = serverAuth',
      `subjectAltName = IP:${HOST}, DNS:localhost, DNS:${DC_HOST_NAME}, DNS:${DC_NETBIOS_NAME.toLowerCase()}`,
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid, issuer',
      '',
    ].join('\n'),
  );
  const env = { ...process.env, OPENSSL_CONF: config };
  const keyFile = join(pkiDir, 'dc.key');
  const certFile = join(pkiDir, 'dc.pem');
  await run('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-config', config, '-keyout', keyFile, '-out', join(pkiDir, 'dc.csr')], { env });
  await run(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      join(pkiDir, 'dc.csr'),
      '-CA',
      join(pkiDir, 'ca.pem'),
      '-CAkey',
      join(pkiDir, 'ca.key'),
      '-set_serial',
      `0x${Date.now().toString(16)}`,
      '-days',
      '825',
      '-sha256',
      '-extfile',
      config,
      '-extensions',
      'v3_dc',
      '-out',
      certFile,
    ],
    { env },
  );
  await chmod(keyFile, 0o600); // Samba refuses a key file readable by others
  return { caFile: join(pkiDir, 'ca.pem'), untrustedCaFile: join(pkiDir, 'untrusted-ca.pem'), certFile, keyFile };
}

// --- Provisioning --------------------------------------------------------------------------------

async function provision(dir: string, pki: { caFile: string; certFile: string; keyFile: string }, sambaTool: string): Promise<string> {
  const runDir = join(dir, 'run');
  await mkdir(runDir, { recursive: true });
  // The seed is what `samba-tool domain provision` builds smb.conf from (instead
  // of /etc/samba/smb.conf); it writes the result to <dir>/etc/smb.conf.
  const seed = join(dir, 'seed.conf');
  await writeFile(
    seed,
    [
      '[global]',
      // loopback only
      `\tinterfaces = ${HOST}`,
      '\tbind interfaces only = yes',
      // LDAP (389, StartTLS) and LDAPS (636) only: no SMB, RPC, KDC, DNS, NBT, winbindd
      '\tserver services = ldap',
      // Simple binds only over TLS (LDAPS or StartTLS): Samba's default, stated here
      '\tldap server require strong auth = yes',
      '\ttls enabled = yes',
      `\ttls keyfile = ${pki.keyFile}`,
      `\ttls certfile = ${pki.certFile}`,
      `\ttls cafile = ${pki.caFile}`,
      // keep every path inside the private directory
      `\tpid directory = ${runDir}`,
      `\tncalrpc dir = ${join(runDir, 'ncalrpc')}`,
      `\twinbindd socket directory = ${join(runDir, 'winbindd')}`,
      `\tntp signd socket directory = ${join(runDir, 'ntp_signd')}`,
      // Provisioning sets NT ACLs on sysvol, stored by default in the security.NTACL
      // xattr, which needs CAP_SYS_ADMIN (not granted in a default Docker/CI
      // container). Keep all xattrs in a tdb instead; nothing serves sysvol here.
      '\tvfs objects = dfs_samba4 acl_xattr xattr_tdb',
      `\txattr_tdb:file = ${join(dir, 'state', 'xattr.tdb')}`,
      `\tlog file = ${join(dir, 'samba.log')}`,
      '\tlog level = 1 auth_audit:3',
      '',
    ].join('\n'),
  );
  const output = await run(
    sambaTool,
    [
      'domain',
      'provision',
      '--configfile',
      seed,
      '--targetdir',
      dir,
      '--realm',
      REALM,
      '--domain',
      NETBIOS_DOMAIN,
      '--server-role',
      'dc',
      '--dns-backend',
      'NONE',
      '--use-rfc2307',
      '--host-name',
      DC_NETBIOS_NAME.toLowerCase(),
      '--host-ip',
      HOST,
      '--adminpass',
      ADMIN_PASSWORD,
    ],
    { cwd: dir, timeoutMs: 180_000 },
  );
  await writeFile(join(dir, 'provision.log'), output);
  const smbConf = join(dir, 'etc', 'smb.conf');
  // A reset password stops working at once: Samba, like Windows, otherwise accepts the previous one for 60 minutes.
  // Provisioning drops this from the seed, so it goes into the [global] section of what provisioning wrote.
  const written = await readFile(smbConf, 'utf8');
  if (!written.includes('[global]\n')) throw new Error(`${smbConf} has no [global] section`);
  await writeFile(smbConf, written.replace('[global]\n', '[global]\n\told password allowed period = 0\n'));
  return smbConf;
}

// --- Directory content ---------------------------------------------------------------------------

function groupDn(key: SambaDcGroupKey): string {
  return `CN=${GROUPS[key]},${USERS_DN}`;
}

function userDn(key: SambaDcUserKey): string {
  return `CN=${USERS[key].displayName},${USERS_DN}`;
}

/** A connection bound as the domain Administrator: setup, and tests that add accounts of their own. */
export async function withAdmin<T>(info: Pick<SambaDcInfo, 'ldapsUrl' | 'caFile' | 'administrator'>, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ url: info.ldapsUrl, tlsOptions: { ca: [readFileSync(info.caFile)] }, connectTimeout: 5_000, timeout: 15_000 });
  try {
    await client.bind(info.administrator.dn, info.administrator.password);
    return await fn(client);
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

async function populate(client: Client): Promise<void> {
  for (const [key, user] of Object.entries(USERS) as [SambaDcUserKey, (typeof USERS)[SambaDcUserKey]][]) {
    const attributes: Attribute[] = [
      new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'user'] }),
      new Attribute({ type: 'sAMAccountName', values: [key] }),
      new Attribute({ type: 'userPrincipalName', values: [`${key}@${UPN_SUFFIX}`] }),
      new Attribute({ type: 'displayName', values: [user.displayName] }),
      new Attribute({ type: 'givenName', values: [user.givenName] }),
      new Attribute({ type: 'sn', values: [user.sn] }),
      new Attribute({ type: 'mail', values: [`${key}@${UPN_SUFFIX}`] }),
      new Attribute({ type: 'unicodePwd', values: [unicodePwd(user.password)] }),
      new Attribute({ type: 'userAccountControl', values: [String(UF_NORMAL_ACCOUNT | (key === 'disabled' ? UF_ACCOUNTDISABLE : 0))] }),
    ];
    if (key === 'accountExpired') attributes.push(new Attribute({ type: 'accountExpires', values: [filetime(new Date(Date.UTC(2020, 0, 1)))] }));
    await client.add(userDn(key), attributes);
    // "User must change password at next logon"
    if (key === 'mustChange') await client.modify(userDn(key), new Change({ operation: 'replace', modification: new Attribute({ type: 'pwdLastSet', values: ['0'] }) }));
  }

  // Groups after users, nested group before its parent. Global security groups (the default groupType).
  const order: SambaDcGroupKey[] = ['researchStaff', 'researchers', 'clinicians', 'compliance', 'admins', 'breakGlass'];
  for (const key of order) {
    const members = (Object.keys(USERS) as SambaDcUserKey[]).filter((user) => USERS[user].groups.includes(key)).map(userDn);
    if (key === 'researchers') members.push(groupDn('researchStaff'));
    const attributes = [
      new Attribute({ type: 'objectClass', values: ['top', 'group'] }),
      new Attribute({ type: 'sAMAccountName', values: [GROUPS[key]] }),
      new Attribute({ type: 'description', values: [`Enclave test group: ${GROUPS[key]}`] }),
    ];
    if (members.length) attributes.push(new Attribute({ type: 'member', values: members }));
    await client.add(groupDn(key), attributes);
  }

  // Account lockout for `lockable` alone, through a fine-grained password policy
  // (PSO): with the domain-wide threshold (`samba-tool domain passwordsettings
  // set --account-lockout-threshold`), any test's wrong-password binds could lock
  // clinician and friends for everyone else. The effect on `lockable` is the same.
  const interval = String(-BigInt(LOCKOUT_MINUTES) * 60n * 10_000_000n); // negative 100-ns intervals
  await client.add(`CN=Enclave Lockable PSO,CN=Password Settings Container,CN=System,${BASE_DN}`, [
    new Attribute({ type: 'objectClass', values: ['top', 'msDS-PasswordSettings'] }),
    new Attribute({ type: 'msDS-PasswordSettingsPrecedence', values: ['1'] }),
    new Attribute({ type: 'msDS-PasswordReversibleEncryptionEnabled', values: ['FALSE'] }),
    new Attribute({ type: 'msDS-PasswordHistoryLength', values: ['0'] }),
    new Attribute({ type: 'msDS-PasswordComplexityEnabled', values: ['TRUE'] }),
    new Attribute({ type: 'msDS-MinimumPasswordLength', values: ['7'] }),
    new Attribute({ type: 'msDS-MinimumPasswordAge', values: ['0'] }),
    new Attribute({ type: 'msDS-MaximumPasswordAge', values: [String(-3650n * 24n * 3600n * 10_000_000n)] }),
    new Attribute({ type: 'msDS-LockoutThreshold', values: [String(LOCKOUT_THRESHOLD)] }),
    new Attribute({ type: 'msDS-LockoutObservationWindow', values: [interval] }),
    new Attribute({ type: 'msDS-LockoutDuration', values: [interval] }),
    new Attribute({ type: 'msDS-PSOAppliesTo', values: [userDn('lockable')] }),
  ]);
}

// --- The samba process ---------------------------------------------------------------------------

interface Paths {
  dir: string;
  smbConf: string;
  logFile: string;
  fifo: string;
  sambaBin: string;
}

function pathsFor(dir: string): Omit<Paths, 'sambaBin'> {
  return { dir, smbConf: join(dir, 'etc', 'smb.conf'), logFile: join(dir, 'samba.log'), fifo: join(dir, 'run', 'stdin.fifo') };
}

async function waitForLdaps(info: Pick<SambaDcInfo, 'ldapsUrl' | 'caFile' | 'administrator'>, isUp: () => boolean, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  const ca = readFileSync(info.caFile);
  while (Date.now() < deadline) {
    if (!isUp()) throw new Error(`samba exited during startup; end of ${logFile}:\n${await logTail(logFile)}`);
    const client = new Client({ url: info.ldapsUrl, tlsOptions: { ca: [ca] }, connectTimeout: 1_000, timeout: 3_000 });
    try {
      await client.bind(info.administrator.dn, info.administrator.password);
      await client.unbind().catch(() => undefined);
      return;
    } catch (error) {
      lastError = error;
      await client.unbind().catch(() => undefined);
    }
    await sleep(100);
  }
  throw new Error(`samba's LDAPS (${info.ldapsUrl}) did not accept an Administrator bind within ${timeoutMs} ms (last error: ${String(lastError)}); end of ${logFile}:\n${await logTail(logFile)}`);
}

/** Spawns samba with stdin on the FIFO and output appended to the log; returns the child. */
function spawnSamba(paths: Paths): ChildProcess {
  // Non-blocking open: never waits for a writer. Samba only exits on read() == 0.
  const stdinFd = openSync(paths.fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  const logFd = openSync(paths.logFile, 'a');
  try {
    const child = spawn(paths.sambaBin, ['--interactive', '--model=single', `--configfile=${paths.smbConf}`], {
      cwd: paths.dir,
      detached: true, // own process group: stop() kills the group; a terminal's Ctrl-C reaches only the runner
      stdio: [stdinFd, logFd, logFd],
    });
    child.on('error', () => undefined); // reported through the readiness check and the log
    child.unref();
    return child;
  } finally {
    closeSync(stdinFd);
    closeSync(logFd);
  }
}

async function assertPortsFree(): Promise<void> {
  for (const port of [LDAP_PORT, LDAPS_PORT]) {
    if (await portOpen(HOST, port)) {
      throw new Error(`${HOST}:${port} is already in use (another Samba DC, slapd, or a harness from another run?); the Samba DC harness needs ports ${LDAP_PORT} and ${LDAPS_PORT}`);
    }
  }
}

function makeHandle(info: SambaDcInfo, owner: { fifoWriterFd: number } | undefined): SambaDc {
  const paths: Paths = { ...pathsFor(info.dir), sambaBin: findBinary('samba', ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/sbin']) };
  let child: ChildProcess | undefined;
  let childExited = false;
  let destroyed = false;

  const currentPid = () => readSambaPid(info.dir);
  const isRunning = () => {
    if (child && !childExited) return true;
    const pid = currentPid();
    return pid !== undefined && isAlive(pid) && isSambaProcess(pid);
  };

  const start = async (timeoutMs = 60_000): Promise<void> => {
    if (destroyed) throw new Error('the Samba DC was destroyed');
    if (isRunning()) {
      await waitForLdaps(info, isRunning, paths.logFile, timeoutMs);
      return;
    }
    await assertPortsFree();
    await writeFile(paths.logFile, `\n--- samba start ${new Date().toISOString()} (harness pid ${process.pid}) ---\n`, { flag: 'a' });
    const spawned = spawnSamba(paths);
    child = spawned;
    childExited = false;
    spawned.once('exit', () => {
      if (child === spawned) childExited = true;
    });
    if (spawned.pid === undefined) throw new Error(`could not start ${paths.sambaBin}; end of ${paths.logFile}:\n${await logTail(paths.logFile)}`);
    await writeFile(sambaPidFile(info.dir), `${spawned.pid}\n`);
    try {
      await waitForLdaps(info, () => !childExited, paths.logFile, timeoutMs);
    } catch (error) {
      await killSambaGroup(spawned.pid).catch(() => undefined);
      throw error;
    }
  };

  const stop = async (): Promise<void> => {
    const pid = child && !childExited ? child.pid : currentPid();
    if (pid !== undefined && isAlive(pid) && (child?.pid === pid || isSambaProcess(pid))) await killSambaGroup(pid);
    child = undefined;
    await rm(sambaPidFile(info.dir), { force: true });
    // the listening sockets close with the process; make sure before returning
    await waitFor(async () => !(await portOpen(HOST, LDAPS_PORT, 500)) && !(await portOpen(HOST, LDAP_PORT, 500)), 5_000, 100);
  };

  const destroy = async (): Promise<void> => {
    if (!owner) throw new Error('only the handle returned by startSambaDc may destroy the Samba DC (use stop())');
    if (destroyed) return;
    await stop();
    destroyed = true;
    try {
      closeSync(owner.fifoWriterFd);
    } catch {
      /* already closed */
    }
    await rm(info.dir, { recursive: true, force: true });
    await releaseMachine(info.dir);
  };

  const unlock = async (user: SambaDcUserKey): Promise<void> => {
    await withAdmin(info, (client) => client.modify(info.users[user].dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'lockoutTime', values: ['0'] }) })));
  };

  const resetPassword = async (user: SambaDcUserKey, password: string): Promise<void> => {
    await withAdmin(info, (client) => client.modify(info.users[user].dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [unicodePwd(password)] }) })));
  };

  const setDisabled = async (user: SambaDcUserKey, disabled: boolean): Promise<void> => {
    const flags = String(UF_NORMAL_ACCOUNT | (disabled ? UF_ACCOUNTDISABLE : 0));
    await withAdmin(info, (client) => client.modify(info.users[user].dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: [flags] }) })));
  };

  const setGroupMember = async (group: SambaDcGroupKey, user: SambaDcUserKey, member: boolean): Promise<void> => {
    const dn = info.users[user].dn;
    await withAdmin(info, async (client) => {
      const { searchEntries } = await client.search(info.groups[group], { scope: 'base', attributes: ['member'] });
      const members = [searchEntries[0]?.['member'] ?? []].flat().map((m) => String(m).toLowerCase());
      // AD refuses adding a member twice or removing one that is not there: only a change is sent.
      if (members.includes(dn.toLowerCase()) === member) return;
      await client.modify(info.groups[group], new Change({ operation: member ? 'add' : 'delete', modification: new Attribute({ type: 'member', values: [dn] }) }));
    });
  };

  return { ...info, start: () => start(), stop, destroy, unlock, resetPassword, setDisabled, setGroupMember, isRunning, info: () => ({ ...info }) };
}

// --- Public API ----------------------------------------------------------------------------------

/**
 * Provisions a fresh domain, starts samba on 127.0.0.1:389/636 and fills the
 * directory. The private directory (default: <tmp>/enclave-samba-dc) is wiped
 * first if it is ours from an earlier run; a non-empty foreign one is refused.
 * One harness per machine at a time (see the top of this file).
 */
export async function startSambaDc(options: { dir?: string } = {}): Promise<SambaDc> {
  const t0 = Date.now();
  const dir = resolve(options.dir ?? join(tmpdir(), 'enclave-samba-dc'));
  const sambaTool = findBinary('samba-tool', ['/usr/bin', '/usr/local/bin', '/usr/sbin']);
  findBinary('samba', ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/sbin']);
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('the Samba DC harness must run as root (Samba AD DC and ports 389/636)');
  }

  await claimMachine(dir);
  let fifoWriterFd: number | undefined;
  try {
    await assertPortsFree(); // fail before the provisioning seconds, not after
    // A fresh directory every time: no state (lockouts, bad-password counts) carries over.
    const existing = await readdir(dir).catch(() => undefined);
    if (existing && existing.length > 0) {
      if (!existing.includes(MARKER_FILE)) throw new Error(`${dir} is not empty and is not a Samba DC harness directory; refusing to wipe it`);
      await rm(dir, { recursive: true, force: true });
    }
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(join(dir, MARKER_FILE), 'Samba AD DC for Enclave tests (test/support/samba-dc.ts); safe to delete\n');

    const tPki = Date.now();
    const pki = await makePki(join(dir, 'pki'));
    const t1 = Date.now();
    await provision(dir, pki, sambaTool);
    const t2 = Date.now();

    const paths = pathsFor(dir);
    await run('mkfifo', ['-m', '0600', paths.fifo]);
    // Held open for the lifetime of this process (or until destroy): samba's stdin sees EOF when it goes.
    fifoWriterFd = openSync(paths.fifo, 'r+');
    if (!(await stat(paths.smbConf)).isFile()) throw new Error(`provisioning wrote no ${paths.smbConf}`);

    const dnOf = (key: SambaDcUserKey) => userDn(key);
    const users = Object.fromEntries(
      (Object.keys(USERS) as SambaDcUserKey[]).map((key) => [key, { username: key, password: USERS[key].password, upn: `${key}@${UPN_SUFFIX}`, displayName: USERS[key].displayName, dn: dnOf(key) }]),
    ) as Record<SambaDcUserKey, SambaDcUser>;
    const groups = Object.fromEntries((Object.keys(GROUPS) as SambaDcGroupKey[]).map((key) => [key, groupDn(key)])) as Record<SambaDcGroupKey, string>;
    const info: SambaDcInfo = {
      host: HOST,
      ldapPort: LDAP_PORT,
      ldapsPort: LDAPS_PORT,
      ldapUrl: `ldap://${HOST}:${LDAP_PORT}`,
      ldapsUrl: `ldaps://${HOST}:${LDAPS_PORT}`,
      dcHostName: DC_HOST_NAME,
      realm: REALM,
      netbiosDomain: NETBIOS_DOMAIN,
      baseDn: BASE_DN,
      upnSuffix: UPN_SUFFIX,
      caFile: pki.caFile,
      untrustedCaFile: pki.untrustedCaFile,
      groups,
      users,
      administrator: {
        username: 'Administrator',
        password: ADMIN_PASSWORD,
        upn: `Administrator@${UPN_SUFFIX}`,
        displayName: 'Administrator',
        dn: `CN=Administrator,${USERS_DN}`,
      },
      lockoutThreshold: LOCKOUT_THRESHOLD,
      dir,
      logFile: paths.logFile,
      timings: { pkiMs: t1 - tPki, provisionMs: t2 - t1, startMs: 0, populateMs: 0, totalMs: 0 },
    };

    const handle = makeHandle(info, { fifoWriterFd });
    await handle.start();
    const t3 = Date.now();
    try {
      await withAdmin(info, populate);
    } catch (error) {
      await handle.stop().catch(() => undefined);
      throw new Error(`filling the directory failed: ${String(error)}; end of ${paths.logFile}:\n${await logTail(paths.logFile)}`);
    }
    const t4 = Date.now();
    info.timings.startMs = t3 - t2;
    info.timings.populateMs = t4 - t3;
    info.timings.totalMs = t4 - t0;
    return handle;
  } catch (error) {
    if (fifoWriterFd !== undefined) {
      try {
        closeSync(fifoWriterFd);
      } catch {
        /* ignore */
      }
    }
    await killLeftoverSamba(dir).catch(() => undefined);
    await releaseMachine(dir);
    throw error;
  }
}

/**
 * A handle on a DC started by another process (the runner's global setup), for
 * tests that take it down and bring it back. `destroy()` is refused. A samba it
 * starts still exits when the owner process goes.
 */
export function attachSambaDc(info: SambaDcInfo): SambaDc {
  return makeHandle(info, undefined);
}

/** The description that `sharedSambaDc()` put in the environment of this process, if any. */
export function sambaDcInfoFromEnv(env: NodeJS.ProcessEnv = process.env): SambaDcInfo | undefined {
  const json = env[SAMBA_DC_ENV];
  return json ? (JSON.parse(json) as SambaDcInfo) : undefined;
}

let shared: Promise<SambaDc> | undefined;

/**
 * The one DC of this process, started on first call (for a runner's global
 * setup). Also sets process.env.ENCLAVE_SAMBA_DC to its description, which
 * child processes (Playwright workers, spawned apps) inherit.
 */
export function sharedSambaDc(): Promise<SambaDc> {
  shared ??= startSambaDc().then(
    (dc) => {
      process.env[SAMBA_DC_ENV] = JSON.stringify(dc.info());
      return dc;
    },
    (error: unknown) => {
      shared = undefined;
      throw error;
    },
  );
  return shared;
}

/** Destroys the DC started by sharedSambaDc(), if any (global teardown). */
export async function releaseSharedSambaDc(): Promise<void> {
  const current = shared;
  shared = undefined;
  delete process.env[SAMBA_DC_ENV];
  if (current) await (await current).destroy();
}
