// The keys a bundle may be signed with: keys.json (each key id checked to be
// its key's hash), the key ids the verifier was told to trust, and the keys
// those introduced by rotation (an audit.key_rotate event in a batch that a
// trusted key signed and whose events are proven).
import { createPublicKey } from 'node:crypto';
import { BUNDLE_FILES, BUNDLE_KEYS_FORMAT, BundleKeysSchema } from '../format.js';
import { publicKeyId } from '../../../tls/index.js';
import { verifyManifestSignature, type BatchManifest } from '../../manifest.js';
import { FAULT_KEY, short, type FaultLog } from './faults.js';
import { describeIssue, readJsonFile } from './read.js';

export interface ListedKey {
  pem: string;
  spkiBase64: string;
}

/** An audit.key_rotate event: the old key hands over to the new one. */
export interface RotationClaim {
  seq: number;
  oldKeyId: string;
  newKeyId: string;
  newPublicKey: string;
}

/** Why a manifest's signature is not accepted. */
export interface SignatureProblem {
  problem: 'wrong_key' | 'bad_signature';
  detail: string;
}

/**
 * Reads keys.json: the keys listed under their true key id. A key whose id is
 * not its hash, or that is not a public key, is left out (and a fault says
 * so). Null when the file cannot be read at all.
 */
export function readKeys(path: string, faults: FaultLog): Map<string, ListedKey> | null {
  const fault = (problem: 'malformed' | 'wrong_key', detail: string) => faults.file(FAULT_KEY.headerFile, problem, BUNDLE_FILES.keys, detail);
  const read = readJsonFile(path);
  if (!read.ok) {
    fault('malformed', `${BUNDLE_FILES.keys} cannot be read: ${read.why}`);
    return null;
  }
  const parsed = BundleKeysSchema.safeParse(read.value);
  if (!parsed.success) {
    fault('malformed', `${BUNDLE_FILES.keys} is not an ${BUNDLE_KEYS_FORMAT} key list (${describeIssue(parsed.error)})`);
    return null;
  }
  const keys = new Map<string, ListedKey>();
  for (const key of parsed.data.keys) {
    let spki: Buffer;
    try {
      spki = createPublicKey(key.public_key_pem).export({ type: 'spki', format: 'der' });
    } catch {
      fault('malformed', `the public key listed for key id ${key.key_id} is not a PEM public key`);
      continue;
    }
    // A key id is the hash of its key: a list that pairs an id with another key is lying.
    const actual = publicKeyId(spki);
    if (actual !== key.key_id) {
      fault('wrong_key', `the public key listed for key id ${key.key_id} has key id ${actual}`);
      continue;
    }
    keys.set(key.key_id, { pem: key.public_key_pem, spkiBase64: spki.toString('base64') });
  }
  return keys;
}

/** The listed keys, which of them are trusted, and which signed an accepted manifest. */
export class KeyRing {
  readonly #listed: ReadonlyMap<string, ListedKey>;
  readonly #expected: ReadonlySet<string>;
  readonly #trusted: Set<string>;
  readonly #signers = new Set<string>();

  constructor(options: { listed: ReadonlyMap<string, ListedKey>; expectedKeyIds: Iterable<string> }) {
    this.#listed = options.listed;
    this.#expected = new Set(options.expectedKeyIds);
    this.#trusted = new Set(this.#expected);
  }

  /** Keys whose signatures were accepted, in the order first seen. */
  get signers(): string[] {
    return [...this.#signers];
  }

  /** What is wrong with a manifest's signature, or null (and its signer noted) when a trusted key made it. */
  signatureProblem(m: BatchManifest): SignatureProblem | null {
    const entry = this.#listed.get(m.key_id);
    if (!entry) return { problem: 'wrong_key', detail: `batch ${m.batch_seq} is signed by key ${m.key_id}, which keys.json does not hold` };
    if (!verifyManifestSignature(m, entry.pem))
      return { problem: 'bad_signature', detail: `the signature of batch ${m.batch_seq} does not verify with key ${short(m.key_id)}: the manifest was altered` };
    if (!this.#trusted.has(m.key_id)) {
      return {
        problem: 'wrong_key',
        detail: `batch ${m.batch_seq} is signed by key ${m.key_id}, which is not an expected key id (${[...this.#expected].map(short).join(', ')}) and was not introduced by an audit.key_rotate event in a batch signed by a trusted key. Check the key id registered for this workstation (enclave enroll show on it, or IT's records).`,
      };
    }
    this.#signers.add(m.key_id);
    return null;
  }

  /**
   * A batch signed by a trusted key, whose events are proven, vouches for the
   * key its audit.key_rotate event names, when keys.json lists that very key.
   */
  trustRotations(m: BatchManifest, rotations: readonly RotationClaim[], faults: FaultLog): void {
    if (m.first_seq === null) return;
    for (const rotation of rotations) {
      if (rotation.seq < m.first_seq || rotation.seq > m.last_seq! || rotation.oldKeyId !== m.key_id || this.#trusted.has(rotation.newKeyId)) continue;
      const listed = this.#listed.get(rotation.newKeyId);
      const announcedId = keyIdOfAnnounced(rotation.newPublicKey);
      if (announcedId === rotation.newKeyId && listed && listed.spkiBase64 === rotation.newPublicKey) {
        this.#trusted.add(rotation.newKeyId);
      } else {
        faults.add(rotation.seq + 0.1, {
          problem: 'wrong_key',
          sequence: rotation.seq,
          batchSeq: m.batch_seq,
          file: BUNDLE_FILES.keys,
          line: null,
          detail: `the key rotation in event ${rotation.seq} names key ${short(rotation.newKeyId)}, but ${listed ? 'keys.json holds a different public key under that id' : announcedId !== rotation.newKeyId ? 'the public key it gives has another id' : 'keys.json does not hold it'}`,
        });
      }
    }
  }
}

function keyIdOfAnnounced(spkiBase64: string): string | null {
  try {
    return publicKeyId(Buffer.from(spkiBase64, 'base64'));
  } catch {
    return null;
  }
}
