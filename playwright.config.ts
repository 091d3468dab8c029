import { defineConfig } from '@playwright/test';

// The e2e tests launch their own browser (Debian's Chromium) or Electron in
// test/e2e/fixtures.ts, so there are no browser projects here. One worker:
// each test runs a real core with llama.cpp, which wants the CPU to itself.
export default defineConfig({
  testDir: 'test/e2e',
  // A real Samba AD domain controller on loopback for the directory sign-in specs.
  globalSetup: './test/e2e/global-setup.ts',
  outputDir: 'test-results/e2e',
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env['CI'],
  retries: 0,
  timeout: 180_000,
  expect: { timeout: 20_000 },
  reporter: 'list',
  use: {
    actionTimeout: 20_000,
    navigationTimeout: 30_000,
  },
});
