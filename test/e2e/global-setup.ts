// Playwright global setup: the one real Samba AD domain controller of the run
// (test/support/samba-dc.ts), on loopback, when a selected spec signs in against
// the directory (samba-needed.ts tells); other runs start none. Workers find it
// through the ENCLAVE_SAMBA_DC environment variable it sets; teardown destroys it.
// ENCLAVE_TEST_NO_SAMBA=1 skips the DC whatever is selected (as in the vitest
// integration setup, samba-global-setup.ts).
import type { FullConfig } from '@playwright/test';
import { releaseSharedSambaDc, sharedSambaDc } from '../support/samba-dc.js';
import { sambaNeeded } from './samba-needed.js';

export default async function globalSetup(config: FullConfig): Promise<() => Promise<void>> {
  // For running specs that need no directory, or while another run holds the DC's fixed ports.
  if (process.env['ENCLAVE_TEST_NO_SAMBA'] === '1') return async () => undefined;
  const testDir = config.projects[0]?.testDir ?? config.rootDir;
  if (!sambaNeeded(config.argv, testDir)) {
    console.log('e2e: no selected spec signs in against the directory; the Samba DC is not started.');
    return async () => undefined;
  }
  await sharedSambaDc();
  return () => releaseSharedSambaDc();
}
