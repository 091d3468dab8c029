// Where an audit record travels beyond this workstation, as text: every SIEM
// rendering of it (syslog RFC 5424 JSON, CEF and LEEF; the ECS bulk document;
// the Splunk HEC event) and the files of an export bundle. The PHI tests look
// for typed text and its plain SHA-256 in all of them.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuditRecordSchema } from './audit-internals.js';
import { renderBulkEvent } from '../../src/main/siem/formats/ecs.js';
import { renderHecEvent } from '../../src/main/siem/formats/hec.js';
import { renderEventMessage } from '../../src/main/siem/formats/syslog.js';
import type { RenderContext } from '../../src/main/siem/types.js';

const CTX: RenderContext = { enterpriseNumber: 32473, productVersion: 'test', vendor: 'Enclave' };

/** What each SIEM destination would receive for this stored record. */
export function siemRenderings(recordText: string): string[] {
  const record = AuditRecordSchema.parse(JSON.parse(recordText));
  const event = { seq: record.event.sequence, record, text: recordText };
  return [...(['rfc5424-json', 'cef', 'leef'] as const).map((format) => renderEventMessage(event, 1, format, CTX)), renderBulkEvent(event).lines, JSON.stringify(renderHecEvent(event, 1))];
}

/** Every file of an export bundle, as text. */
export function bundleTexts(directory: string): string[] {
  return readdirSync(directory).map((name) => readFileSync(join(directory, name), 'utf8'));
}

export function sha256Of(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * The ways a text could show in a message: as it is, JSON-escaped, its plain
 * SHA-256 (guessable for a short text), and its SHA-256 in upper case.
 */
export function tracesOf(text: string): string[] {
  return [text, JSON.stringify(text).slice(1, -1), sha256Of(text), sha256Of(text).toUpperCase()];
}

/** The traces of `texts` found in `haystacks` (empty when none leaks). */
export function leaks(haystacks: readonly string[], texts: readonly string[]): string[] {
  const found: string[] = [];
  for (const text of texts) for (const trace of tracesOf(text)) if (haystacks.some((h) => h.includes(trace))) found.push(trace);
  return found;
}
