#!/usr/bin/env node
// `npm run build:pseudo`: the whole app built with the pseudo-locale (en-XA,
// src/renderer/src/i18n/pseudo.ts) instead of English, so any text that does
// not come from the string catalog stands out. For developers and the
// pseudo-locale e2e spec; never packaged (npm run package builds English).
import { spawnSync } from 'node:child_process';

const result = spawnSync('npx', ['electron-vite', 'build'], { stdio: 'inherit', env: { ...process.env, VITE_ENCLAVE_LOCALE: 'en-XA' }, shell: process.platform === 'win32' });
process.exit(result.status ?? 1);
