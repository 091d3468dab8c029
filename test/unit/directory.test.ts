import { describe, expect, it } from 'vitest';
import { formatGuid, normalizeDn, parseLoginName } from '../../src/main/identity/directory.js';
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
