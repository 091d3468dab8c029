// PEM, the text form of certificates and CRLs: one reader for every file
// policy names (CA bundles, client certificates, smart-card CAs and CRLs).
// Node's X509Certificate reads one certificate; a bundle is split here.
import { X509Certificate } from 'node:crypto';

/** The labels Enclave reads: "-----BEGIN <label>-----". */
export type PemLabel = 'CERTIFICATE' | 'X509 CRL';

const BLOCKS: Record<PemLabel, RegExp> = {
  CERTIFICATE: /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/g,
  'X509 CRL': /-----BEGIN X509 CRL-----([\s\S]+?)-----END X509 CRL-----/g,
};

/** Every block with `label` in `text`, each whole (BEGIN and END lines included), in file order. */
export function pemBlocks(text: string, label: PemLabel): string[] {
  return text.match(BLOCKS[label]) ?? [];
}

/** Does the text hold any PEM block at all (of whatever label)? */
export function hasPemBlock(text: string): boolean {
  return text.includes('-----BEGIN');
}

/** The DER bytes of one PEM block. */
export function pemBlockDer(block: string): Buffer {
  const body = /-----BEGIN [^-]+-----([\s\S]+?)-----END [^-]+-----/.exec(block)?.[1] ?? '';
  return Buffer.from(body.replace(/\s+/g, ''), 'base64');
}

/**
 * Every certificate of a PEM bundle (a CA file). Text outside the blocks is
 * ignored; a block that is not a certificate throws (Node's error).
 */
export function certificatesFromPem(text: string): X509Certificate[] {
  return pemBlocks(text, 'CERTIFICATE').map((block) => new X509Certificate(block));
}

/**
 * Every certificate of a file that is either a PEM bundle or one DER
 * certificate. A PEM file without a certificate block, or bytes that are no
 * certificate, give none; a damaged PEM block throws.
 */
export function certificatesFromPemOrDer(bytes: Buffer): X509Certificate[] {
  const text = bytes.toString('latin1');
  const blocks = pemBlocks(text, 'CERTIFICATE');
  if (blocks.length > 0) return blocks.map((block) => new X509Certificate(block));
  if (hasPemBlock(text)) return [];
  try {
    return [new X509Certificate(bytes)];
  } catch {
    return [];
  }
}

/** The DER of the first `label` block when the file is PEM, else the bytes as they are (DER). */
export function derFromPemOrDer(bytes: Buffer, label: PemLabel): Buffer {
  const [first] = pemBlocks(bytes.toString('latin1'), label);
  return first === undefined ? bytes : pemBlockDer(first);
}
