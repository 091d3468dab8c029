// Active Directory over LDAP: bind as the user (no stored service password),
// read the user and their groups, nested ones too, and map the groups to
// Enclave roles by policy. Domain controllers are tried in order, each within
// the policy's time limit. What the user typed only ever reaches a filter
// through ldapts' filter classes, which escape it (RFC 4515); no DN is ever
// built from it.
import { FILE_SIZE_LIMITS, readLimitedFileSync, UnreadableFileError } from '../files/index.js';
import type { ConnectionOptions } from 'node:tls';
import { checkCaBundle, verifiedClientTls } from '../tls/index.js';
import { AndFilter, Client, EqualityFilter, ExtensibleFilter, type Filter } from 'ldapts';
import type { Role } from '../../shared/api.js';
import { EnclaveError, type ErrorCode } from '../../shared/errors.js';
import { ROLES } from '../../shared/roles.js';
import type { Policy } from '../policy/index.js';

export type DirectoryPolicy = Policy['directory'];

/** LDAP_MATCHING_RULE_IN_CHAIN: membership through any depth of nested groups. */
const IN_CHAIN = '1.2.840.113556.1.4.1941';

export interface DirectoryAccount {
  /** The account's objectGUID: stable across renames. */
  id: string;
  dn: string;
  samAccountName: string;
  upn: string;
  displayName: string;
  roles: Role[];
  /** Member of a break-glass group in policy. */
  breakGlass: boolean;
}

export interface LoginName {
  /** What the DC is asked to bind: a UPN or DOMAIN\user, never a DN. */
  bindName: string;
  filter: Filter;
  /** Lower-case key for lockout counting and the offline cache. */
  key: string;
}

/** sAMAccountName, DOMAIN\user or a UPN, as the user typed it. */
export function parseLoginName(input: string, directory: DirectoryPolicy): LoginName {
  const typed = input.trim();
  const backslash = typed.indexOf('\\');
  if (backslash >= 0) {
    const domain = typed.slice(0, backslash);
    const sam = typed.slice(backslash + 1);
    if (!sam || sam.includes('\\')) throw new EnclaveError('invalid_input', 'Type your user name as name, DOMAIN\\name or name@domain.');
    // Without a NetBIOS domain in policy any DOMAIN would reach the DC, which binds in whichever trusted domain has that name.
    if (!directory.netbiosDomain) {
      throw new EnclaveError('invalid_input', 'This workstation does not accept DOMAIN\\name (directory.netbiosDomain is not set). Type your user name as name or name@domain.');
    }
    if (domain.toLowerCase() !== directory.netbiosDomain.toLowerCase()) {
      throw new EnclaveError('invalid_input', `This workstation signs in to the ${directory.netbiosDomain} domain, not ${domain}.`);
    }
    return { bindName: `${domain}\\${sam}`, filter: samFilter(sam), key: sam.toLowerCase() };
  }
  if (typed.includes('@')) {
    return { bindName: typed, filter: userFilter(new EqualityFilter({ attribute: 'userPrincipalName', value: typed })), key: typed.toLowerCase() };
  }
  const bindName = directory.netbiosDomain ? `${directory.netbiosDomain}\\${typed}` : `${typed}@${directory.upnSuffix}`;
  return { bindName, filter: samFilter(typed), key: typed.toLowerCase() };
}

function samFilter(sam: string): Filter {
  return userFilter(new EqualityFilter({ attribute: 'sAMAccountName', value: sam }));
}

function userFilter(match: Filter): Filter {
  return new AndFilter({ filters: [new EqualityFilter({ attribute: 'objectCategory', value: 'person' }), new EqualityFilter({ attribute: 'objectClass', value: 'user' }), match] });
}

/** DNs compare case-insensitively and without the spaces people put after commas. */
export function normalizeDn(dn: string): string {
  return dn
    .split(/(?<!\\),/)
    .map((part) => part.trim().toLowerCase())
    .join(',');
}

/** objectGUID bytes as Microsoft writes a GUID (the first three fields little-endian). */
export function formatGuid(bytes: Buffer): string {
  if (bytes.length !== 16) throw new Error('objectGUID must be 16 bytes');
  const hex = (b: Buffer) => b.toString('hex');
  const le = (start: number, length: number) => hex(Buffer.from(bytes.subarray(start, start + length)).reverse());
  return `${le(0, 4)}-${le(4, 2)}-${le(6, 2)}-${hex(bytes.subarray(8, 10))}-${hex(bytes.subarray(10, 16))}`;
}

/**
 * AD's bind failures carry a Win32 code after "data" in the diagnostic message,
 * e.g. "80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data 52e, v3839".
 * An unknown user reads as a wrong password, so names cannot be probed.
 */
const AD_BIND_FAILURES: Record<string, { code: ErrorCode; reason: string; message: string }> = {
  '525': { code: 'bad_credentials', reason: 'unknown_user', message: 'The user name or password is not correct.' },
  '52e': { code: 'bad_credentials', reason: 'bad_password', message: 'The user name or password is not correct.' },
  '530': { code: 'account_restricted', reason: 'logon_hours', message: 'Your account may not sign in at this time of day. Contact IT.' },
  '531': { code: 'account_restricted', reason: 'workstation_restricted', message: 'Your account may not sign in on this workstation. Contact IT.' },
  '532': { code: 'password_expired', reason: 'password_expired', message: 'Your password has expired. Change it (for example at Ctrl+Alt+Del on a Windows computer), then sign in again.' },
  '533': { code: 'account_disabled', reason: 'account_disabled', message: 'Your account is disabled. Contact IT.' },
  '701': { code: 'account_expired', reason: 'account_expired', message: 'Your account has expired. Contact IT.' },
  '773': {
    code: 'password_expired',
    reason: 'password_must_change',
    message: 'You must change your password before you can sign in. Change it (for example at Ctrl+Alt+Del on a Windows computer), then sign in again.',
  },
  '775': { code: 'account_locked', reason: 'account_locked', message: 'Your account is locked after too many wrong passwords. Wait, or contact IT to unlock it.' },
};

/** A refusal the directory gave: final, never retried on another DC and never a reason to sign in offline. */
export class DirectoryRefusal extends EnclaveError {
  readonly reason: string;
  constructor(refusal: { code: ErrorCode; message: string; reason: string }) {
    super(refusal.code, refusal.message);
    this.reason = refusal.reason;
  }
}

/** No domain controller could be asked: unreachable, too slow, not trusted, or refusing the connection's terms. */
export class DirectoryUnavailable extends EnclaveError {
  /**
   * Only when no DC could be reached at all. A DC that answered with a
   * certificate we do not trust, or that refused our terms (plain LDAP), is
   * a fault for IT, never a reason to fall back to offline sign-in.
   */
  readonly offlineAllowed: boolean;
  constructor(unavailable: { code: 'directory_unreachable' | 'directory_untrusted'; message: string; offlineAllowed: boolean }) {
    super(unavailable.code, unavailable.message);
    this.offlineAllowed = unavailable.offlineAllowed;
  }
}

function bindFailure(error: unknown): DirectoryRefusal | null {
  const code = (error as { code?: unknown }).code;
  if (code !== 49) return null;
  const data = /\bdata ([0-9a-f]{3,8})\b/i.exec((error as Error).message)?.[1]?.toLowerCase();
  const known = (data && AD_BIND_FAILURES[data]) || AD_BIND_FAILURES['52e']!;
  return new DirectoryRefusal(known);
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

function describeConnectFailure(error: unknown): { untrusted: boolean; text: string } {
  const code = String((error as { code?: unknown }).code ?? '');
  const message = error instanceof Error ? error.message : String(error);
  if (TLS_CODES.has(code)) {
    const why: Record<string, string> = {
      CERT_HAS_EXPIRED: 'its certificate has expired',
      CERT_NOT_YET_VALID: 'its certificate is not valid yet',
      ERR_TLS_CERT_ALTNAME_INVALID: 'its certificate is for a different name',
    };
    return { untrusted: true, text: `${why[code] ?? 'its certificate is not issued by a trusted CA'} (${code})` };
  }
  if (code === 'ECONNREFUSED') return { untrusted: false, text: 'connection refused' };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { untrusted: false, text: 'name not found' };
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return { untrusted: false, text: 'host unreachable' };
  if (/timeout|timed out|no answer within/i.test(message) || code === 'ETIMEDOUT') return { untrusted: false, text: 'no answer in time' };
  return { untrusted: false, text: message };
}

class DirectoryTimeout extends Error {
  readonly code = 'ETIMEDOUT';
}

async function withinTime<T>(ms: number, run: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([run(), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new DirectoryTimeout(`no answer within ${ms / 1000} s`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export interface DirectoryClientOptions {
  directory: () => DirectoryPolicy;
  breakGlassGroups: () => string[];
  readFile?: (path: string) => Buffer;
}

export class DirectoryClient {
  readonly #o: DirectoryClientOptions;

  constructor(options: DirectoryClientOptions) {
    this.#o = options;
  }

  /**
   * Binds as the user on the first DC that answers and returns who they are.
   * Throws DirectoryRefusal (the DC said no) or DirectoryUnavailable (no DC
   * could be asked).
   */
  authenticate(login: LoginName, password: string): Promise<DirectoryAccount> {
    return this.#asBound(login.bindName, password, login.filter, true);
  }

  /**
   * A smart card's owner, looked up by UPN with the policy's read-only lookup
   * account (directory.lookupAccount); null when policy names none. A card
   * proves who holds it; the directory still says whether the account is
   * enabled and what roles it has today.
   */
  async lookup(upn: string): Promise<DirectoryAccount | null> {
    const directory = this.#o.directory();
    if (!directory.lookupAccount || !directory.lookupPasswordFile) return null;
    let password: string;
    try {
      const read = this.#o.readFile ?? ((path: string) => readLimitedFileSync(path, { maxBytes: FILE_SIZE_LIMITS.secret }));
      password = read(directory.lookupPasswordFile).toString('utf8').trim();
    } catch (error) {
      throw new EnclaveError(
        'directory_unreachable',
        `The lookup account's password file ${directory.lookupPasswordFile} (directory.lookupPasswordFile) cannot be read: ${whyUnreadable(error)}. Contact IT.`,
      );
    }
    try {
      // The account found is the card's owner, not the lookup account that bound.
      return await this.#asBound(directory.lookupAccount, password, userFilter(new EqualityFilter({ attribute: 'userPrincipalName', value: upn })), false);
    } catch (error) {
      if (error instanceof DirectoryRefusal) {
        throw new EnclaveError('directory_unreachable', `The directory refused the lookup account ${directory.lookupAccount} (directory.lookupAccount): ${error.message} Contact IT.`);
      }
      throw error;
    }
  }

  async #asBound(bindName: string, password: string, filter: Filter, mustBeBoundAccount: boolean): Promise<DirectoryAccount> {
    const directory = this.#o.directory();
    if (directory.servers.length === 0) throw new EnclaveError('directory_unreachable', 'No directory servers are configured in policy (directory.servers). Contact IT.');
    // An empty password is an LDAP "unauthenticated bind", which many servers accept.
    if (password.length === 0) throw new DirectoryRefusal({ code: 'bad_credentials', message: 'The user name or password is not correct.', reason: 'empty_password' });
    const ca = this.#trustedCas(directory);
    const failures: string[] = [];
    let untrusted = false;
    let refused = false;
    const limitMs = directory.timeoutSeconds * 1000;
    for (const server of directory.servers) {
      const ldaps = server.startsWith('ldaps://');
      // Fresh for each server: ldapts' StartTLS writes the socket into the options it is given.
      const tlsOptions = verifiedClientTls<ConnectionOptions>(ca ? { ca } : {});
      // ldapts opens TLS from the first byte whenever tlsOptions is given, so ldap:// gets them only through StartTLS.
      const client = new Client({ url: server, timeout: limitMs, connectTimeout: limitMs, strictDN: false, ...(ldaps ? { tlsOptions } : {}) });
      try {
        try {
          // ldapts' own limits do not cover a TLS handshake that never completes.
          await withinTime(limitMs, async () => {
            if (!ldaps && directory.startTls) await client.startTLS(tlsOptions);
            await client.bind(bindName, password);
          });
        } catch (error) {
          const refusal = bindFailure(error);
          if (refusal) throw refusal;
          if (typeof (error as { code?: unknown }).code === 'number') {
            // An LDAP answer other than "invalid credentials", e.g. 8 (stronger authentication required).
            refused = true;
            failures.push(`${server}: the domain controller refused: ${(error as Error).message.replace(/ Code: 0x[0-9a-f]+$/i, '')}`);
            continue;
          }
          const failure = describeConnectFailure(error);
          untrusted ||= failure.untrusted;
          failures.push(`${server}: ${failure.text}`);
          continue;
        }
        return await this.#readAccount(client, directory, filter, mustBeBoundAccount);
      } finally {
        // Not awaited past the limit: a DC that never answered will not answer an unbind either.
        await withinTime(limitMs, () => client.unbind()).catch(() => undefined);
      }
    }
    if (untrusted)
      throw new DirectoryUnavailable({
        code: 'directory_untrusted',
        message: `No domain controller could be trusted (${failures.join('; ')}). Your password was not sent to it. Contact IT.`,
        offlineAllowed: false,
      });
    if (refused)
      throw new DirectoryUnavailable({ code: 'directory_unreachable', message: `No domain controller accepted the connection (${failures.join('; ')}). Contact IT.`, offlineAllowed: false });
    throw new DirectoryUnavailable({ code: 'directory_unreachable', message: `No domain controller answered (${failures.join('; ')}).`, offlineAllowed: true });
  }

  /** The policy's CA file, or undefined for the operating system's trust store. */
  #trustedCas(directory: DirectoryPolicy): Buffer | undefined {
    if (!directory.caFile) return undefined;
    let ca: Buffer;
    try {
      ca = (this.#o.readFile ?? ((path: string) => readLimitedFileSync(path, { maxBytes: FILE_SIZE_LIMITS.pem })))(directory.caFile);
    } catch (error) {
      throw new EnclaveError('directory_untrusted', `The directory CA file ${directory.caFile} (directory.caFile) cannot be read: ${whyUnreadable(error)}. Contact IT.`);
    }
    // Node accepts a CA file without a certificate and then trusts no domain controller, which would read as the DC's fault.
    const checked = checkCaBundle(ca);
    if (!checked.ok) {
      const why =
        checked.problem === 'no_certificate'
          ? 'holds no PEM certificate ("-----BEGIN CERTIFICATE-----")'
          : checked.problem === 'damaged'
            ? `holds a damaged certificate (${checked.detail})`
            : `holds no certificate Enclave can use (${checked.detail})`;
      throw new EnclaveError('directory_untrusted', `The directory CA file ${directory.caFile} (directory.caFile) ${why}. Contact IT.`);
    }
    return ca;
  }

  async #readAccount(client: Client, directory: DirectoryPolicy, filter: Filter, mustBeBoundAccount: boolean): Promise<DirectoryAccount> {
    const { searchEntries } = await client.search(directory.baseDn, {
      scope: 'sub',
      filter,
      attributes: ['distinguishedName', 'sAMAccountName', 'userPrincipalName', 'displayName', 'objectGUID', 'objectSid', 'userAccountControl'],
      explicitBufferAttributes: ['objectGUID', 'objectSid'],
      sizeLimit: 2,
    });
    const entry = searchEntries[0];
    if (!entry || searchEntries.length > 1) {
      throw new EnclaveError('directory_unreachable', `Your account was not found under ${directory.baseDn || 'the directory root'} (directory.baseDn). Contact IT.`);
    }
    // A user's own bind already fails for a disabled account; a lookup has to look (ACCOUNTDISABLE, 0x2).
    if (Number(Array.isArray(entry['userAccountControl']) ? entry['userAccountControl'][0] : entry['userAccountControl']) & 0x2) {
      // Not a DirectoryRefusal: that is what binds answer, and a lookup bind's refusal is about the lookup account.
      throw new EnclaveError('account_disabled', AD_BIND_FAILURES['533']!.message);
    }
    const text = (value: unknown): string => (Array.isArray(value) ? String(value[0] ?? '') : typeof value === 'string' ? value : '');
    const guid = entry['objectGUID'];
    const guidBytes = Array.isArray(guid) ? guid[0] : guid;
    if (!Buffer.isBuffer(guidBytes)) throw new EnclaveError('internal', "The directory did not return the account's objectGUID.");
    const dn = entry.dn;
    const sam = text(entry['sAMAccountName']);
    if (mustBeBoundAccount) {
      const sid = entry['objectSid'];
      await confirmBoundAccount(client, directory, { dn, samAccountName: sam, objectSid: Buffer.isBuffer(sid) ? sid : Array.isArray(sid) && Buffer.isBuffer(sid[0]) ? sid[0] : null });
    }
    const upn = text(entry['userPrincipalName']) || `${sam}@${directory.upnSuffix}`;

    const { searchEntries: groups } = await client.search(directory.baseDn, {
      scope: 'sub',
      filter: new AndFilter({ filters: [new EqualityFilter({ attribute: 'objectClass', value: 'group' }), new ExtensibleFilter({ matchType: 'member', rule: IN_CHAIN, value: dn })] }),
      attributes: ['distinguishedName'],
    });
    const memberOf = new Set(groups.map((g) => normalizeDn(g.dn)));
    const inAny = (dns: readonly string[]) => dns.some((g) => memberOf.has(normalizeDn(g)));
    const roles = ROLES.filter((role) => inAny(directory.roleGroups[role]));
    return { id: formatGuid(guidBytes), dn, samAccountName: sam, upn: upn.toLowerCase(), displayName: text(entry['displayName']) || sam, roles, breakGlass: inAny(this.#o.breakGlassGroups()) };
  }
}

/** LDAP "Who am I?" (RFC 4532): the server names the identity the connection is bound as. */
const WHO_AM_I = '1.3.6.1.4.1.4203.1.11.3';

/** What a server answers when it does not know an extended operation: protocolError (2) or unwillingToPerform (53). */
const UNSUPPORTED_EXOP = new Set([2, 53]);

/** The account that binding the typed name signed in is not the account the name was looked up as. */
export const BOUND_ACCOUNT_MISMATCH = 'bound_account_mismatch';

/** The parts of a directory connection the bound-identity check needs (a fake in unit tests). */
export interface BoundIdentitySource {
  exop(oid: string): Promise<{ oid?: string; value?: string }>;
  search(
    base: string,
    options: { scope: 'base' | 'sub'; filter?: string; attributes: string[]; explicitBufferAttributes?: string[] },
  ): Promise<{ searchEntries: { dn: string; [attribute: string]: unknown }[] }>;
}

/**
 * The password bound some account; the account read afterwards was found by
 * what the user typed. A bare name binds as name@upnSuffix (a UPN that any
 * account may carry, e.g. under an alternative suffix) but is looked up by
 * sAMAccountName, so the two can differ. The server is asked who the
 * connection is (Who-am-I; AD answers u:DOMAIN\name); a server without it
 * (Samba) is asked for the bound token's SIDs (the rootDSE's tokenGroups,
 * whose first SID is the user's own) instead. Never the typed name.
 */
export async function confirmBoundAccount(
  client: BoundIdentitySource,
  directory: Pick<DirectoryPolicy, 'netbiosDomain'>,
  found: { dn: string; samAccountName: string; objectSid: Buffer | null },
): Promise<void> {
  const mismatch = (): never => {
    throw new DirectoryRefusal({
      code: 'account_restricted',
      message: 'The password you typed belongs to a different directory account from the one your user name names, so you were not signed in. Type your user name as name@domain, or contact IT.',
      reason: BOUND_ACCOUNT_MISMATCH,
    });
  };
  let answer: string | undefined;
  try {
    answer = (await client.exop(WHO_AM_I)).value ?? '';
  } catch (error) {
    if (!UNSUPPORTED_EXOP.has((error as { code?: unknown }).code as number)) throw error;
  }
  if (answer !== undefined) {
    if (answer.startsWith('dn:')) {
      if (normalizeDn(answer.slice(3)) !== normalizeDn(found.dn)) mismatch();
      return;
    }
    const user = /^u:([^\\]+)\\(.+)$/.exec(answer);
    if (user) {
      const [, domain, sam] = user as unknown as [string, string, string];
      if (sam.toLowerCase() !== found.samAccountName.toLowerCase()) mismatch();
      // The same sAMAccountName may exist in a trusted domain: the domain has to be this one too.
      const ours = directory.netbiosDomain || (await domainNetbiosName(client, found.dn));
      if (!ours || domain.toLowerCase() !== ours.toLowerCase()) mismatch();
      return;
    }
    if (answer === '') mismatch(); // anonymous
    // Any other form (e.g. u:name@realm) says nothing comparable: the token below decides.
  }
  const { searchEntries } = await client.search('', { scope: 'base', attributes: ['tokenGroups'], explicitBufferAttributes: ['tokenGroups'] });
  const token = searchEntries[0]?.['tokenGroups'];
  const first = Array.isArray(token) ? token[0] : token;
  if (!Buffer.isBuffer(first)) {
    throw new EnclaveError(
      'directory_unreachable',
      'The domain controller cannot say which account your password signed in (neither "Who am I?" nor the rootDSE\'s tokenGroups), so Enclave cannot sign you in with it. Contact IT.',
    );
  }
  if (!found.objectSid || !first.equals(found.objectSid)) mismatch();
}

/** The NetBIOS name of the domain an account's DN lies in, from the configuration partition's crossRef. */
async function domainNetbiosName(client: BoundIdentitySource, dn: string): Promise<string | null> {
  const root = (await client.search('', { scope: 'base', attributes: ['configurationNamingContext'] })).searchEntries[0];
  const config = root?.['configurationNamingContext'];
  const configDn = Array.isArray(config) ? String(config[0] ?? '') : typeof config === 'string' ? config : '';
  if (!configDn) return null;
  const { searchEntries } = await client.search(`CN=Partitions,${configDn}`, { scope: 'sub', filter: '(&(objectClass=crossRef)(nETBIOSName=*))', attributes: ['nCName', 'nETBIOSName'] });
  const account = normalizeDn(dn);
  // The longest naming context the account lies under is its domain.
  let best: { nc: string; name: string } | null = null;
  for (const entry of searchEntries) {
    const nc = normalizeDn(String(Array.isArray(entry['nCName']) ? entry['nCName'][0] : (entry['nCName'] ?? '')));
    const name = String(Array.isArray(entry['nETBIOSName']) ? entry['nETBIOSName'][0] : (entry['nETBIOSName'] ?? ''));
    if (nc && name && (account === nc || account.endsWith(`,${nc}`)) && (!best || nc.length > best.nc.length)) best = { nc, name };
  }
  return best?.name ?? null;
}

/** Why a file named by policy could not be read, without repeating its path. */
function whyUnreadable(error: unknown): string {
  return error instanceof UnreadableFileError ? `it ${error.problem}` : (error as Error).message;
}
