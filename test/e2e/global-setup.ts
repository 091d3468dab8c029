// Playwright global setup: the one real Samba AD domain controller of the run
// (test/support/samba-dc.ts), on loopback. Workers find it through the
// ENCLAVE_SAMBA_DC environment variable it sets; teardown destroys it.
// ENCLAVE_TEST_NO_SAMBA=1 skips the DC, for specs that do not sign in against
// a directory (as in the vitest integration setup, samba-global-setup.ts).
import { releaseSharedSambaDc, sharedSambaDc } from '../support/samba-dc.js';

export default async function globalSetup(): Promise<() => Promise<void>> {
  // For running specs that need no directory, or while another run holds the DC's fixed ports.
  if (process.env['ENCLAVE_TEST_NO_SAMBA'] === '1') return async () => undefined;
  await sharedSambaDc();
  return () => releaseSharedSambaDc();
}
