import { describe, expect, it } from 'vitest';
import { BOUND_ACCOUNT_MISMATCH, confirmBoundAccount, DirectoryClient, formatGuid, normalizeDn, parseLoginName, type BoundIdentitySource } from '../../src/main/identity/directory.js';
import { policyFromDocument } from '../../src/main/policy/index.js';

const directory = policyFromDocument(
  {
    mode: 'managed',
    directory: { servers: ['ldaps://dc1.corp.example.org'], baseDn: 'DC=corp,DC=example,DC=org', netbiosDomain: 'CORP', upnSuffix: 'corp.example.org' },
    inference: { models: [{ id: 'm', name: 'M', path: '/m.gguf', sha256: 'a'.repeat(64) }], workloads: [{ id: 'w', name: 'W', model: 'm' }] },
  },
  'test',
).policy.directory;

describe('directory sign-in names', () => {
  it('takes sAMAccountName, DOMAIN\\user and a UPN, and binds without ever building a DN', () => {
    expect(parseLoginName('alice', directory)).toMatchObject({ bindName: 'CORP\\alice', key: 'alice' });
    expect(parseLoginName('corp\\Alice', directory)).toMatchObject({ bindName: 'corp\\Alice', key: 'alice' });
    expect(parseLoginName('Alice@corp.example.org', directory)).toMatchObject({ bindName: 'Alice@corp.example.org', key: 'alice@corp.example.org' });
    expect(parseLoginName('alice', directory).filter.toString()).toBe('(&(objectCategory=person)(objectClass=user)(sAMAccountName=alice))');
  });

  it('refuses another domain by name, and a malformed DOMAIN\\ name', () => {
    expect(() => parseLoginName('EVIL\\alice', directory)).toThrow(/signs in to the CORP domain, not EVIL/);
    expect(() => parseLoginName('CORP\\', directory)).toThrow(/Type your user name as/);
  });

  it('refuses DOMAIN\\name when policy names no NetBIOS domain, saying what to type instead', () => {
    const noDomain = { ...directory, netbiosDomain: '' };
    expect(() => parseLoginName('OTHER\\alice', noDomain)).toThrow('This workstation does not accept DOMAIN\\name (directory.netbiosDomain is not set). Type your user name as name or name@domain.');
    expect(() => parseLoginName('CORP\\alice', noDomain)).toThrow(/does not accept DOMAIN\\name/);
    expect(parseLoginName('alice', noDomain)).toMatchObject({ bindName: 'alice@corp.example.org' });
  });

  it('escapes hostile names in the search filter (RFC 4515), so they match only themselves', () => {
    const cases: [string, string][] = [
      ['*', '(sAMAccountName=\\2a)'],
      ['admin)(sAMAccountName=*', '(sAMAccountName=admin\\29\\28sAMAccountName=\\2a)'],
      ['a*)(|(objectClass=*', '(sAMAccountName=a\\2a\\29\\28|\\28objectClass=\\2a)'],
    ];
    for (const [typed, expected] of cases) {
      expect(parseLoginName(typed, directory).filter.toString()).toContain(expected);
    }
    const upn = parseLoginName('*)(uid=*))(|(uid=*@x', directory).filter.toString();
    expect(upn).toContain('(userPrincipalName=\\2a\\29\\28uid=\\2a\\29\\29\\28|\\28uid=\\2a@x)');
  });
});

describe('directory helpers', () => {
  it('compares DNs without case or spaces after commas, keeping escaped commas', () => {
    expect(normalizeDn('CN=Enclave Clinicians, OU=Groups,DC=Corp')).toBe(normalizeDn('cn=enclave clinicians,ou=groups, dc=corp'));
    expect(normalizeDn('CN=Smith\\, John,DC=corp')).toBe('cn=smith\\, john,dc=corp');
  });

  it('formats objectGUID bytes as Microsoft writes the GUID', () => {
    const bytes = Buffer.from('33221100554477668899aabbccddeeff', 'hex');
    expect(formatGuid(bytes)).toBe('00112233-4455-6677-8899-aabbccddeeff');
  });
});

describe('the account read after the bind is the account that bound', () => {
  const SID_A = Buffer.from('010500000000000515000000aaaaaaaabbbbbbbbcccccccc4e040000', 'hex');
  const SID_B = Buffer.from('010500000000000515000000aaaaaaaabbbbbbbbcccccccc4f040000', 'hex');
  const found = { dn: 'CN=John Doe,CN=Users,DC=corp,DC=example,DC=org', samAccountName: 'jdoe', objectSid: SID_A };
  /** A directory answering Who-am-I with `whoAmI` (undefined: unsupported), the rootDSE with `token`, and CORP's crossRef. */
  function server(whoAmI: string | undefined, token: Buffer[] | null = [SID_A]): BoundIdentitySource {
    return {
      exop: async () => {
        if (whoAmI === undefined) throw Object.assign(new Error('Extended Operation not supported'), { code: 2 });
        return { value: whoAmI };
      },
      search: async (base, options) => {
        if (base === '' && options.attributes.includes('tokenGroups')) return { searchEntries: [{ dn: '', ...(token ? { tokenGroups: token } : {}) }] };
        if (base === '') return { searchEntries: [{ dn: '', configurationNamingContext: 'CN=Configuration,DC=corp,DC=example,DC=org' }] };
        return {
          searchEntries: [
            { dn: 'CN=CORP,CN=Partitions,CN=Configuration,DC=corp,DC=example,DC=org', nCName: 'DC=corp,DC=example,DC=org', nETBIOSName: 'CORP' },
            { dn: 'CN=OTHER,CN=Partitions,CN=Configuration,DC=corp,DC=example,DC=org', nCName: 'DC=other,DC=example,DC=org', nETBIOSName: 'OTHER' },
          ],
        };
      },
    };
  }
  const refused = { code: 'account_restricted', reason: BOUND_ACCOUNT_MISMATCH, message: expect.stringMatching(/different directory account/) };

  it('accepts Who-am-I naming the same account (u:DOMAIN\\name or dn:), with or without a NetBIOS domain in policy', async () => {
    await expect(confirmBoundAccount(server('u:CORP\\jdoe'), { netbiosDomain: 'CORP' }, found)).resolves.toBeUndefined();
    await expect(confirmBoundAccount(server('u:corp\\JDOE'), { netbiosDomain: '' }, found)).resolves.toBeUndefined();
    await expect(confirmBoundAccount(server('dn:cn=john doe, cn=users,dc=corp,dc=example,dc=org'), { netbiosDomain: '' }, found)).resolves.toBeUndefined();
  });

  it('refuses when Who-am-I names another account, the same name in a trusted domain, or nobody', async () => {
    await expect(confirmBoundAccount(server('u:CORP\\impostor'), { netbiosDomain: 'CORP' }, found)).rejects.toMatchObject(refused);
    // OTHER\jdoe bound in a trusted domain, then the lookup found the local jdoe.
    await expect(confirmBoundAccount(server('u:OTHER\\jdoe'), { netbiosDomain: '' }, found)).rejects.toMatchObject(refused);
    await expect(confirmBoundAccount(server('u:OTHER\\jdoe'), { netbiosDomain: 'CORP' }, found)).rejects.toMatchObject(refused);
    await expect(confirmBoundAccount(server('dn:CN=Impostor,CN=Users,DC=corp,DC=example,DC=org'), { netbiosDomain: '' }, found)).rejects.toMatchObject(refused);
    await expect(confirmBoundAccount(server(''), { netbiosDomain: 'CORP' }, found)).rejects.toMatchObject(refused);
  });

  it("without Who-am-I, compares the bound token's own SID with the account found, never the typed name", async () => {
    await expect(confirmBoundAccount(server(undefined, [SID_A, SID_B]), { netbiosDomain: '' }, found)).resolves.toBeUndefined();
    await expect(confirmBoundAccount(server(undefined, [SID_B, SID_A]), { netbiosDomain: '' }, found)).rejects.toMatchObject(refused);
    await expect(confirmBoundAccount(server(undefined, [SID_A]), { netbiosDomain: '' }, { ...found, objectSid: null })).rejects.toMatchObject(refused);
    await expect(confirmBoundAccount(server(undefined, null), { netbiosDomain: '' }, found)).rejects.toMatchObject({
      code: 'directory_unreachable',
      message: expect.stringMatching(/cannot say which account/),
    });
  });
});

describe('the directory CA file', () => {
  // Port 1 on loopback: nothing listens, so without the check the failure would read as an unreachable DC.
  const client = (caText: string): DirectoryClient =>
    new DirectoryClient({ directory: () => ({ ...directory, servers: ['ldaps://127.0.0.1:1'], caFile: '/etc/enclave/dc-ca.pem' }), breakGlassGroups: () => [], readFile: () => Buffer.from(caText) });
  const login = parseLoginName('jdoe', directory);

  it('is refused before any connection when it holds no certificate, naming the file (Node would trust no DC and blame the DC)', async () => {
    await expect(client('just some text\n').authenticate(login, 'a password')).rejects.toMatchObject({
      code: 'directory_untrusted',
      message: 'The directory CA file /etc/enclave/dc-ca.pem (directory.caFile) holds no PEM certificate ("-----BEGIN CERTIFICATE-----"). Contact IT.',
    });
    await expect(client('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n').authenticate(login, 'a password')).rejects.toMatchObject({
      code: 'directory_untrusted',
      message: expect.stringMatching(/^The directory CA file \/etc\/enclave\/dc-ca\.pem \(directory\.caFile\) holds a damaged certificate \(/),
    });
  });
});
