// A PIV/CAC smart-card lab for the integration (vitest) and end-to-end
// (Playwright) tests of smart-card sign-in: a test CA, seven cards (one SoftHSM2
// token each, objects laid out as OpenSC shows a PIV card), CRLs, and card
// readers that a test can pull a card out of and put it back in.
//
// What it does, start to finish (about a second; see `timings`):
//   1. makes the institution's root CA "Enclave Test Smart Card CA" and an
//      unrelated CA with the `openssl` tool, and issues the cards' certificates
//      with `openssl ca` (RSA 2048, PIV authentication profile: UPN in the SAN,
//      EKU smart-card logon + clientAuth, keyUsage digitalSignature, PIV-auth
//      certificate policy), except where a card is meant to be wrong (below);
//   2. a CRL naming the `revoked` card (nextUpdate in a week) and a stale CRL
//      (lastUpdate 10 days ago, nextUpdate 2 days ago; made before the
//      revocation, so it names no card);
//   3. one SoftHSM2 token per card in a private token directory
//      (`softhsm2-util --init-token`), then with `pkcs11-tool`: the private key
//      "PIV AUTH key", the public key "PIV AUTH pubkey" and the certificate
//      "Certificate for PIV Authentication", all with CKA_ID 01; the private key
//      may sign and decrypt (Enclave wraps chat keys to it with RSA-OAEP, as a
//      PIV authentication key does through OpenSC);
//   4. compiles the test card reader (below) with `cc`.
//
// Card removal. SoftHSM2 reads its token directory only in C_Initialize: a
// process that has initialised it never sees a token appear, and a token whose
// directory is moved away stays listed as present (CKF_TOKEN_PRESENT set,
// C_GetSlotList(true) unchanged) while C_GetTokenInfo fails with
// CKR_GENERAL_ERROR and key operations with CKR_OBJECT_HANDLE_INVALID; moving
// the directory back does not bring it back until C_Finalize + C_Initialize.
// So `modulePath` is not SoftHSM2 itself but a small PKCS#11 module in front of
// it, the "test card reader" (C source below, compiled into the lab directory):
// every initialised SoftHSM2 token is a card reader slot (SoftHSM2's spare
// uninitialised slot is hidden), and a card is in its reader while a marker file
// exists; insert()/remove() create and delete it. An initialised process sees:
//   - C_GetSlotList(true) lists only the slots with a card in; C_GetSlotList(false)
//     lists all seven; C_GetSlotInfo flags are CKF_REMOVABLE_DEVICE | CKF_HW_SLOT,
//     plus CKF_TOKEN_PRESENT while the card is in;
//   - C_GetTokenInfo, C_OpenSession, C_GetMechanismList/Info on an empty slot:
//     CKR_TOKEN_NOT_PRESENT (0xE0);
//   - once a card is pulled (or pulled and put back), every call on a session
//     opened before that fails with CKR_DEVICE_REMOVED (0x32), the login is
//     gone (the real sessions are closed in SoftHSM2), and C_CloseSession on
//     such a session returns CKR_OK; after insert() the same card (same token
//     serial, slot id, objects) is back and needs a new session and login;
//   - C_WaitForSlotEvent reports a slot whose card came or went since the last
//     look (CKF_DONT_BLOCK: CKR_NO_EVENT when none; without it, it polls every
//     50 ms, which blocks the calling thread: pkcs11js calls it synchronously).
// The tokens' contents stay put the whole time; only the marker moves.
//
// PIN tries. SoftHSM2 itself never locks a PIN (it only sets
// CKF_USER_PIN_COUNT_LOW after a wrong one and clears it after a right one).
// The reader counts wrong user PINs per card, in a file in the lab directory
// (so the count survives the process, as on a card): after `maxPinTries` wrong
// PINs in a row (default 3, 0 = SoftHSM2's own behaviour) C_Login answers
// CKR_PIN_LOCKED (0xA4) even to the right PIN; the last wrong try itself
// answers CKR_PIN_INCORRECT (0xA0), as OpenSC does for a PIV card. Token flags
// show CKF_USER_PIN_COUNT_LOW after a wrong PIN, CKF_USER_PIN_FINAL_TRY with
// one try left, CKF_USER_PIN_LOCKED when locked. A right PIN resets the count;
// so do unblockPin() and C_InitPIN by the security officer (the PUK, in PIV terms).
//
// Slot ids: SoftHSM2 derives a token's slot id from its serial number, so a
// card keeps its slot id through remove/insert and C_Finalize/C_Initialize (and
// the reader adds no slots of its own); but the serial is random per lab, so
// tests identify a card by `tokenLabel` or `tokenSerial` (C_GetTokenInfo's
// `label` and `serialNumber`, space-padded), never by slot id. pkcs11js gives a
// slot id as an 8-byte Buffer (CK_ULONG, little-endian).
//
// Using it: set process.env.SOFTHSM2_CONF = lab.softhsmConf before C_Initialize
// (the reader sets it itself if it is unset), then load `lab.modulePath`. All
// cards start OUT of their readers unless `inserted` says otherwise. One lab at
// a time per process: the reader and `softhsmModulePath` share SoftHSM2's one
// global state, so never have both initialised in one process. Needs `openssl`,
// `softhsm2-util` (softhsm2), `pkcs11-tool` (opensc) and a C compiler (`cc`, or
// $CC); no root, no network.

import { X509Certificate, createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runTool } from './daemon.js';

export type SmartCardKey = 'clinician' | 'admin' | 'revoked' | 'noUpn' | 'expired' | 'otherCa' | 'noEku';

export interface TestCard {
  /** The token's label (C_GetTokenInfo `label`, space-padded there): `Enclave clinician` and so on. */
  tokenLabel: string;
  /** The user PIN (6 digits, different on each card). */
  pin: string;
  /** The security officer PIN (8 digits; a PIV card's PUK). */
  soPin: string;
  /** The UPN in the certificate's SAN (otherName 1.3.6.1.4.1.311.20.2.3); null for `noUpn`. */
  upn: string | null;
  /** The certificate, PEM. */
  certPem: string;
  /** SHA-256 of the certificate's DER, lowercase hex. */
  certSha256: string;
  /** The certificate's serial number, uppercase hex without separators (as Node's X509Certificate and `openssl crl -text` print it). */
  serialHex: string;
  /** The token's serial number (C_GetTokenInfo `serialNumber`, 16 hex digits; random per lab). */
  tokenSerial: string;
  /** The certificate's subject common name. */
  displayName: string;
  /** The certificate, PEM file. */
  certFile: string;
}

export interface SmartCardLab {
  /** The test card reader module (PKCS#11, in front of SoftHSM2): load this one. */
  modulePath: string;
  /** SoftHSM2 itself (/usr/lib/softhsm/libsofthsm2.so): no card removal, no PIN lock. */
  softhsmModulePath: string;
  /** The lab's own softhsm2.conf: set process.env.SOFTHSM2_CONF to it before C_Initialize. */
  softhsmConf: string;
  /** PEM: the institution's root CA, "Enclave Test Smart Card CA", which issued every card but `otherCa`. */
  caFile: string;
  /** PEM: the root CA's private key (RSA), for tests that sign CRLs of their own (test/support/card-chain.ts signedCrl). */
  caKeyFile: string;
  /** PEM: an unrelated CA ("Unrelated Test Smart Card CA"), the issuer of `otherCa`. */
  otherCaFile: string;
  /** The current CRL (DER) from caFile's CA, naming the `revoked` card; nextUpdate in 7 days. */
  crlFile: string;
  /** A CRL (DER) from the same CA, lastUpdate 10 days ago, nextUpdate 2 days ago; names no card. */
  staleCrlFile: string;
  cards: Record<SmartCardKey, TestCard>;
  /** Puts the card in its reader (no-op if it is in). */
  insert(card: SmartCardKey): Promise<void>;
  /** Pulls the card out of its reader (no-op if it is out). */
  remove(card: SmartCardKey): Promise<void>;
  isInserted(card: SmartCardKey): boolean;
  /** Wrong PINs the reader will still take before locking (Infinity when maxPinTries is 0). */
  pinTriesLeft(card: SmartCardKey): number;
  /** Resets the card's wrong-PIN count (an administrator unblocking the card). */
  unblockPin(card: SmartCardKey): Promise<void>;
  /** Wrong PINs that lock a card (0: never). */
  maxPinTries: number;
  /** { SOFTHSM2_CONF } for a child process. */
  env: Record<string, string>;
  /** The lab's private directory (CAs, cards, tokens, reader). */
  dir: string;
  timings: { pkiMs: number; tokensMs: number; readerMs: number; totalMs: number };
  /** Deletes the lab directory. Finalize the module in your own process first. */
  destroy(): Promise<void>;
}

export interface SmartCardLabOptions {
  /** UPNs to put in the certificates instead of `<card>@enclave.test` (e.g. the Samba AD users' UPNs). */
  upns?: Partial<Record<Exclude<SmartCardKey, 'noUpn'>, string>>;
  /** Cards in their readers from the start (default: none). */
  inserted?: SmartCardKey[] | 'all';
  /** Wrong user PINs in a row that lock a card (default 3; 0: never, as SoftHSM2 alone). */
  maxPinTries?: number;
  /** Parent of the lab directory (default: the system temp directory). */
  parentDir?: string;
}

export const SOFTHSM2_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
export const CA_NAME = 'Enclave Test Smart Card CA';
export const OTHER_CA_NAME = 'Unrelated Test Smart Card CA';
/** Smart-card logon EKU (Microsoft), required by Windows and AD for PKINIT-style sign-in. */
export const OID_SMART_CARD_LOGON = '1.3.6.1.4.1.311.20.2.2';
export const OID_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
/** SAN otherName type of a Microsoft UPN (UTF8String). */
export const OID_UPN = '1.3.6.1.4.1.311.20.2.3';
/** id-fpki-common-authentication (PIV authentication certificate policy). */
export const OID_PIV_AUTH_POLICY = '2.16.840.1.101.3.2.1.3.13';
export const PIV_OBJECT_ID = Buffer.from([0x01]);
export const PIV_LABELS = { privateKey: 'PIV AUTH key', publicKey: 'PIV AUTH pubkey', certificate: 'Certificate for PIV Authentication' } as const;

export const SMART_CARD_KEYS: readonly SmartCardKey[] = ['clinician', 'admin', 'revoked', 'noUpn', 'expired', 'otherCa', 'noEku'];

interface CardSpec {
  displayName: string;
  pin: string;
  issuer: 'ca' | 'other';
  upn: boolean;
  eku: 'smartCardLogon' | 'clientAuthOnly';
  expired: boolean;
}

const SO_PIN = '12345678';
const CARD_SPECS: Record<SmartCardKey, CardSpec> = {
  clinician: { displayName: 'Alice Clinician', pin: '123456', issuer: 'ca', upn: true, eku: 'smartCardLogon', expired: false },
  admin: { displayName: 'Dave Admin', pin: '234567', issuer: 'ca', upn: true, eku: 'smartCardLogon', expired: false },
  revoked: { displayName: 'Rita Revoked', pin: '345678', issuer: 'ca', upn: true, eku: 'smartCardLogon', expired: false },
  noUpn: { displayName: 'Nora Noupn', pin: '456789', issuer: 'ca', upn: false, eku: 'smartCardLogon', expired: false },
  expired: { displayName: 'Ed Expired', pin: '567890', issuer: 'ca', upn: true, eku: 'smartCardLogon', expired: true },
  otherCa: { displayName: 'Oscar Otherca', pin: '678901', issuer: 'other', upn: true, eku: 'smartCardLogon', expired: false },
  noEku: { displayName: 'Nick Noeku', pin: '789012', issuer: 'ca', upn: true, eku: 'clientAuthOnly', expired: false },
};

const DAY_MS = 86_400_000;

// --- Small helpers -------------------------------------------------------------------------------

/** YYYYMMDDHHMMSSZ, as `openssl ca` takes dates. */
function asn1Time(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace(/[-:T]/g, '')}Z`;
}

function checkUpn(upn: string): string {
  // The value goes into an openssl config file: keep to characters that need no quoting there.
  if (!/^[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+$/.test(upn)) throw new Error(`smart-card lab: unsupported UPN ${JSON.stringify(upn)}`);
  return upn;
}

async function writeAtomic(file: string, content: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, content);
  await rename(tmp, file);
}

// --- PKI -----------------------------------------------------------------------------------------

function caConfig(caDir: string, cards: Array<{ key: SmartCardKey; spec: CardSpec; upn: string | null }>): string {
  const lines = [
    '[req]',
    'distinguished_name = req_dn',
    'prompt = no',
    '[req_dn]',
    '[ca]',
    'default_ca = ca_default',
    '[ca_default]',
    `dir = ${caDir}`,
    'database = $dir/index.txt',
    'new_certs_dir = $dir/issued',
    'certificate = $dir/ca.pem',
    'private_key = $dir/ca.key',
    'crlnumber = $dir/crlnumber',
    'rand_serial = yes',
    'default_md = sha256',
    'default_days = 1095',
    'default_crl_days = 7',
    'policy = policy_any',
    'preserve = yes',
    'unique_subject = no',
    'copy_extensions = none',
    'email_in_dn = no',
    'crl_extensions = crl_ext',
    '[policy_any]',
    'countryName = optional',
    'organizationName = optional',
    'organizationalUnitName = optional',
    'commonName = supplied',
    '[crl_ext]',
    'authorityKeyIdentifier = keyid:always',
    '[v3_ca]',
    'basicConstraints = critical, CA:TRUE',
    'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash',
  ];
  for (const { key, spec, upn } of cards) {
    lines.push(
      `[card_${key}]`,
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature',
      spec.eku === 'smartCardLogon' ? `extendedKeyUsage = ${OID_SMART_CARD_LOGON}, clientAuth` : 'extendedKeyUsage = clientAuth',
      `certificatePolicies = ${OID_PIV_AUTH_POLICY}`,
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid, issuer',
    );
    if (upn !== null) lines.push(`subjectAltName = @san_${key}`, `[san_${key}]`, `otherName = ${OID_UPN};UTF8:${upn}`);
  }
  return `${lines.join('\n')}\n`;
}

interface IssuedCard {
  key: SmartCardKey;
  keyFile: string;
  certFile: string;
}

/** Makes a CA in `caDir` and issues its cards (sequentially: `openssl ca` keeps one index). */
async function makeCa(
  caDir: string,
  commonName: string,
  cards: Array<{ key: SmartCardKey; spec: CardSpec; upn: string | null }>,
  cardsDir: string,
): Promise<{ config: string; env: NodeJS.ProcessEnv; issued: IssuedCard[] }> {
  await mkdir(join(caDir, 'issued'), { recursive: true, mode: 0o700 });
  const config = join(caDir, 'ca.cnf');
  await writeFile(config, caConfig(caDir, cards));
  await writeFile(join(caDir, 'index.txt'), '');
  await writeFile(join(caDir, 'crlnumber'), '01\n');
  const env = { ...process.env, OPENSSL_CONF: config };
  const caKeyArgs = ['-newkey', 'rsa:2048', '-nodes', '-sha256', '-config', config];
  // The CA and the cards' keys and requests in parallel, then the signatures one by one.
  const [, ...requests] = await Promise.all([
    runTool(
      'openssl',
      [
        'req',
        '-x509',
        ...caKeyArgs,
        '-days',
        '3650',
        '-extensions',
        'v3_ca',
        '-subj',
        `/C=US/O=Enclave Test Hospital/CN=${commonName}`,
        '-keyout',
        join(caDir, 'ca.key'),
        '-out',
        join(caDir, 'ca.pem'),
      ],
      { env },
    ),
    ...cards.map(async ({ key, spec }) => {
      const keyFile = join(cardsDir, `${key}.key`);
      const csr = join(cardsDir, `${key}.csr`);
      await runTool('openssl', ['req', '-new', ...caKeyArgs, '-subj', `/C=US/O=Enclave Test Hospital/OU=People/CN=${spec.displayName}`, '-keyout', keyFile, '-out', csr], { env });
      return { key, keyFile, csr };
    }),
  ]);
  const issued: IssuedCard[] = [];
  for (const { key, keyFile, csr } of requests) {
    const spec = CARD_SPECS[key];
    const certFile = join(cardsDir, `${key}.pem`);
    // An expired card: valid through 2020 only (notBefore 2020-01-01, notAfter 2021-01-01).
    const dates = spec.expired ? ['-startdate', '20200101000000Z', '-enddate', '20210101000000Z'] : ['-startdate', asn1Time(Date.now() - DAY_MS)];
    await runTool('openssl', ['ca', '-batch', '-notext', '-config', config, '-extensions', `card_${key}`, ...dates, '-in', csr, '-out', certFile], { env });
    issued.push({ key, keyFile, certFile });
  }
  return { config, env, issued };
}

async function makeCrl(config: string, env: NodeJS.ProcessEnv, out: string, extra: string[]): Promise<void> {
  const pem = `${out}.pem`;
  await runTool('openssl', ['ca', '-batch', '-gencrl', '-config', config, ...extra, '-out', pem], { env });
  await runTool('openssl', ['crl', '-in', pem, '-outform', 'DER', '-out', out], { env });
}

// --- The test card reader (PKCS#11 module in front of SoftHSM2) ------------------------------------

// Every function that takes a session and is not written out below gets a wrapper
// generated from the PKCS#11 header: it fails with CKR_DEVICE_REMOVED once the
// session's card was pulled, and otherwise passes the call on.
const READER_SOURCE = String.raw`/* Enclave test card reader: a PKCS#11 module in front of SoftHSM2 (test/support/smart-card.ts). */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pkcs11/pkcs11.h>
#include "config.h"

#define EXPORT __attribute__((visibility("default")))
#define MAX_SLOTS 64
#define MAX_SESSIONS 1024

typedef struct { CK_SLOT_ID id; char serial[17]; char seen[64]; int event; } slot_t;
typedef struct { CK_SESSION_HANDLE h; int slot; int killed; } sess_t;

static CK_FUNCTION_LIST_PTR real;
static CK_FUNCTION_LIST list;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static slot_t slots[MAX_SLOTS];
static int nslots;
static sess_t sessions[MAX_SESSIONS];
static int nsessions;
static volatile int initialized;

static void read_file(const char *dir, const char *name, char *out, size_t cap) {
  char path[4096];
  out[0] = 0;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = read(fd, out, cap - 1);
  close(fd);
  if (n < 0) n = 0;
  out[n] = 0;
  while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' ')) out[--n] = 0;
}

static int find_slot(CK_SLOT_ID id) {
  for (int i = 0; i < nslots; i++) if (slots[i].id == id) return i;
  return -1;
}

static int find_session(CK_SESSION_HANDLE h) {
  for (int i = 0; i < nsessions; i++) if (sessions[i].h == h) return i;
  return -1;
}

static void drop_session(int i) { sessions[i] = sessions[--nsessions]; }

/* Reads the slot's marker file. A change since the last look (pulled, or pulled and put
 * back) ends every session on that slot, as with a real reader. 1: a card is in now. */
static int check_slot(int i) {
  char now[64];
  read_file(PRESENCE_DIR, slots[i].serial, now, sizeof now);
  int close_all = 0;
  pthread_mutex_lock(&mu);
  if (strcmp(now, slots[i].seen) != 0) {
    if (slots[i].seen[0]) {
      close_all = 1;
      for (int s = 0; s < nsessions; s++) if (sessions[s].slot == i) sessions[s].killed = 1;
    }
    slots[i].event = 1;
    strcpy(slots[i].seen, now);
  }
  pthread_mutex_unlock(&mu);
  if (close_all) real->C_CloseAllSessions(slots[i].id);
  return now[0] != 0;
}

/* Wrong-PIN count, one file per token, so that it outlives the process as on a card. */
static int pin_tries(int i) {
  char v[32];
  read_file(PIN_TRIES_DIR, slots[i].serial, v, sizeof v);
  return atoi(v);
}

static void set_pin_tries(int i, int n) {
  char path[4096], tmp[4200], v[32];
  snprintf(path, sizeof path, "%s/%s", PIN_TRIES_DIR, slots[i].serial);
  if (n == 0) { unlink(path); return; }
  snprintf(tmp, sizeof tmp, "%s.%d", path, (int)getpid());
  int len = snprintf(v, sizeof v, "%d\n", n);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  if (write(fd, v, len) != len) { close(fd); unlink(tmp); return; }
  close(fd);
  rename(tmp, path);
}

static int pin_locked(int i) { return MAX_PIN_TRIES > 0 && pin_tries(i) >= MAX_PIN_TRIES; }

/* CKR_OK if a call on the session may go on to SoftHSM2. */
static CK_RV guard(CK_SESSION_HANDLE h, int *slot_out) {
  if (!initialized) return CKR_CRYPTOKI_NOT_INITIALIZED;
  pthread_mutex_lock(&mu);
  int s = find_session(h);
  int slot = s >= 0 ? sessions[s].slot : -1, killed = s >= 0 && sessions[s].killed;
  pthread_mutex_unlock(&mu);
  if (slot_out) *slot_out = slot;
  if (s < 0) return CKR_SESSION_HANDLE_INVALID;
  if (killed) return CKR_DEVICE_REMOVED;
  check_slot(slot);
  pthread_mutex_lock(&mu);
  s = find_session(h);
  killed = s < 0 || sessions[s].killed;
  pthread_mutex_unlock(&mu);
  return killed ? CKR_DEVICE_REMOVED : CKR_OK;
}

static CK_RV slot_guard(CK_SLOT_ID id, int *slot_out) {
  if (!initialized) return CKR_CRYPTOKI_NOT_INITIALIZED;
  int i = find_slot(id);
  if (slot_out) *slot_out = i;
  if (i < 0) return CKR_SLOT_ID_INVALID;
  return check_slot(i) ? CKR_OK : CKR_TOKEN_NOT_PRESENT;
}

static CK_RV w_C_Initialize(CK_VOID_PTR args) {
  setenv("SOFTHSM2_CONF", SOFTHSM2_CONF_PATH, 0);
  CK_RV rv = real->C_Initialize(args);
  if (rv != CKR_OK) return rv;
  CK_ULONG n = MAX_SLOTS;
  CK_SLOT_ID ids[MAX_SLOTS];
  if (real->C_GetSlotList(CK_FALSE, ids, &n) != CKR_OK) {
    real->C_Finalize(NULL_PTR);
    return CKR_GENERAL_ERROR;
  }
  pthread_mutex_lock(&mu);
  nslots = 0;
  nsessions = 0;
  for (CK_ULONG k = 0; k < n; k++) {
    CK_TOKEN_INFO ti;
    if (real->C_GetTokenInfo(ids[k], &ti) != CKR_OK || !(ti.flags & CKF_TOKEN_INITIALIZED)) continue;
    slot_t *s = &slots[nslots++];
    memset(s, 0, sizeof *s);
    s->id = ids[k];
    memcpy(s->serial, ti.serialNumber, 16);
    for (int c = 15; c >= 0 && s->serial[c] == ' '; c--) s->serial[c] = 0;
    read_file(PRESENCE_DIR, s->serial, s->seen, sizeof s->seen);
  }
  pthread_mutex_unlock(&mu);
  initialized = 1;
  return CKR_OK;
}

static CK_RV w_C_Finalize(CK_VOID_PTR reserved) {
  CK_RV rv = real->C_Finalize(reserved);
  if (rv == CKR_OK) {
    initialized = 0;
    pthread_mutex_lock(&mu);
    nslots = 0;
    nsessions = 0;
    pthread_mutex_unlock(&mu);
  }
  return rv;
}

static CK_RV w_C_GetSlotList(CK_BBOOL present, CK_SLOT_ID_PTR out, CK_ULONG_PTR count) {
  if (!initialized) return CKR_CRYPTOKI_NOT_INITIALIZED;
  if (!count) return CKR_ARGUMENTS_BAD;
  CK_SLOT_ID ids[MAX_SLOTS];
  CK_ULONG n = 0;
  for (int i = 0; i < nslots; i++) if (check_slot(i) || !present) ids[n++] = slots[i].id;
  if (!out) { *count = n; return CKR_OK; }
  if (*count < n) { *count = n; return CKR_BUFFER_TOO_SMALL; }
  memcpy(out, ids, n * sizeof *ids);
  *count = n;
  return CKR_OK;
}

static CK_RV w_C_GetSlotInfo(CK_SLOT_ID id, CK_SLOT_INFO_PTR info) {
  if (!initialized) return CKR_CRYPTOKI_NOT_INITIALIZED;
  int i = find_slot(id);
  if (i < 0) return CKR_SLOT_ID_INVALID;
  CK_RV rv = real->C_GetSlotInfo(id, info);
  if (rv != CKR_OK) return rv;
  info->flags = CKF_REMOVABLE_DEVICE | CKF_HW_SLOT | (check_slot(i) ? CKF_TOKEN_PRESENT : 0);
  return CKR_OK;
}

static CK_RV w_C_GetTokenInfo(CK_SLOT_ID id, CK_TOKEN_INFO_PTR info) {
  int i;
  CK_RV rv = slot_guard(id, &i);
  if (rv != CKR_OK) return rv;
  rv = real->C_GetTokenInfo(id, info);
  if (rv != CKR_OK || MAX_PIN_TRIES <= 0) return rv;
  int tries = pin_tries(i);
  info->flags &= ~(CK_FLAGS)(CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED);
  if (tries >= MAX_PIN_TRIES) info->flags |= CKF_USER_PIN_LOCKED;
  else if (tries > 0) info->flags |= CKF_USER_PIN_COUNT_LOW | (MAX_PIN_TRIES - tries == 1 ? CKF_USER_PIN_FINAL_TRY : 0);
  return CKR_OK;
}

static CK_RV w_C_GetMechanismList(CK_SLOT_ID id, CK_MECHANISM_TYPE_PTR out, CK_ULONG_PTR count) {
  CK_RV rv = slot_guard(id, NULL);
  return rv != CKR_OK ? rv : real->C_GetMechanismList(id, out, count);
}

static CK_RV w_C_GetMechanismInfo(CK_SLOT_ID id, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info) {
  CK_RV rv = slot_guard(id, NULL);
  return rv != CKR_OK ? rv : real->C_GetMechanismInfo(id, type, info);
}

static CK_RV w_C_InitToken(CK_SLOT_ID id, CK_UTF8CHAR_PTR pin, CK_ULONG len, CK_UTF8CHAR_PTR label) {
  int i;
  CK_RV rv = slot_guard(id, &i);
  if (rv != CKR_OK) return rv;
  rv = real->C_InitToken(id, pin, len, label);
  if (rv == CKR_OK) set_pin_tries(i, 0);
  return rv;
}

static CK_RV w_C_OpenSession(CK_SLOT_ID id, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify, CK_SESSION_HANDLE_PTR out) {
  int i;
  CK_RV rv = slot_guard(id, &i);
  if (rv != CKR_OK) return rv;
  rv = real->C_OpenSession(id, flags, app, notify, out);
  if (rv != CKR_OK) return rv;
  pthread_mutex_lock(&mu);
  int s = find_session(*out); /* SoftHSM2 reuses handles: forget a pulled session's entry */
  if (s >= 0) drop_session(s);
  if (nsessions < MAX_SESSIONS) {
    sessions[nsessions].h = *out;
    sessions[nsessions].slot = i;
    sessions[nsessions].killed = 0;
    nsessions++;
  }
  pthread_mutex_unlock(&mu);
  return CKR_OK;
}

static CK_RV w_C_CloseSession(CK_SESSION_HANDLE h) {
  if (!initialized) return CKR_CRYPTOKI_NOT_INITIALIZED;
  pthread_mutex_lock(&mu);
  int s = find_session(h), killed = s >= 0 && sessions[s].killed;
  if (s >= 0) drop_session(s);
  pthread_mutex_unlock(&mu);
  if (s < 0) return CKR_SESSION_HANDLE_INVALID;
  return killed ? CKR_OK : real->C_CloseSession(h);
}

static CK_RV w_C_CloseAllSessions(CK_SLOT_ID id) {
  if (!initialized) return CKR_CRYPTOKI_NOT_INITIALIZED;
  int i = find_slot(id);
  if (i < 0) return CKR_SLOT_ID_INVALID;
  pthread_mutex_lock(&mu);
  for (int s = nsessions - 1; s >= 0; s--) if (sessions[s].slot == i) drop_session(s);
  pthread_mutex_unlock(&mu);
  real->C_CloseAllSessions(id);
  return check_slot(i) ? CKR_OK : CKR_TOKEN_NOT_PRESENT;
}

static int counts_pin(CK_USER_TYPE type) { return type == CKU_USER || type == CKU_CONTEXT_SPECIFIC; }

static CK_RV w_C_Login(CK_SESSION_HANDLE h, CK_USER_TYPE type, CK_UTF8CHAR_PTR pin, CK_ULONG len) {
  int i;
  CK_RV rv = guard(h, &i);
  if (rv != CKR_OK) return rv;
  if (!counts_pin(type) || MAX_PIN_TRIES <= 0) return real->C_Login(h, type, pin, len);
  if (pin_locked(i)) return CKR_PIN_LOCKED;
  rv = real->C_Login(h, type, pin, len);
  if (rv == CKR_PIN_INCORRECT) set_pin_tries(i, pin_tries(i) + 1);
  else if (rv == CKR_OK) set_pin_tries(i, 0);
  return rv;
}

static CK_RV w_C_SetPIN(CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR oldPin, CK_ULONG oldLen, CK_UTF8CHAR_PTR newPin, CK_ULONG newLen) {
  int i;
  CK_RV rv = guard(h, &i);
  if (rv != CKR_OK) return rv;
  CK_SESSION_INFO si;
  int user = real->C_GetSessionInfo(h, &si) == CKR_OK && si.state != CKS_RW_SO_FUNCTIONS;
  if (!user || MAX_PIN_TRIES <= 0) return real->C_SetPIN(h, oldPin, oldLen, newPin, newLen);
  if (pin_locked(i)) return CKR_PIN_LOCKED;
  rv = real->C_SetPIN(h, oldPin, oldLen, newPin, newLen);
  if (rv == CKR_PIN_INCORRECT) set_pin_tries(i, pin_tries(i) + 1);
  else if (rv == CKR_OK) set_pin_tries(i, 0);
  return rv;
}

/* The security officer (a PIV card's PUK) sets a new user PIN: that unblocks it. */
static CK_RV w_C_InitPIN(CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR pin, CK_ULONG len) {
  int i;
  CK_RV rv = guard(h, &i);
  if (rv != CKR_OK) return rv;
  rv = real->C_InitPIN(h, pin, len);
  if (rv == CKR_OK) set_pin_tries(i, 0);
  return rv;
}

static CK_RV w_C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR out, CK_VOID_PTR reserved) {
  (void)reserved;
  if (!out) return CKR_ARGUMENTS_BAD;
  for (;;) {
    if (!initialized) return CKR_CRYPTOKI_NOT_INITIALIZED;
    for (int i = 0; i < nslots; i++) check_slot(i);
    pthread_mutex_lock(&mu);
    int found = -1;
    for (int i = 0; i < nslots && found < 0; i++) if (slots[i].event) { slots[i].event = 0; found = i; }
    pthread_mutex_unlock(&mu);
    if (found >= 0) { *out = slots[found].id; return CKR_OK; }
    if (flags & CKF_DONT_BLOCK) return CKR_NO_EVENT;
    usleep(50 * 1000);
  }
}

/*@WRAPPERS@*/

EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out) {
  if (!out) return CKR_ARGUMENTS_BAD;
  if (!real) {
    void *lib = dlopen(TARGET_MODULE, RTLD_NOW | RTLD_LOCAL);
    if (!lib) { fprintf(stderr, "enclave test reader: %s\n", dlerror()); return CKR_GENERAL_ERROR; }
    CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList");
    CK_FUNCTION_LIST_PTR target = NULL;
    if (!get || get(&target) != CKR_OK || !target) return CKR_GENERAL_ERROR;
    list = *target;
    list.C_GetFunctionList = C_GetFunctionList;
    list.C_Initialize = w_C_Initialize;
    list.C_Finalize = w_C_Finalize;
    list.C_GetSlotList = w_C_GetSlotList;
    list.C_GetSlotInfo = w_C_GetSlotInfo;
    list.C_GetTokenInfo = w_C_GetTokenInfo;
    list.C_GetMechanismList = w_C_GetMechanismList;
    list.C_GetMechanismInfo = w_C_GetMechanismInfo;
    list.C_InitToken = w_C_InitToken;
    list.C_OpenSession = w_C_OpenSession;
    list.C_CloseSession = w_C_CloseSession;
    list.C_CloseAllSessions = w_C_CloseAllSessions;
    list.C_Login = w_C_Login;
    list.C_SetPIN = w_C_SetPIN;
    list.C_InitPIN = w_C_InitPIN;
    list.C_WaitForSlotEvent = w_C_WaitForSlotEvent;
/*@ASSIGNMENTS@*/
    real = target;
  }
  *out = &list;
  return CKR_OK;
}
`;

/** Written out in READER_SOURCE; C_GetInfo passes through unchanged. */
const READER_OWN = new Set([
  'C_Initialize',
  'C_Finalize',
  'C_GetInfo',
  'C_GetFunctionList',
  'C_GetSlotList',
  'C_GetSlotInfo',
  'C_GetTokenInfo',
  'C_GetMechanismList',
  'C_GetMechanismInfo',
  'C_InitToken',
  'C_OpenSession',
  'C_CloseSession',
  'C_CloseAllSessions',
  'C_Login',
  'C_SetPIN',
  'C_InitPIN',
  'C_WaitForSlotEvent',
]);

/** The header directory of pkcs11js (PKCS#11 2.40: pkcs11/pkcs11.h, pkcs11t.h, pkcs11f.h). */
function pkcs11Includes(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('pkcs11js/package.json')), 'includes');
}

/** Session pass-through wrappers, generated from pkcs11f.h's argument lists. */
function generateWrappers(pkcs11f: string): { wrappers: string; assignments: string } {
  const text = pkcs11f.replace(/\/\*[\s\S]*?\*\//g, '');
  const functions = [...text.matchAll(/CK_PKCS11_FUNCTION_INFO\((\w+)\)\s*#ifdef CK_NEED_ARG_LIST\s*\(([^)]*)\);/g)];
  const wrappers: string[] = [];
  const assignments: string[] = [];
  for (const [, name, argList] of functions) {
    if (!name || argList === undefined || READER_OWN.has(name)) continue;
    const params = argList.split(',').map((p) => p.trim().replace(/\s+/g, ' '));
    const names = params.map((p) => p.split(' ').pop() ?? '');
    if (names[0] !== 'hSession') throw new Error(`smart-card lab: ${name} takes no session; the test card reader does not know it`);
    wrappers.push(`static CK_RV w_${name}(${params.join(', ')}) {\n  CK_RV rv = guard(hSession, NULL);\n  return rv != CKR_OK ? rv : real->${name}(${names.join(', ')});\n}`);
    assignments.push(`    list.${name} = w_${name};`);
  }
  if (!assignments.some((a) => a.includes('C_SignInit')) || !assignments.some((a) => a.includes('C_FindObjects '))) {
    throw new Error('smart-card lab: could not read the PKCS#11 function list from pkcs11js/includes/pkcs11/pkcs11f.h');
  }
  return { wrappers: wrappers.join('\n\n'), assignments: assignments.join('\n') };
}

async function buildReader(readerDir: string, config: { targetModule: string; softhsmConf: string; presenceDir: string; pinTriesDir: string; maxPinTries: number }): Promise<string> {
  const includes = pkcs11Includes();
  const { wrappers, assignments } = generateWrappers(await readFile(join(includes, 'pkcs11', 'pkcs11f.h'), 'utf8'));
  const source = join(readerDir, 'reader.c');
  const cString = (s: string) => JSON.stringify(s); // ASCII paths: a JSON string is a C string literal
  await writeFile(
    join(readerDir, 'config.h'),
    [
      `#define TARGET_MODULE ${cString(config.targetModule)}`,
      `#define SOFTHSM2_CONF_PATH ${cString(config.softhsmConf)}`,
      `#define PRESENCE_DIR ${cString(config.presenceDir)}`,
      `#define PIN_TRIES_DIR ${cString(config.pinTriesDir)}`,
      `#define MAX_PIN_TRIES ${Math.trunc(config.maxPinTries)}`,
      '',
    ].join('\n'),
  );
  await writeFile(source, READER_SOURCE.replace('/*@WRAPPERS@*/', wrappers).replace('/*@ASSIGNMENTS@*/', assignments));
  const out = join(readerDir, 'enclave-test-reader.so');
  await runTool(process.env.CC ?? 'cc', [
    '-shared',
    '-fPIC',
    '-O2',
    '-fvisibility=hidden',
    '-Wall',
    '-Werror=incompatible-pointer-types',
    '-Werror=implicit-function-declaration',
    '-I',
    includes,
    '-I',
    readerDir,
    '-o',
    out,
    source,
    '-ldl',
    '-lpthread',
  ]);
  return out;
}

// --- Tokens --------------------------------------------------------------------------------------

/** label -> serial, from `softhsm2-util --show-slots`. */
function parseShowSlots(output: string): Map<string, string> {
  const result = new Map<string, string>();
  for (const block of output.split(/^Slot /m)) {
    const serial = /Serial number:\s*(\S+)/.exec(block)?.[1];
    const label = /Label:\s*(.*?)\s*$/m.exec(block)?.[1];
    if (serial && label) result.set(label, serial);
  }
  return result;
}

// --- The lab -------------------------------------------------------------------------------------

export async function createSmartCardLab(options: SmartCardLabOptions = {}): Promise<SmartCardLab> {
  const started = performance.now();
  for (const tool of [SOFTHSM2_MODULE, '/usr/bin/softhsm2-util', '/usr/bin/pkcs11-tool']) {
    if (!existsSync(tool)) throw new Error(`smart-card lab: ${tool} is missing (apt-get install softhsm2 opensc)`);
  }
  const maxPinTries = options.maxPinTries ?? 3;
  const dir = await mkdtemp(join(options.parentDir ?? tmpdir(), 'enclave-smart-card-'));
  try {
    await chmod(dir, 0o700);
    const cardsDir = join(dir, 'cards');
    const tokensDir = join(dir, 'tokens');
    const readerDir = join(dir, 'reader');
    const presenceDir = join(readerDir, 'present');
    const pinTriesDir = join(readerDir, 'pin-tries');
    await Promise.all([cardsDir, tokensDir, presenceDir, pinTriesDir].map((d) => mkdir(d, { recursive: true, mode: 0o700 })));
    const softhsmConf = join(dir, 'softhsm2.conf');
    await writeFile(softhsmConf, [`directories.tokendir = ${tokensDir}`, 'objectstore.backend = file', 'log.level = ERROR', 'slots.removable = true', ''].join('\n'));
    const env = { SOFTHSM2_CONF: softhsmConf };

    // 1, 2: the CAs, the cards' certificates, the CRLs; the reader meanwhile.
    const upnOf = (key: SmartCardKey): string | null => {
      if (!CARD_SPECS[key].upn) return null;
      const override = key === 'noUpn' ? undefined : options.upns?.[key];
      return checkUpn(override ?? `${key.toLowerCase()}@enclave.test`);
    };
    const specs = SMART_CARD_KEYS.map((key) => ({ key, spec: CARD_SPECS[key], upn: upnOf(key) }));
    const readerPromise = (async () => {
      const t = performance.now();
      const path = await buildReader(readerDir, { targetModule: SOFTHSM2_MODULE, softhsmConf, presenceDir, pinTriesDir, maxPinTries });
      return { path, ms: performance.now() - t };
    })();
    readerPromise.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
    const pkiStarted = performance.now();
    const caDir = join(dir, 'ca');
    const otherCaDir = join(dir, 'other-ca');
    const [ca, otherCa] = await Promise.all([
      makeCa(
        caDir,
        CA_NAME,
        specs.filter((c) => c.spec.issuer === 'ca'),
        cardsDir,
      ),
      makeCa(
        otherCaDir,
        OTHER_CA_NAME,
        specs.filter((c) => c.spec.issuer === 'other'),
        cardsDir,
      ),
    ]);
    const staleCrlFile = join(dir, 'stale.crl');
    const crlFile = join(dir, 'current.crl');
    const now = Date.now();
    await makeCrl(ca.config, ca.env, staleCrlFile, ['-crl_lastupdate', asn1Time(now - 10 * DAY_MS), '-crl_nextupdate', asn1Time(now - 2 * DAY_MS)]);
    await runTool('openssl', ['ca', '-batch', '-config', ca.config, '-revoke', join(cardsDir, 'revoked.pem'), '-crl_reason', 'keyCompromise'], { env: ca.env });
    await makeCrl(ca.config, ca.env, crlFile, ['-crldays', '7']);
    const pkiMs = performance.now() - pkiStarted;

    // 3: one token per card. Each is made in a token directory of its own (a SoftHSM2 process
    // reads every token in its directory, and one that another process is rewriting at that
    // moment can abort it), then moved into the lab's.
    const tokensStarted = performance.now();
    const issued = new Map([...ca.issued, ...otherCa.issued].map((c) => [c.key, c]));
    const cardList = await Promise.all(
      SMART_CARD_KEYS.map(async (key): Promise<[SmartCardKey, TestCard]> => {
        const card = issued.get(key);
        if (!card) throw new Error(`smart-card lab: no certificate issued for ${key}`);
        const { keyFile, certFile } = card;
        const spec = CARD_SPECS[key];
        const tokenLabel = `Enclave ${key}`;
        const staging = join(dir, 'staging', key);
        await mkdir(join(staging, 'tokens'), { recursive: true, mode: 0o700 });
        const stagingConf = join(staging, 'softhsm2.conf');
        await writeFile(stagingConf, [`directories.tokendir = ${join(staging, 'tokens')}`, 'objectstore.backend = file', 'log.level = ERROR', ''].join('\n'));
        const stagingEnv = { ...process.env, SOFTHSM2_CONF: stagingConf };
        await runTool('softhsm2-util', ['--init-token', '--free', '--label', tokenLabel, '--pin', spec.pin, '--so-pin', SO_PIN], { env: stagingEnv });
        const certPem = readFileSync(certFile, 'utf8');
        const cert = new X509Certificate(certPem);
        const files = { key: join(cardsDir, `${key}.key.der`), pub: join(cardsDir, `${key}.pub.der`), cert: join(cardsDir, `${key}.cer`) };
        await writeFile(files.key, createPrivateKey(readFileSync(keyFile)).export({ type: 'pkcs8', format: 'der' }), { mode: 0o600 });
        await writeFile(files.pub, createPublicKey(certPem).export({ type: 'spki', format: 'der' }));
        await writeFile(files.cert, cert.raw);
        const p11 = ['--module', SOFTHSM2_MODULE, '--token-label', tokenLabel, '--login', '--pin', spec.pin, '--id', '01'];
        await runTool('pkcs11-tool', [...p11, '--write-object', files.key, '--type', 'privkey', '--label', PIV_LABELS.privateKey, '--usage-sign', '--usage-decrypt'], { env: stagingEnv });
        await runTool('pkcs11-tool', [...p11, '--write-object', files.pub, '--type', 'pubkey', '--label', PIV_LABELS.publicKey], { env: stagingEnv });
        await runTool('pkcs11-tool', [...p11, '--write-object', files.cert, '--type', 'cert', '--label', PIV_LABELS.certificate], { env: stagingEnv });
        const tokenSerial = parseShowSlots(await runTool('softhsm2-util', ['--show-slots'], { env: stagingEnv })).get(tokenLabel);
        if (!tokenSerial) throw new Error(`smart-card lab: token ${tokenLabel} not found after softhsm2-util --init-token`);
        const [tokenDir, ...others] = await readdir(join(staging, 'tokens'));
        if (!tokenDir || others.length) throw new Error(`smart-card lab: expected one token directory in ${staging}`);
        await rename(join(staging, 'tokens', tokenDir), join(tokensDir, tokenDir));
        return [
          key,
          {
            tokenLabel,
            pin: spec.pin,
            soPin: SO_PIN,
            upn: upnOf(key),
            certPem,
            certSha256: createHash('sha256').update(cert.raw).digest('hex'),
            serialHex: cert.serialNumber.toUpperCase(),
            tokenSerial,
            displayName: spec.displayName,
            certFile,
          },
        ];
      }),
    );
    const cards = Object.fromEntries(cardList) as Record<SmartCardKey, TestCard>;
    await rm(join(dir, 'staging'), { recursive: true, force: true });
    const tokensMs = performance.now() - tokensStarted;
    const reader = await readerPromise;

    // 4: the readers.
    let insertions = 0;
    const marker = (card: SmartCardKey) => join(presenceDir, cards[card].tokenSerial);
    const insert = async (card: SmartCardKey) => {
      if (!existsSync(marker(card))) await writeAtomic(marker(card), `${Date.now()}.${++insertions}\n`);
    };
    const remove = async (card: SmartCardKey) => {
      await unlink(marker(card)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
    };
    for (const card of options.inserted === 'all' ? SMART_CARD_KEYS : (options.inserted ?? [])) await insert(card);

    return {
      modulePath: reader.path,
      softhsmModulePath: SOFTHSM2_MODULE,
      softhsmConf,
      caFile: join(caDir, 'ca.pem'),
      caKeyFile: join(caDir, 'ca.key'),
      otherCaFile: join(otherCaDir, 'ca.pem'),
      crlFile,
      staleCrlFile,
      cards,
      insert,
      remove,
      isInserted: (card) => existsSync(marker(card)),
      pinTriesLeft: (card) => {
        if (maxPinTries <= 0) return Infinity;
        let used = 0;
        try {
          used = Number.parseInt(readFileSync(join(pinTriesDir, cards[card].tokenSerial), 'utf8'), 10) || 0;
        } catch {
          // no wrong PIN since the last right one
        }
        return Math.max(0, maxPinTries - used);
      },
      unblockPin: (card) => rm(join(pinTriesDir, cards[card].tokenSerial), { force: true }),
      maxPinTries,
      env,
      dir,
      timings: { pkiMs: Math.round(pkiMs), tokensMs: Math.round(tokensMs), readerMs: Math.round(reader.ms), totalMs: Math.round(performance.now() - started) },
      destroy: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
