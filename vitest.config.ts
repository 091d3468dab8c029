import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node', testTimeout: 20_000 } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // Native addons (SQLCipher, llama.cpp) are safest in forked processes.
          pool: 'forks',
          // One real Samba AD domain controller on loopback for the whole run (test/support/samba-dc.ts).
          globalSetup: ['test/support/samba-global-setup.ts'],
        },
      },
    ],
  },
});
