// The Samba AD DC test harness itself (test/support/samba-dc.ts): LDAPS with
// the test CA, AD-style bind errors, nested groups, StartTLS. Uses the run's
// DC from the globalSetup (inject('sambaDc')) when it is wired, else starts its
// own. Stopping the shared DC would fail other files running at the same time;
// the end-to-end offline sign-in test stops its own.
import { readFileSync } from 'node:fs';
import { Client, InvalidCredentialsError, type ClientOptions } from 'ldapts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { attachSambaDc, startSambaDc, type SambaDc, type SambaDcInfo, type SambaDcUserKey } from '../support/samba-dc.js';

let dc: SambaDc;
let ownDc: SambaDc | undefined;

beforeAll(async () => {
  const provided = inject('sambaDc') as SambaDcInfo | undefined;
  if (provided) {
    dc = attachSambaDc(provided);
  } else {
    ownDc = await startSambaDc();
    dc = ownDc;
  }
}, 120_000);

afterAll(async () => {
  await ownDc?.destroy();
});

function client(options: Partial<ClientOptions> & { caFile?: string } = {}): Client {
  const { caFile = dc.caFile, ...rest } = options;
  return new Client({ url: dc.ldapsUrl, tlsOptions: { ca: [readFileSync(caFile)] }, connectTimeout: 5_000, timeout: 10_000, ...rest });
}

async function bind(user: string, password: string, options: Partial<ClientOptions> & { caFile?: string } = {}): Promise<void> {
  const c = client(options);
  try {
    await c.bind(user, password);
  } finally {
    await c.unbind().catch(() => undefined);
  }
}

/** What Samba (like AD) says in the bind response's diagnostic message; `data` is the Win32 sub-code. */
const adBindError = (data: string) => `80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data ${data}, v1db1`;

async function bindError(user: string, password: string): Promise<InvalidCredentialsError> {
  const error = await bind(user, password).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidCredentialsError);
  return error as InvalidCredentialsError;
}

describe('LDAPS', () => {
  it('binds clinician@enclave.test with the test CA, by UPN, DOMAIN\\name and DN', async () => {
    const { clinician } = dc.users;
    await bind(clinician.upn, clinician.password);
    await bind(`${dc.netbiosDomain}\\${clinician.username}`, clinician.password);
    await bind(clinician.dn, clinician.password);
    // the certificate also names localhost
    await bind(clinician.upn, clinician.password, { url: `ldaps://localhost:${dc.ldapsPort}` });
  });

  it('refuses the DC certificate under a different CA', async () => {
    const error = await bind(dc.users.clinician.upn, dc.users.clinician.password, { caFile: dc.untrustedCaFile }).then(
      () => undefined,
      (e: unknown) => e as NodeJS.ErrnoException,
    );
    expect(error?.code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('binds every enabled user with its password', async () => {
    for (const key of ['clinician', 'researcher', 'compliance', 'admin', 'noGroups', 'breakGlass'] as const) {
      await bind(dc.users[key].upn, dc.users[key].password);
    }
  });
});

describe('bind errors (result code 49, AD diagnostic message)', () => {
  // [case, user, password (undefined: the user's own), Win32 code after "data"]
  const cases: [string, SambaDcUserKey | 'nobody', string | undefined, string][] = [
    ['wrong password', 'clinician', 'Not-The-Password-1', '52e'],
    ['nonexistent user', 'nobody', 'Whatever-Pass-1!', '52e'],
    ['disabled account', 'disabled', undefined, '533'],
    ['must change password at next logon', 'mustChange', undefined, '773'],
    ['expired account', 'accountExpired', undefined, '701'],
  ];
  it.each(cases)('%s', async (_name, key, password, data) => {
    const user = key === 'nobody' ? { upn: `nobody@${dc.upnSuffix}`, password: '' } : dc.users[key];
    const error = await bindError(user.upn, password ?? user.password);
    expect(error.code).toBe(49);
    expect(error.message).toContain(adBindError(data));
  });

  it('a wrong password on a disabled, must-change or expired account still says 52e', async () => {
    for (const key of ['disabled', 'mustChange', 'accountExpired'] as const) {
      expect((await bindError(dc.users[key].upn, 'Not-The-Password-1')).message).toContain(adBindError('52e'));
    }
  });

  it('locks lockable after 3 wrong passwords (775), and no one else', async () => {
    const { lockable, clinician } = dc.users;
    try {
      for (let i = 0; i < dc.lockoutThreshold; i++) {
        expect((await bindError(lockable.upn, `Wrong-Pass-${i}!`)).message).toContain(adBindError('52e'));
      }
      expect((await bindError(lockable.upn, lockable.password)).message).toContain(adBindError('775'));
      // the lockout policy applies to lockable alone
      for (let i = 0; i < dc.lockoutThreshold + 1; i++) await bindError(clinician.upn, `Wrong-Pass-${i}!`);
      await bind(clinician.upn, clinician.password);
    } finally {
      await dc.unlock('lockable');
    }
    await bind(lockable.upn, lockable.password);
  });
});

describe('groups', () => {
  it('finds Enclave Researchers for researcher only through Research Staff (LDAP_MATCHING_RULE_IN_CHAIN)', async () => {
    const c = client();
    try {
      await c.bind(dc.users.researcher.upn, dc.users.researcher.password);
      const direct = await c.search(dc.users.researcher.dn, { scope: 'base', attributes: ['memberOf'] });
      expect([direct.searchEntries[0]?.['memberOf']].flat()).toEqual([dc.groups.researchStaff]);
      const nested = await c.search(dc.baseDn, {
        scope: 'sub',
        filter: `(&(objectClass=group)(member:1.2.840.113556.1.4.1941:=${dc.users.researcher.dn}))`,
        attributes: ['cn'],
      });
      expect(nested.searchEntries.map((e) => e.dn).sort()).toEqual([dc.groups.researchers, dc.groups.researchStaff].sort());
    } finally {
      await c.unbind().catch(() => undefined);
    }
  });

  it('has the direct memberships the sign-in tests rely on', async () => {
    const c = client();
    try {
      await c.bind(dc.administrator.dn, dc.administrator.password);
      const memberOf = async (key: SambaDcUserKey) => [(await c.search(dc.users[key].dn, { scope: 'base', attributes: ['memberOf'] })).searchEntries[0]?.['memberOf'] ?? []].flat().sort();
      expect(await memberOf('clinician')).toEqual([dc.groups.clinicians]);
      expect(await memberOf('compliance')).toEqual([dc.groups.compliance]);
      expect(await memberOf('admin')).toEqual([dc.groups.admins]);
      expect(await memberOf('noGroups')).toEqual([]);
      expect(await memberOf('breakGlass')).toEqual([dc.groups.breakGlass, dc.groups.clinicians].sort());
      const user = await c.search(dc.users.clinician.dn, { scope: 'base', attributes: ['displayName', 'userPrincipalName', 'sAMAccountName'] });
      expect(user.searchEntries[0]).toMatchObject({ displayName: dc.users.clinician.displayName, userPrincipalName: dc.users.clinician.upn, sAMAccountName: 'clinician' });
    } finally {
      await c.unbind().catch(() => undefined);
    }
  });
});

describe('plain LDAP on 389', () => {
  it('refuses a simple bind before StartTLS and accepts it after', async () => {
    const plain = new Client({ url: dc.ldapUrl, connectTimeout: 5_000, timeout: 10_000 });
    try {
      await expect(plain.bind(dc.users.clinician.upn, dc.users.clinician.password)).rejects.toMatchObject({ code: 8 }); // strongAuthRequired
    } finally {
      await plain.unbind().catch(() => undefined);
    }
    const tls = new Client({ url: dc.ldapUrl, connectTimeout: 5_000, timeout: 10_000 });
    try {
      await tls.startTLS({ ca: [readFileSync(dc.caFile)] });
      await tls.bind(dc.users.clinician.upn, dc.users.clinician.password);
      const me = await tls.search(dc.users.clinician.dn, { scope: 'base', attributes: ['sAMAccountName'] });
      expect(me.searchEntries[0]?.['sAMAccountName']).toBe('clinician');
    } finally {
      await tls.unbind().catch(() => undefined);
    }
  });
});
