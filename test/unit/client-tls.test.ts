import { describe, expect, it } from 'vitest';
import type { ConnectionOptions } from 'node:tls';
import { verifiedClientTls } from '../../src/main/tls/index.js';

describe('client TLS options', () => {
  it('always state certificate verification and TLS 1.2, whatever a caller slips in', () => {
    expect(verifiedClientTls<ConnectionOptions>({ host: 'dc1.corp.example.org' })).toEqual({ host: 'dc1.corp.example.org', minVersion: 'TLSv1.2', rejectUnauthorized: true });
    // A cast or a spread object cannot turn verification off or replace the name check.
    const sneaky = { host: 'siem.example.org', rejectUnauthorized: false, checkServerIdentity: () => undefined } as unknown as ConnectionOptions;
    const options = verifiedClientTls<ConnectionOptions>(sneaky);
    expect(options.rejectUnauthorized).toBe(true);
    expect('checkServerIdentity' in options).toBe(false);
    expect(verifiedClientTls<ConnectionOptions>({ minVersion: 'TLSv1.3' }).minVersion).toBe('TLSv1.3');
  });
});
