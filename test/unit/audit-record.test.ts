import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, hashRecord } from '../../src/main/audit/index.js';

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
    const expected = createHash('sha256').update(Buffer.concat([Buffer.from([0]), Buffer.from(canonicalJson({ ...record, event }))])).digest('hex');
    expect(hashRecord(record)).toBe(expected);
    // Key order of the input must not matter, the hash field itself must not count.
    expect(hashRecord({ ...record, event: { ...record.event, hash: '0'.repeat(64) } })).toBe(expected);
    expect(hashRecord({ ...record, prev: 'a'.repeat(64) })).not.toBe(expected);
  });
});
