import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AuditRecordSchema, canonicalJson, hashRecord } from '../support/audit-internals.js';
import { keyedHash, typedNameToken } from '../../src/main/audit/private-text.js';

describe('audit record hashing', () => {
  it('canonical JSON (RFC 8785) sorts keys and normalises numbers', () => {
    expect(canonicalJson({ b: 1, a: [1e21, 0.1, 'é'], c: { z: null, y: true } })).toBe('{"a":[1e+21,0.1,"é"],"b":1,"c":{"y":true,"z":null}}');
  });

  it('event.hash is SHA-256(0x00 ‖ JCS(record without event.hash)) — the RFC 6962 leaf hash', () => {
    const record = {
      '@timestamp': '2026-11-23T10:00:00.000Z',
      event: { id: '01900000-0000-7000-8000-000000000000', sequence: 1, action: 'auth.login' as const, outcome: 'success' as const, hash: 'f'.repeat(64) },
      prev: null,
      host: { id: 'h', name: 'ws-1' },
      service: { name: 'enclave' as const, version: '0.1.0' },
      enclave: { clock_state: 'unknown' as const },
    };
    const { hash: _h, ...event } = record.event;
    const expected = createHash('sha256')
      .update(Buffer.concat([Buffer.from([0]), Buffer.from(canonicalJson({ ...record, event }))]))
      .digest('hex');
    expect(hashRecord(record)).toBe(expected);
    // Key order of the input must not matter, the hash field itself must not count.
    expect(hashRecord({ ...record, event: { ...record.event, hash: '0'.repeat(64) } })).toBe(expected);
    expect(hashRecord({ ...record, prev: 'a'.repeat(64) })).not.toBe(expected);
  });
});

describe('prompts, answers and typed text in the record', () => {
  const base = {
    '@timestamp': '2026-11-23T10:00:00.000Z',
    event: { id: '01900000-0000-7000-8000-000000000000', sequence: 2, action: 'ai.prompt' as const, outcome: 'success' as const, hash: 'f'.repeat(64) },
    prev: 'e'.repeat(64),
    host: { id: 'h', name: 'ws-1' },
    service: { name: 'enclave' as const, version: '0.1.0' },
    enclave: { clock_state: 'unknown' as const },
  };

  it('name a prompt by its keyed hash; a plain sha256 is accepted only as records before keyed hashes wrote it, never both, never neither', () => {
    const hmac = AuditRecordSchema.safeParse({ ...base, ai: { prompt: { hmac_sha256: 'a'.repeat(64), chars: 18, tokens: 7 } } });
    expect(hmac.success).toBe(true);
    expect(AuditRecordSchema.safeParse({ ...base, ai: { prompt: { sha256: 'a'.repeat(64), chars: 18 } } }).success).toBe(true);
    expect(AuditRecordSchema.safeParse({ ...base, ai: { response: { sha256: 'a'.repeat(64), hmac_sha256: 'b'.repeat(64), chars: 18 } } }).success).toBe(false);
    expect(AuditRecordSchema.safeParse({ ...base, ai: { prompt: { chars: 18 } } }).success).toBe(false);
    expect(AuditRecordSchema.safeParse({ ...base, ai: { prompt: { text: 'MRN 4471 diabetic?', hmac_sha256: 'a'.repeat(64), chars: 18 } } }).success).toBe(false);
  });

  it('the keyed hash is HMAC-SHA-256 of the UTF-8 text: not its SHA-256, and different under another workstation secret', () => {
    const key = Buffer.alloc(32, 7);
    const prompt = 'MRN 4471 diabétique?';
    expect(keyedHash(key, prompt)).toBe(createHmac('sha256', key).update(Buffer.from(prompt, 'utf8')).digest('hex'));
    expect(keyedHash(key, prompt)).not.toBe(createHash('sha256').update(prompt).digest('hex'));
    expect(keyedHash(Buffer.alloc(32, 8), prompt)).not.toBe(keyedHash(key, prompt));
  });

  it('a typed user name that names no account becomes a token that ignores letter case and surrounding space, and holds no trace of the name', () => {
    const key = Buffer.alloc(32, 7);
    const token = typedNameToken(key, 'Hunter2!Password');
    expect(token).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(typedNameToken(key, ' hunter2!password ')).toBe(token);
    expect(token).not.toContain(createHash('sha256').update('Hunter2!Password').digest('hex'));
    expect(token).not.toContain(createHash('sha256').update('hunter2!password').digest('hex'));
  });
});
