// Which OS key store backend may wrap the database key (keys/key-store-policy.ts):
// never basic_text or unknown under managed policy, never weaker than the
// backend recorded when the key was last wrapped.
import { describe, expect, it } from 'vitest';
import { backendStrength, DAMAGED_RECORD, decideKeyStore, effectiveBackend, formatBackendRecord, parseBackendRecord, type KeyStoreBackend } from '../../src/main/keys/index.js';

const STRONG_LINUX: KeyStoreBackend[] = ['gnome_libsecret', 'kwallet', 'kwallet5', 'kwallet6'];
const WEAK_LINUX: KeyStoreBackend[] = ['basic_text', 'unknown'];

const linux = (backend: KeyStoreBackend, recordedBackend: string | null, managed: boolean) => decideKeyStore({ platform: 'linux', backend, recordedBackend, managed });

describe('the backend in use', () => {
  it('is fixed on Windows and macOS, whatever Electron reports', () => {
    expect(effectiveBackend('win32', 'basic_text')).toBe('dpapi');
    expect(effectiveBackend('darwin', 'basic_text')).toBe('keychain');
  });

  it('is Electron’s report on Linux, and unknown for a name Enclave does not know', () => {
    for (const name of [...STRONG_LINUX, ...WEAK_LINUX]) expect(effectiveBackend('linux', name)).toBe(name);
    expect(effectiveBackend('linux', 'gnome_keyring')).toBe('unknown');
    expect(effectiveBackend('linux', '')).toBe('unknown');
    expect(effectiveBackend('freebsd', 'kwallet5')).toBe('kwallet5');
  });

  it('ranks key stores above basic_text above unknown', () => {
    for (const name of [...STRONG_LINUX, 'dpapi', 'keychain']) expect(backendStrength(name)).toBe(2);
    expect(backendStrength('basic_text')).toBe(1);
    expect(backendStrength('unknown')).toBe(0);
    // A damaged or future record ranks as the strongest, so it cannot open the way down.
    expect(backendStrength(DAMAGED_RECORD)).toBe(2);
    expect(backendStrength('some_future_store')).toBe(2);
  });
});

describe('managed policy', () => {
  it.each(WEAK_LINUX)('refuses %s like a missing key store, saying what to install and unlock', (backend) => {
    const decision = linux(backend, null, true);
    expect(decision.allowed).toBe(false);
    if (decision.allowed) return;
    expect(decision.message).toMatch(/GNOME Keyring/);
    expect(decision.message).toMatch(/KWallet/);
    expect(decision.message).toMatch(/--password-store/);
    expect(decision.message).toContain(backend);
  });

  it.each(WEAK_LINUX)('refuses %s even when the record names it too (a key wrapped before this rule)', (backend) => {
    expect(linux(backend, backend, true).allowed).toBe(false);
  });

  it.each(STRONG_LINUX)('allows %s, and wraps the key again to record it when there is no record', (backend) => {
    expect(linux(backend, null, true)).toEqual({ allowed: true, backend, rewrap: true, warning: null });
    expect(linux(backend, backend, true)).toEqual({ allowed: true, backend, rewrap: false, warning: null });
  });

  it('allows DPAPI and the Keychain', () => {
    expect(decideKeyStore({ platform: 'win32', backend: 'dpapi', recordedBackend: 'dpapi', managed: true })).toMatchObject({ allowed: true, rewrap: false });
    expect(decideKeyStore({ platform: 'darwin', backend: 'keychain', recordedBackend: null, managed: true })).toMatchObject({ allowed: true, rewrap: true });
  });
});

describe('evaluation policy', () => {
  it.each(WEAK_LINUX)('allows %s with a loud warning', (backend) => {
    const decision = linux(backend, null, false);
    expect(decision).toMatchObject({ allowed: true, backend });
    if (!decision.allowed) return;
    expect(decision.warning).toMatch(/WARNING/);
    expect(decision.warning).toMatch(/effectively in the clear/);
  });

  it('warns about nothing with a real key store', () => {
    expect(linux('gnome_libsecret', 'gnome_libsecret', false)).toMatchObject({ allowed: true, warning: null });
  });
});

describe('never a weaker backend than the one that wrapped the key', () => {
  it.each(STRONG_LINUX.flatMap((recorded) => WEAK_LINUX.flatMap((now) => [[recorded, now, true] as const, [recorded, now, false] as const])))(
    'recorded %s, now %s (managed: %s): refused',
    (recorded, now, managed) => {
      const decision = linux(now, recorded, managed);
      expect(decision.allowed).toBe(false);
      if (decision.allowed) return;
      expect(decision.message).toMatch(/weaker/);
      expect(decision.message).toMatch(/Nothing was changed/);
    },
  );

  it('recorded basic_text, now unknown: refused even in evaluation', () => {
    expect(linux('unknown', 'basic_text', false).allowed).toBe(false);
  });

  it('a damaged record lets only a real key store through, and is then replaced', () => {
    expect(linux('basic_text', DAMAGED_RECORD, false).allowed).toBe(false);
    expect(linux('gnome_libsecret', DAMAGED_RECORD, true)).toMatchObject({ allowed: true, rewrap: true });
  });

  it('a stronger backend than the recorded one wraps the key again (evaluation that gained a key ring)', () => {
    expect(linux('gnome_libsecret', 'basic_text', false)).toMatchObject({ allowed: true, rewrap: true, warning: null });
    expect(linux('gnome_libsecret', 'basic_text', true)).toMatchObject({ allowed: true, rewrap: true });
  });

  it('one real key store for another is not a downgrade (the unwrap itself then decides)', () => {
    expect(linux('gnome_libsecret', 'kwallet5', true)).toMatchObject({ allowed: true, rewrap: false });
  });
});

describe('the record file', () => {
  it('round-trips', () => {
    expect(parseBackendRecord(formatBackendRecord('kwallet6'))).toBe('kwallet6');
    expect(JSON.parse(formatBackendRecord('gnome_libsecret'))).toEqual({ format: 1, backend: 'gnome_libsecret' });
  });

  it('is absent: null (an older install, or a new key)', () => {
    expect(parseBackendRecord(null)).toBeNull();
  });

  it.each(['', '{', 'null', '[]', '{"format":2,"backend":"basic_text"}', '{"format":1}', '{"format":1,"backend":""}', '{"format":1,"backend":"kwallet","extra":1}'])(
    'reads a damaged record %j as damaged, never as absent',
    (text) => {
      expect(parseBackendRecord(text)).toBe(DAMAGED_RECORD);
    },
  );
});
