// The smart-card lab (test/support/smart-card.ts) itself: the cards'
// certificates and CRLs are what they claim to be, the tokens hold PIV-style
// objects that sign, and the test card reader shows a pulled card to a process
// that has already initialised the module.
import { execFile } from 'node:child_process';
import { X509Certificate, createVerify, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  Certificate,
  CertificateList,
  CertificatePolicies,
  ExtendedKeyUsage,
  KeyUsage,
  KeyUsageFlags,
  SubjectAlternativeName,
  id_ce_certificatePolicies,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
} from '@peculiar/asn1-x509';
import * as pkcs11js from 'pkcs11js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CA_NAME,
  OID_CLIENT_AUTH,
  OID_PIV_AUTH_POLICY,
  OID_SMART_CARD_LOGON,
  OID_UPN,
  PIV_LABELS,
  SMART_CARD_KEYS,
  createSmartCardLab,
  type SmartCardKey,
  type SmartCardLab,
} from '../support/smart-card.js';

const ADMIN_UPN = 'dave.admin@enclave.test';
// CK_SLOT_INFO flags (pkcs11js has them at run time, not in its typings)
const CKF_TOKEN_PRESENT = 0x1;
const CKF_REMOVABLE_DEVICE = 0x2;

let lab: SmartCardLab;
let p11: pkcs11js.PKCS11 | undefined;

beforeAll(async () => {
  lab = await createSmartCardLab({ upns: { admin: ADMIN_UPN }, inserted: ['clinician', 'noUpn'] });
  process.env.SOFTHSM2_CONF = lab.softhsmConf;
}, 60_000);

afterAll(async () => {
  try {
    p11?.C_Finalize();
  } catch {
    // not initialised
  }
  await lab?.destroy();
});

/** The module, initialised once for the file (as Enclave keeps it). */
function pkcs11Module(): pkcs11js.PKCS11 {
  if (!p11) {
    p11 = new pkcs11js.PKCS11();
    p11.load(lab.modulePath);
    p11.C_Initialize();
  }
  return p11;
}

function run(file: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, ...lab.env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as NodeJS.ErrnoException).code ?? 1) || 1 : 0, output: `${stdout}${stderr}` });
    });
  });
}

/** The PKCS#11 return value a call fails with (0 if it succeeds). */
function rv(call: () => unknown): number {
  try {
    call();
    return 0;
  } catch (error) {
    if (error instanceof pkcs11js.Pkcs11Error) return error.code;
    throw error;
  }
}

function slotOf(card: SmartCardKey): Buffer {
  const pkcs11 = pkcs11Module();
  const slot = pkcs11.C_GetSlotList(false).find((s) => rv(() => pkcs11.C_GetTokenInfo(s)) === 0 && pkcs11.C_GetTokenInfo(s).serialNumber.trim() === lab.cards[card].tokenSerial);
  if (!slot) throw new Error(`${card} is in no reader`);
  return slot;
}

function findObjects(session: Buffer, template: pkcs11js.Template): Buffer[] {
  const pkcs11 = pkcs11Module();
  pkcs11.C_FindObjectsInit(session, template);
  try {
    return pkcs11.C_FindObjects(session, 16);
  } finally {
    pkcs11.C_FindObjectsFinal(session);
  }
}

const byId = (cls: number) => [
  { type: pkcs11js.CKA_CLASS, value: cls },
  { type: pkcs11js.CKA_ID, value: Buffer.from([0x01]) },
];

/** PKCS#11 login and a SHA256-RSA-PKCS signature over random data, checked against the certificate. */
function signAndVerify(session: Buffer, card: SmartCardKey): boolean {
  const pkcs11 = pkcs11Module();
  const [key] = findObjects(session, byId(pkcs11js.CKO_PRIVATE_KEY));
  if (!key) throw new Error('no private key with CKA_ID 01');
  const data = randomBytes(48);
  pkcs11.C_SignInit(session, { mechanism: pkcs11js.CKM_SHA256_RSA_PKCS }, key);
  const signature = pkcs11.C_Sign(session, data, Buffer.alloc(512));
  return createVerify('sha256').update(data).verify(new X509Certificate(lab.cards[card].certPem).publicKey, signature);
}

function extension<T>(cert: Certificate, oid: string, type: new () => T): T | undefined {
  const ext = cert.tbsCertificate.extensions?.find((e) => e.extnID === oid);
  return ext ? AsnConvert.parse(ext.extnValue, type) : undefined;
}

describe('certificates', () => {
  const parse = (card: SmartCardKey) => AsnConvert.parse(new X509Certificate(lab.cards[card].certPem).raw, Certificate);
  const upnOf = (card: SmartCardKey): string[] | undefined =>
    extension(parse(card), id_ce_subjectAltName, SubjectAlternativeName)
      ?.filter((name) => name.otherName?.typeId === OID_UPN)
      .map((name) => Buffer.from(name.otherName?.value ?? new ArrayBuffer(0)))
      // the value inside otherName's [0] EXPLICIT: a UTF8String (tag 0x0C), short length
      .map((der) => {
        expect(der[0]).toBe(0x0c);
        expect(der.length).toBe(2 + (der[1] ?? 0));
        return der.subarray(2).toString('utf8');
      });

  it('puts the UPN in a SAN otherName (UTF8String), the override where given, none on noUpn', () => {
    expect(upnOf('clinician')).toEqual(['clinician@enclave.test']);
    expect(upnOf('admin')).toEqual([ADMIN_UPN]);
    expect(lab.cards.admin.upn).toBe(ADMIN_UPN);
    for (const card of ['revoked', 'expired', 'otherCa', 'noEku'] as const) expect(upnOf(card)).toEqual([lab.cards[card].upn]);
    expect(upnOf('noUpn')).toBeUndefined();
    expect(lab.cards.noUpn.upn).toBeNull();
    expect(new X509Certificate(lab.cards.clinician.certPem).subjectAltName).toBe('othername:UPN:clinician@enclave.test');
  });

  it('has smart-card logon and clientAuth EKUs, digitalSignature and the PIV policy; noEku has clientAuth only', () => {
    for (const card of SMART_CARD_KEYS) {
      const cert = parse(card);
      const eku = [...(extension(cert, id_ce_extKeyUsage, ExtendedKeyUsage) ?? [])];
      expect(eku, card).toEqual(card === 'noEku' ? [OID_CLIENT_AUTH] : [OID_SMART_CARD_LOGON, OID_CLIENT_AUTH]);
      const keyUsage = extension(cert, id_ce_keyUsage, KeyUsage);
      expect(keyUsage?.toNumber(), card).toBe(KeyUsageFlags.digitalSignature);
      expect(cert.tbsCertificate.extensions?.find((e) => e.extnID === id_ce_keyUsage)?.critical).toBe(true);
      expect(
        extension(cert, id_ce_certificatePolicies, CertificatePolicies)?.map((p) => p.policyIdentifier),
        card,
      ).toEqual([OID_PIV_AUTH_POLICY]);
      expect(new X509Certificate(lab.cards[card].certPem).publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    }
  });

  it('chains to the lab CA, except otherCa (the other CA); expired ended in 2021; fingerprints and serials match', () => {
    const ca = new X509Certificate(readFileSync(lab.caFile));
    const otherCa = new X509Certificate(readFileSync(lab.otherCaFile));
    expect(ca.subject).toContain(`CN=${CA_NAME}`);
    expect(ca.ca).toBe(true);
    for (const card of SMART_CARD_KEYS) {
      const cert = new X509Certificate(lab.cards[card].certPem);
      const issuer = card === 'otherCa' ? otherCa : ca;
      const stranger = card === 'otherCa' ? ca : otherCa;
      expect(cert.checkIssued(issuer) && cert.verify(issuer.publicKey), card).toBe(true);
      expect(cert.verify(stranger.publicKey), card).toBe(false);
      expect(cert.fingerprint256.replaceAll(':', '').toLowerCase()).toBe(lab.cards[card].certSha256);
      expect(cert.serialNumber.toUpperCase()).toBe(lab.cards[card].serialHex);
      const validTo = Date.parse(cert.validTo);
      if (card === 'expired') expect(validTo).toBe(Date.parse('2021-01-01T00:00:00Z'));
      else expect(validTo).toBeGreaterThan(Date.now() + 365 * 86_400_000);
      expect(Date.parse(cert.validFrom)).toBeLessThan(Date.now());
    }
  });

  it('the CRL lists the revoked card and is current; the stale CRL expired two days ago; both from the lab CA', async () => {
    const parseCrl = (file: string) => AsnConvert.parse(readFileSync(file), CertificateList).tbsCertList;
    const serials = (file: string) =>
      (parseCrl(file).revokedCertificates ?? []).map((r) =>
        Buffer.from(r.userCertificate)
          .toString('hex')
          .toUpperCase()
          .replace(/^(00)+/, ''),
      );
    expect(serials(lab.crlFile)).toEqual([lab.cards.revoked.serialHex.replace(/^(00)+/, '')]);
    expect(parseCrl(lab.crlFile).nextUpdate?.getTime().getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000);
    expect(serials(lab.staleCrlFile)).toEqual([]);
    const stale = parseCrl(lab.staleCrlFile);
    const staleNext = stale.nextUpdate?.getTime().getTime() ?? Infinity;
    expect(staleNext).toBeLessThan(Date.now() - 86_400_000);
    expect(stale.thisUpdate.getTime().getTime()).toBeLessThan(staleNext);
    // openssl agrees: signed by the lab CA; chain with the CRL refuses revoked (23) and takes clinician; stale CRL: 12, "CRL has expired"
    for (const crl of [lab.crlFile, lab.staleCrlFile]) {
      expect((await run('openssl', ['crl', '-inform', 'DER', '-in', crl, '-CAfile', lab.caFile, '-noout'])).output).toMatch(/verify OK/);
    }
    const verify = async (card: SmartCardKey, crl: string) => {
      const pem = `${crl}.test.pem`;
      expect((await run('openssl', ['crl', '-inform', 'DER', '-in', crl, '-out', pem])).code).toBe(0);
      return run('openssl', ['verify', '-crl_check', '-CAfile', lab.caFile, '-CRLfile', pem, lab.cards[card].certFile]);
    };
    expect((await verify('clinician', lab.crlFile)).code).toBe(0);
    expect((await verify('revoked', lab.crlFile)).output).toMatch(/error 23 .*certificate revoked/);
    expect((await verify('clinician', lab.staleCrlFile)).output).toMatch(/error 12 .*CRL has expired/);
  });
});

describe('tokens', () => {
  it('pkcs11-tool lists the PIV objects (key, public key, certificate, CKA_ID 01) through the reader', async () => {
    const { code, output } = await run('pkcs11-tool', ['--module', lab.modulePath, '--token-label', lab.cards.clinician.tokenLabel, '--login', '--pin', lab.cards.clinician.pin, '--list-objects']);
    expect(code, output).toBe(0);
    for (const label of Object.values(PIV_LABELS)) expect(output).toContain(`label:      ${label}`);
    expect(output.match(/ID: +01$/gm)).toHaveLength(3);
    expect(output).toContain('CN=Alice Clinician');
  });

  it('logs in with the PIN and signs with CKM_SHA256_RSA_PKCS; the certificate verifies the signature', () => {
    const pkcs11 = pkcs11Module();
    const slot = slotOf('clinician');
    const token = pkcs11.C_GetTokenInfo(slot);
    expect(token.label.trim()).toBe(lab.cards.clinician.tokenLabel);
    expect(token.serialNumber.trim()).toBe(lab.cards.clinician.tokenSerial);
    const session = pkcs11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
    try {
      // the certificate and public key are readable before the PIN, the private key only after
      const [cert] = findObjects(session, byId(pkcs11js.CKO_CERTIFICATE));
      expect(cert).toBeDefined();
      const [value] = pkcs11.C_GetAttributeValue(session, cert as Buffer, [{ type: pkcs11js.CKA_VALUE }]);
      expect(Buffer.from(value?.value as Buffer).equals(new X509Certificate(lab.cards.clinician.certPem).raw)).toBe(true);
      expect(findObjects(session, byId(pkcs11js.CKO_PUBLIC_KEY))).toHaveLength(1);
      expect(findObjects(session, byId(pkcs11js.CKO_PRIVATE_KEY))).toHaveLength(0);
      pkcs11.C_Login(session, pkcs11js.CKU_USER, lab.cards.clinician.pin);
      expect(signAndVerify(session, 'clinician')).toBe(true);
      pkcs11.C_Logout(session);
    } finally {
      pkcs11.C_CloseSession(session);
    }
  });

  it('counts wrong PINs: CKR_PIN_INCORRECT, COUNT_LOW, FINAL_TRY, then CKR_PIN_LOCKED even for the right PIN until unblocked', async () => {
    const pkcs11 = pkcs11Module();
    const slot = slotOf('noUpn');
    const flags = () => pkcs11.C_GetTokenInfo(slot).flags & (pkcs11js.CKF_USER_PIN_COUNT_LOW | pkcs11js.CKF_USER_PIN_FINAL_TRY | pkcs11js.CKF_USER_PIN_LOCKED);
    const session = pkcs11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
    const login = (pin: string) => rv(() => pkcs11.C_Login(session, pkcs11js.CKU_USER, pin));
    try {
      expect(lab.maxPinTries).toBe(3);
      expect(flags()).toBe(0);
      expect(login('000000')).toBe(pkcs11js.CKR_PIN_INCORRECT);
      expect(flags()).toBe(pkcs11js.CKF_USER_PIN_COUNT_LOW);
      expect(lab.pinTriesLeft('noUpn')).toBe(2);
      // a right PIN resets the count
      expect(login(lab.cards.noUpn.pin)).toBe(0);
      pkcs11.C_Logout(session);
      expect(flags()).toBe(0);
      expect(login('000000')).toBe(pkcs11js.CKR_PIN_INCORRECT);
      expect(login('111111')).toBe(pkcs11js.CKR_PIN_INCORRECT);
      expect(flags()).toBe(pkcs11js.CKF_USER_PIN_COUNT_LOW | pkcs11js.CKF_USER_PIN_FINAL_TRY);
      expect(login('222222')).toBe(pkcs11js.CKR_PIN_INCORRECT);
      expect(flags()).toBe(pkcs11js.CKF_USER_PIN_LOCKED);
      expect(login(lab.cards.noUpn.pin)).toBe(pkcs11js.CKR_PIN_LOCKED);
      expect(lab.pinTriesLeft('noUpn')).toBe(0);
      await lab.unblockPin('noUpn');
      expect(flags()).toBe(0);
      expect(login(lab.cards.noUpn.pin)).toBe(0);
      expect(signAndVerify(session, 'noUpn')).toBe(true);
    } finally {
      pkcs11.C_CloseSession(session);
    }
  });
});

describe('card readers', () => {
  const present = () =>
    pkcs11Module()
      .C_GetSlotList(true)
      .map((s) => pkcs11Module().C_GetTokenInfo(s).label.trim())
      .sort();
  const event = () => pkcs11Module().C_WaitForSlotEvent(pkcs11js.CKF_DONT_BLOCK);

  it('shows cards going in and out to the already-initialised module: slot list, flags, errors, sessions', async () => {
    const pkcs11 = pkcs11Module();
    expect(present()).toEqual([lab.cards.clinician.tokenLabel, lab.cards.noUpn.tokenLabel].sort());
    expect(pkcs11.C_GetSlotList(false)).toHaveLength(SMART_CARD_KEYS.length);
    while (event()) {
      // drain the events from earlier tests
    }
    const slot = slotOf('clinician');
    expect(slot).toHaveLength(8); // CK_SLOT_ID as an 8-byte Buffer
    const session = pkcs11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
    pkcs11.C_Login(session, pkcs11js.CKU_USER, lab.cards.clinician.pin);
    expect(signAndVerify(session, 'clinician')).toBe(true);

    await lab.remove('clinician');
    expect(lab.isInserted('clinician')).toBe(false);
    expect(present()).toEqual([lab.cards.noUpn.tokenLabel]);
    expect(pkcs11.C_GetSlotList(false).some((s) => s.equals(slot))).toBe(true);
    expect(pkcs11.C_GetSlotInfo(slot).flags & CKF_TOKEN_PRESENT).toBe(0);
    expect(pkcs11.C_GetSlotInfo(slot).flags & CKF_REMOVABLE_DEVICE).toBe(CKF_REMOVABLE_DEVICE);
    expect(rv(() => pkcs11.C_GetTokenInfo(slot))).toBe(pkcs11js.CKR_TOKEN_NOT_PRESENT);
    expect(rv(() => pkcs11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION))).toBe(pkcs11js.CKR_TOKEN_NOT_PRESENT);
    expect(rv(() => pkcs11.C_GetSessionInfo(session))).toBe(pkcs11js.CKR_DEVICE_REMOVED);
    expect(rv(() => signAndVerify(session, 'clinician'))).toBe(pkcs11js.CKR_DEVICE_REMOVED);
    expect(event()?.equals(slot)).toBe(true);
    expect(event()).toBeNull();

    await lab.insert('clinician');
    expect(present()).toEqual([lab.cards.clinician.tokenLabel, lab.cards.noUpn.tokenLabel].sort());
    expect(pkcs11.C_GetSlotInfo(slot).flags & CKF_TOKEN_PRESENT).toBe(CKF_TOKEN_PRESENT);
    expect(slotOf('clinician').equals(slot)).toBe(true); // the same card in the same reader
    expect(event()?.equals(slot)).toBe(true);
    // the old session stays dead; a new one starts logged out, and the card signs again
    expect(rv(() => pkcs11.C_GetSessionInfo(session))).toBe(pkcs11js.CKR_DEVICE_REMOVED);
    expect(rv(() => pkcs11.C_CloseSession(session))).toBe(0);
    const again = pkcs11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
    try {
      expect(pkcs11.C_GetSessionInfo(again).state).toBe(0); // CKS_RO_PUBLIC_SESSION: not logged in
      pkcs11.C_Login(again, pkcs11js.CKU_USER, lab.cards.clinician.pin);
      expect(signAndVerify(again, 'clinician')).toBe(true);

      // pulled and put back between two looks: the session is gone all the same
      await lab.remove('clinician');
      await lab.insert('clinician');
      expect(rv(() => pkcs11.C_GetSessionInfo(again))).toBe(pkcs11js.CKR_DEVICE_REMOVED);
      expect(present()).toContain(lab.cards.clinician.tokenLabel);
    } finally {
      pkcs11.C_CloseSession(again);
    }
  });

  it('a card inserted after C_Initialize shows up; slot ids and serials survive C_Finalize/C_Initialize', async () => {
    const pkcs11 = pkcs11Module();
    const slotsBefore = pkcs11.C_GetSlotList(false).map((s) => s.toString('hex'));
    expect(present()).not.toContain(lab.cards.admin.tokenLabel);
    await lab.insert('admin');
    expect(present()).toContain(lab.cards.admin.tokenLabel);
    const adminSlot = slotOf('admin').toString('hex');
    pkcs11.C_Finalize();
    pkcs11.C_Initialize();
    expect(pkcs11.C_GetSlotList(false).map((s) => s.toString('hex'))).toEqual(slotsBefore);
    expect(slotOf('admin').toString('hex')).toBe(adminSlot);
    await lab.remove('admin');
    expect(present()).not.toContain(lab.cards.admin.tokenLabel);
  });
});
