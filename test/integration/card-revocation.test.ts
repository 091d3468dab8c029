// Revocation of a smart card's whole chain (src/main/identity/certificates.ts):
// the card against its issuing CA's CRL, the issuing CA against the root's;
// a CRL dated in the future or without nextUpdate is refused, naming the CA.
// A root -> intermediate -> card PKI from test/support/card-chain.ts.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCardCertificate, CRL_CLOCK_SKEW_MS, type CardCertificatePolicy } from '../../src/main/identity/certificates.js';
import { makeCardChain, signedCrl, SMART_CARD_LOGON, type CardChain } from '../support/card-chain.js';
import { tempDir } from '../support/temp.js';

const dir = tempDir();
// Taken after the chain is made: openssl dates each certificate from the moment it signs it, which under load is seconds after this file loads.
let NOW: Date;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const policy: CardCertificatePolicy = { requiredEkus: [SMART_CARD_LOGON], requiredPolicyOids: [], staleCrl: 'refuse', staleCrlGraceHours: 24 };
let chain: CardChain;

beforeAll(async () => {
  chain = await makeCardChain(join(dir.path, 'pki'), 'ivy@enclave.test');
  NOW = new Date();
}, 60_000);
afterAll(() => dir.remove());

type CrlOptions = { thisUpdate?: Date; nextUpdate?: Date | null; revoke?: Buffer[] };
const rootCrl = (o: CrlOptions = {}) =>
  signedCrl({
    issuer: chain.root,
    issuerKeyFile: chain.rootKeyFile,
    thisUpdate: o.thisUpdate ?? new Date(NOW.getTime() - HOUR),
    nextUpdate: o.nextUpdate === undefined ? new Date(NOW.getTime() + 7 * DAY) : o.nextUpdate,
    revoke: o.revoke ?? [],
  });
const issuingCrl = (o: CrlOptions = {}) =>
  signedCrl({
    issuer: chain.intermediate,
    issuerKeyFile: chain.intermediateKeyFile,
    thisUpdate: o.thisUpdate ?? new Date(NOW.getTime() - HOUR),
    nextUpdate: o.nextUpdate === undefined ? new Date(NOW.getTime() + 7 * DAY) : o.nextUpdate,
    revoke: o.revoke ?? [],
  });
const check =
  (crls: Buffer[], p: CardCertificatePolicy = policy) =>
  () =>
    checkCardCertificate(chain.cardDer, { cas: [chain.root, chain.intermediate], crls }, p, NOW);

describe('smart-card revocation through the whole chain', () => {
  it("accepts a card when the root's and the issuing CA's CRLs are current and name neither", () => {
    expect(check([rootCrl(), issuingCrl()])()).toMatchObject({ upn: 'ivy@enclave.test', crlWarning: null });
  });

  it('refuses a card whose issuing CA the root has revoked, naming that CA', () => {
    // Before the fix only the card was checked, against the issuing CA's CRL, and this card signed in.
    expect(check([rootCrl({ revoke: [chain.intermediate.raw] }), issuingCrl()])).toThrow(
      "The CA certificate O=Enclave tests, CN=Enclave Test Card Issuing CA that this card's certificate chains through has been revoked by O=Enclave tests, CN=Enclave Test Card Root CA. Contact IT.",
    );
    expect(check([rootCrl(), issuingCrl({ revoke: [chain.cardDer] })])).toThrow(/This card's certificate \(.*Ivy Intermediate\) has been revoked/);
  });

  it("fails closed when the root's CRL is missing: the issuing CA's revocation cannot be checked", () => {
    expect(check([issuingCrl()])).toThrow('There is no CRL for O=Enclave tests, CN=Enclave Test Card Root CA in smartCard.crlFiles, so revocation cannot be checked.');
  });

  it('refuses a CRL dated in the future beyond the clock skew allowed, naming whose CRL it is', () => {
    const future = new Date(NOW.getTime() + CRL_CLOCK_SKEW_MS + 60_000);
    expect(check([rootCrl(), issuingCrl({ thisUpdate: future })])).toThrow(
      /^The CRL for O=Enclave tests, CN=Enclave Test Card Issuing CA is dated .* \(its thisUpdate\), later than this workstation's clock allows/,
    );
    expect(check([rootCrl({ thisUpdate: future }), issuingCrl()])).toThrow(/^The CRL for O=Enclave tests, CN=Enclave Test Card Root CA is dated/);
    // A CA clock a few minutes fast is tolerated.
    expect(check([rootCrl({ thisUpdate: new Date(NOW.getTime() + CRL_CLOCK_SKEW_MS - 60_000) }), issuingCrl()])()).toMatchObject({ crlWarning: null });
  });

  it('refuses a CRL without nextUpdate, naming whose CRL it is', () => {
    expect(check([rootCrl(), issuingCrl({ nextUpdate: null })])).toThrow(
      'The CRL for O=Enclave tests, CN=Enclave Test Card Issuing CA has no nextUpdate, so Enclave cannot tell whether it is current; IT must publish one that says when the next is due (smartCard.crlFiles).',
    );
    expect(check([rootCrl({ nextUpdate: null }), issuingCrl()])).toThrow(/^The CRL for O=Enclave tests, CN=Enclave Test Card Root CA has no nextUpdate/);
  });

  it("applies the stale-CRL policy to every CA's CRL, and with several CRLs from one CA uses the latest", () => {
    const staleRoot = rootCrl({ thisUpdate: new Date(NOW.getTime() - 10 * DAY), nextUpdate: new Date(NOW.getTime() - 2 * HOUR) });
    expect(check([staleRoot, issuingCrl()])).toThrow(/^The CRL for O=Enclave tests, CN=Enclave Test Card Root CA expired on .*\(its nextUpdate\); IT must publish a current one/);
    expect(check([staleRoot, issuingCrl()], { ...policy, staleCrl: 'warn' })()).toMatchObject({
      crlWarning: expect.stringMatching(/^The CRL for O=Enclave tests, CN=Enclave Test Card Root CA expired on .*accepted for up to 24 hours by policy\.$/),
    });
    // The stale one left beside a current one from the same CA does not count.
    expect(check([staleRoot, rootCrl(), issuingCrl()])()).toMatchObject({ crlWarning: null });
  });
});
