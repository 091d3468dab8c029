// Smart card (PIV/CAC): the CA and CRL files policy names, and the PKCS#11
// module: it loads, initialises, says what it is, and lists its readers and
// whether a card is in each. No session is opened and no PIN is asked for.
import { FILE_SIZE_LIMITS, readLimitedFileSync } from '../../files/index.js';
import { createRequire } from 'node:module';
import type { PKCS11 as Pkcs11Type } from 'pkcs11js';
import { CRL_CLOCK_SKEW_MS } from '../../identity/index.js';
import type { Policy } from '../../policy/index.js';
import { day, fail, fileProblem, messageOf, ok, skip, warn, type CheckResult } from './check.js';
import { readCertificates } from './tls-probe.js';
import { certName, readCrl, UnreadableCrlError } from '../../tls/index.js';

// pkcs11js is a CommonJS native addon; load it only when smart cards are enabled.
const require = createRequire(import.meta.url);

const CKF_TOKEN_PRESENT = 0x1;
const CKF_REMOVABLE_DEVICE = 0x2;
const CKF_TOKEN_INITIALIZED = 0x400;
const CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191;

function trimmed(value: string): string {
  return value.replace(/\0/g, '').trim();
}

/** thisUpdate and nextUpdate of a CRL file (DER or PEM), read as sign-in reads it (tls/crl.ts). */
function readCrlDates(path: string): { thisUpdate: Date; nextUpdate: Date | null } {
  const { thisUpdate, nextUpdate } = readCrl(readLimitedFileSync(path, { maxBytes: FILE_SIZE_LIMITS.crl }));
  return { thisUpdate, nextUpdate };
}

function checkTrustFiles(policy: Policy, now: number): CheckResult {
  const card = policy.smartCard;
  const problems: string[] = [];
  const warnings: string[] = [];
  const found: string[] = [];
  card.caFiles.forEach((file, i) => {
    const setting = `smartCard.caFiles[${i}]`;
    const problem = fileProblem(file, setting);
    if (problem) return void problems.push(problem);
    let certificates;
    try {
      certificates = readCertificates(file);
    } catch (error) {
      return void problems.push(`${setting} ${file} holds a damaged certificate (${messageOf(error)})`);
    }
    if (certificates.length === 0) return void problems.push(`${setting} ${file} holds no certificate`);
    for (const certificate of certificates) {
      if (Date.parse(certificate.validTo) < now)
        problems.push(`the CA ${certName(certificate.subject)} in ${file} expired on ${day(new Date(certificate.validTo))}; cards issued under it are refused`);
      else if (!certificate.ca) warnings.push(`${certName(certificate.subject)} in ${file} is not a CA certificate`);
      else found.push(certName(certificate.subject));
    }
  });
  card.crlFiles.forEach((file, i) => {
    const setting = `smartCard.crlFiles[${i}]`;
    const problem = fileProblem(file, setting);
    if (problem) return void problems.push(problem);
    let dates;
    try {
      dates = readCrlDates(file);
    } catch (error) {
      return void problems.push(`${setting} ${file} is not a CRL Enclave can read (${error instanceof UnreadableCrlError ? error.detail : messageOf(error)})`);
    }
    // The same rules as sign-in (identity/certificates.ts): such a CRL refuses every card whose chain it covers.
    if (dates.thisUpdate.getTime() > now + CRL_CLOCK_SKEW_MS) {
      return void problems.push(
        `the CRL ${file} is dated ${dates.thisUpdate.toISOString()} (its thisUpdate), in the future: cards whose chain it covers are refused; check this computer's clock, or deploy a correctly dated CRL`,
      );
    }
    if (!dates.nextUpdate) return void problems.push(`the CRL ${file} states no next update (nextUpdate): cards whose chain it covers are refused; deploy a CRL with one`);
    if (dates.nextUpdate.getTime() >= now) return;
    const graceEnd = dates.nextUpdate.getTime() + card.staleCrlGraceHours * 3_600_000;
    const stale = `the CRL ${file} is out of date since ${dates.nextUpdate.toISOString()} (its nextUpdate)`;
    if (card.staleCrl === 'warn' && now < graceEnd)
      warnings.push(`${stale}; cards are still accepted for ${Math.ceil((graceEnd - now) / 3_600_000)} h (smartCard.staleCrlGraceHours); deploy a fresh CRL`);
    else problems.push(`${stale}: every card sign-in is refused until a fresh CRL is deployed (smartCard.staleCrl = ${card.staleCrl})`);
  });
  const name = 'smart card CA and CRL files';
  const summary = `${found.length} CA certificate${found.length === 1 ? '' : 's'}${found.length > 0 ? ` (${found.join(', ')})` : ''}, ${card.crlFiles.length} CRL file${card.crlFiles.length === 1 ? '' : 's'}`;
  if (problems.length > 0) return fail(name, [...problems, ...warnings].join('; '));
  if (warnings.length > 0) return warn(name, `${summary}; but ${warnings.join('; ')}`);
  return ok(name, card.crlFiles.length === 0 ? `${summary}; no CRL configured, so revocation is not checked` : `${summary}, all current`);
}

function checkModule(modulePath: string): CheckResult {
  const name = 'smart card PKCS#11 module';
  // A bare library name ("opensc-pkcs11.dll") is found by the system loader; anything with a folder must exist.
  const problem = /[\\/]/.test(modulePath) ? fileProblem(modulePath, 'smartCard.pkcs11Module') : null;
  if (problem) return fail(name, `${problem}; install the card middleware (for example OpenSC) or correct the path`);
  let pkcs11: Pkcs11Type;
  try {
    const { PKCS11 } = require('pkcs11js') as typeof import('pkcs11js');
    pkcs11 = new PKCS11();
  } catch (error) {
    return fail(name, `the PKCS#11 binding (pkcs11js) could not be loaded: ${messageOf(error)}`);
  }
  try {
    pkcs11.load(modulePath);
  } catch (error) {
    const text = messageOf(error);
    return fail(name, /C_GetFunctionList/.test(text) ? `${modulePath} is not a PKCS#11 module (it has no C_GetFunctionList)` : `${modulePath} could not be loaded: ${text}`);
  }
  try {
    try {
      pkcs11.C_Initialize();
    } catch (error) {
      if ((error as { code?: unknown }).code !== CKR_CRYPTOKI_ALREADY_INITIALIZED) return fail(name, `${modulePath} loaded, but C_Initialize failed: ${messageOf(error)}`);
    }
    try {
      const info = pkcs11.C_GetInfo();
      const library = `${trimmed(info.libraryDescription)} ${info.libraryVersion.major}.${info.libraryVersion.minor} (${trimmed(info.manufacturerID)})`;
      const slots = pkcs11.C_GetSlotList(false);
      const withToken = pkcs11.C_GetSlotList(true);
      if (slots.length === 0)
        return warn(name, `${modulePath}: ${library}; no card readers found: connect a reader${process.platform === 'linux' ? ' and check that the PC/SC service (pcscd) is running' : ''}`);
      const readers = slots.map((slot) => {
        let description = 'a reader';
        let removable = false;
        try {
          const slotInfo = pkcs11.C_GetSlotInfo(slot);
          description = `"${trimmed(slotInfo.slotDescription)}"`;
          removable = (slotInfo.flags & CKF_REMOVABLE_DEVICE) !== 0;
          if ((slotInfo.flags & CKF_TOKEN_PRESENT) === 0 && !withToken.some((s) => s.equals(slot))) return { present: false, text: `${description}: no card` };
        } catch (error) {
          return { present: false, text: `${description}: unreadable (${messageOf(error)})` };
        }
        try {
          const token = pkcs11.C_GetTokenInfo(slot);
          if ((token.flags & CKF_TOKEN_INITIALIZED) === 0) return { present: true, text: `${description}: ${removable ? 'card' : 'token'} present, not initialised` };
          const label = trimmed(token.label);
          return { present: true, text: `${description}: ${removable ? 'card' : 'token'} "${label || '(no label)'}" (${trimmed(token.model)}, ${trimmed(token.manufacturerID)})` };
        } catch (error) {
          return { present: true, text: `${description}: a card is present but cannot be read (${messageOf(error)})` };
        }
      });
      const present = readers.filter((r) => r.present).length;
      return ok(
        name,
        `${modulePath}: ${library}; ${slots.length} reader${slots.length === 1 ? '' : 's'}, ${present === 0 ? 'no card inserted' : `${present} with a card or token`}: ${readers.map((r) => r.text).join('; ')}`,
      );
    } catch (error) {
      return fail(name, `${modulePath}: listing readers failed: ${messageOf(error)}`);
    } finally {
      try {
        pkcs11.C_Finalize();
      } catch {
        // Finalize failing after a failed initialise changes nothing.
      }
    }
  } finally {
    try {
      pkcs11.close();
    } catch {
      // already closed
    }
  }
}

export function checkSmartCard(policy: Policy, now = Date.now()): CheckResult[] {
  if (!policy.smartCard.enabled) return [skip('smart card', 'smart-card sign-in is not enabled (smartCard.enabled)')];
  const files = checkTrustFiles(policy, now);
  // The schema requires a module when smart cards are enabled.
  const module = checkModule(policy.smartCard.pkcs11Module ?? '');
  return [module, files];
}
