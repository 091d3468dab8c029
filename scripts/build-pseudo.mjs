#!/usr/bin/env node
// `npm run build:pseudo`: the whole app built with the pseudo-locale (en-XA,
// src/renderer/src/i18n/pseudo.ts) instead of English, so any text that does
// not come from the string catalog stands out; `npm start` then runs it.
// For developers; `npm run package` builds English. The renderer's index.html
// is then dated back, so the next browser e2e run rebuilds it in English
// rather than test the pseudo-locale build.
import { spawnSync } from 'node:child_process';
import { existsSync, utimesSync } from 'node:fs';

const result = spawnSync('npx', ['electron-vite', 'build'], { stdio: 'inherit', env: { ...process.env, VITE_ENCLAVE_LOCALE: 'en-XA' }, shell: process.platform === 'win32' });
if (existsSync('out/renderer/index.html')) utimesSync('out/renderer/index.html', 0, 0);
process.exit(result.status ?? 1);
