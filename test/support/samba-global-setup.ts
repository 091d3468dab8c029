// vitest globalSetup for the integration project: starts the one Samba AD DC
// of the run (test/support/samba-dc.ts) in vitest's main process, gives tests
// its description through provide/inject, and destroys it at teardown.
//
//   import { inject } from 'vitest';
//   const dc = inject('sambaDc'); // SambaDcInfo: URLs, CA files, users, groups
//
// A test that needs the DC down ("DC unreachable") uses
// attachSambaDc(inject('sambaDc')).stop() / .start(): an outage for every file
// using the DC at that moment, so keep such tests out of concurrently running
// files. If vitest is killed, samba exits on its own (see samba-dc.ts).
// ENCLAVE_TEST_NO_SAMBA=1 skips the DC, for files that do not use it.
import type { TestProject } from 'vitest/node';
import { releaseSharedSambaDc, sharedSambaDc, type SambaDcInfo } from './samba-dc.js';

declare module 'vitest' {
  export interface ProvidedContext {
    sambaDc: SambaDcInfo;
  }
}

export default async function setup({ provide }: TestProject): Promise<() => Promise<void>> {
  // For running files that need no directory while another run holds the DC's fixed ports.
  if (process.env.ENCLAVE_TEST_NO_SAMBA === '1') return async () => undefined;
  const dc = await sharedSambaDc();
  provide('sambaDc', dc.info());
  return async () => {
    await releaseSharedSambaDc();
  };
}
