// The bundle's files as the export writes them: owner-only, written once,
// line by line; keys.json, bundle.json (last) and README.txt.
import { createPublicKey } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { auditBundle, type ReadableDb } from '../../store/index.js';
import type { BatchManifest } from '../manifest.js';
import { BUNDLE_FILES, BUNDLE_FORMAT, BUNDLE_KEYS_FORMAT, type BundleHeader, type BundleKeys, type ProvenRange } from './format.js';

/** Buffered line-by-line writing to a new owner-only file. */
export class LineWriter {
  readonly #fd: number;
  #buffer: string[] = [];
  #buffered = 0;

  constructor(path: string) {
    this.#fd = openSync(path, 'wx', 0o600);
  }

  write(text: string): void {
    this.#buffer.push(text);
    this.#buffered += text.length;
    if (this.#buffered >= 1 << 20) this.flush();
  }

  flush(): void {
    if (this.#buffer.length === 0) return;
    writeSync(this.#fd, this.#buffer.join(''));
    this.#buffer = [];
    this.#buffered = 0;
  }

  close(): void {
    try {
      this.flush();
    } finally {
      closeSync(this.#fd);
    }
  }
}

export function writeFile(directory: string, file: string, text: string): void {
  const writer = new LineWriter(join(directory, file));
  try {
    writer.write(text);
  } finally {
    writer.close();
  }
}

export function writeKeys(db: ReadableDb, directory: string, keyIds: string[]): void {
  const keys: BundleKeys = { format: BUNDLE_KEYS_FORMAT, keys: [] };
  for (const keyId of keyIds) {
    const row = auditBundle.signingKey(db, keyId);
    // A key that is gone cannot be listed; the verifier then names the manifests it signed.
    if (!row) continue;
    keys.keys.push({
      key_id: row.key_id,
      algorithm: row.algorithm,
      public_key_pem: createPublicKey({ key: row.public_key, format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }).toString(),
      created: new Date(row.created_at).toISOString(),
      retired: row.retired_at === null ? null : new Date(row.retired_at).toISOString(),
      replaced_by: row.replaced_by,
    });
  }
  writeFile(directory, BUNDLE_FILES.keys, JSON.stringify(keys, null, 2) + '\n');
}

/** bundle.json, readable, with the selected ids one per line (streamed: there may be 100,000 of them). */
export function writeHeader(directory: string, header: BundleHeader, selectedIds: string[]): void {
  const { selection: _replaced, ...rest } = header;
  const writer = new LineWriter(join(directory, BUNDLE_FILES.header));
  try {
    const head = JSON.stringify(rest, null, 2);
    writer.write(`${head.slice(0, -2)},\n  "selection": {\n    "count": ${selectedIds.length},\n    "event_ids": [`);
    selectedIds.forEach((id, i) => writer.write(`${i === 0 ? '' : ','}\n      ${JSON.stringify(id)}`));
    writer.write(`${selectedIds.length > 0 ? '\n    ' : ''}]\n  }\n}\n`);
  } finally {
    writer.close();
  }
}

export function readme(header: BundleHeader, keyIds: string[], closing: BatchManifest, proven: ProvenRange): string {
  const range = (ms: number | undefined, open: string) => (ms === undefined ? open : new Date(ms).toISOString());
  const f = header.filter;
  const criteria = [
    `time ${range(f.from, 'the beginning')} to ${range(f.to, 'the export')} (UTC, inclusive)`,
    f.user ? `user ${f.user} (any letter case)` : null,
    f.action ? `action ${f.action}` : null,
    f.outcome ? `outcome ${f.outcome}` : null,
  ].filter(Boolean);
  const c = header.coverage;
  return [
    `Enclave audit export bundle (${BUNDLE_FORMAT})`,
    '',
    `Workstation ${header.host.name} (host id ${header.host.id}), exported ${header.created} by ${header.exported_by}.`,
    `Filter: ${criteria.join('; ')}.`,
    c
      ? `Covers signed batches ${c.first_batch_seq}-${c.last_batch_seq}${c.first_seq !== null ? ` (events ${c.first_seq}-${c.last_seq})` : ''}.`
      : 'No sealed batch has anything in the time range: the bundle covers no batch.',
    `Closed by signed batch ${closing.batch_seq} (${closing.kind === 'heartbeat' ? `a heartbeat sealed ${closing.created}` : `events from ${closing.oldest}`}), which follows the range,`,
    `so it proves the range complete from ${proven.from ?? 'the start of the log'} to ${proven.to}${proven.endsAtExport ? ' (the export)' : ''}.`,
    c?.pruned_through_seq ? `Events up to ${c.pruned_through_seq} were removed from this workstation after the SIEM confirmed them; the SIEM holds them.` : null,
    '',
    'To verify it, on any machine with Enclave installed:',
    '',
    '    enclave audit verify --bundle <this folder> --key-id <the workstation key id>',
    '',
    'Use the key id that IT registered for this workstation (shown on it by',
    '"enclave enroll show"), not one taken from this folder: the bundle is only as',
    `trustworthy as that key. This bundle was signed with: ${keyIds.join(', ') || '(none)'}.`,
    'Verification checks every signature and the chain of manifests, that every',
    'event is unaltered, in order and none is missing, the Merkle roots, an',
    'inclusion proof for each selected event, that the selection is exactly',
    'the covered events matching the filter, and that signed batches close the',
    'range at both ends: the anchor before it and the closing batch after it hold',
    'nothing inside it, so no batch was cut off either end.',
    '',
    'Files:',
    '  events.csv       the selected events, for reading (a value starting with = + - @',
    "                   is shown with a leading ' so spreadsheets do not run it as a formula)",
    '  events.jsonl     every event of the covered batches, canonical JSON as signed',
    '  manifests.jsonl  the signed batch manifests: the anchor batch, the covered ones, and',
    '                   last the closing batch (its events are not in the bundle)',
    '  proofs.jsonl     an RFC 6962 inclusion proof for each selected event',
    '  keys.json        the public keys that signed the manifests',
    '  bundle.json      the filter, the selection, the Merkle frontier of the anchor batch,',
    '                   and which batch closes the range',
    '',
    'Audit records hold no prompt, answer or other typed text: only lengths, keyed',
    'hashes (HMAC-SHA-256 with a secret that never leaves the workstation, so they',
    'cannot be checked by guessing here) and metadata. They may hold patient',
    'references (MRN or pseudonym). Handle this folder as PHI.',
    '',
  ]
    .filter((line): line is string => line !== null)
    .join('\n');
}
