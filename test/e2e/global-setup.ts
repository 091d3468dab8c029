// Playwright global setup: the one real Samba AD domain controller of the run
// (test/support/samba-dc.ts), on loopback. Workers find it through the
// ENCLAVE_SAMBA_DC environment variable it sets; teardown destroys it.
import { releaseSharedSambaDc, sharedSambaDc } from '../support/samba-dc.js';

export default async function globalSetup(): Promise<() => Promise<void>> {
  await sharedSambaDc();
  return () => releaseSharedSambaDc();
}
