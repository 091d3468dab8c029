#!/usr/bin/env node
// The native modules of Enclave and how to tell that one loads in the Node
// running this script. scripts/test.sh rebuilds any that does not;
// scripts/start.mjs keeps their Node builds while `npm start` swaps in builds
// for Electron. Each probe loads the addon itself: better-sqlite3 loads it only
// when a database is opened, so a bare require passes with a binary built for
// another Node (or none at all).
//
//   node scripts/native-modules.mjs list            the module names, one a line
//   node scripts/native-modules.mjs probe <module>  exit 0 when it loads here
//
// node-llama-cpp is not here: it loads prebuilt Node-API binaries
// (@node-llama-cpp/*), which work on any Node version and Electron.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Module name → a probe that throws unless its addon loads and works in this process. */
export const NATIVE_MODULES = {
  'better-sqlite3-multiple-ciphers': (load) => {
    const Database = load('better-sqlite3-multiple-ciphers');
    new Database(':memory:').close();
  },
  pkcs11js: (load) => {
    const { PKCS11 } = load('pkcs11js');
    new PKCS11();
  },
  // Only the tests use it (SQLCipher interop), through its own addon.
  '@journeyapps/sqlcipher': (load) => {
    const { Database } = load('@journeyapps/sqlcipher');
    if (typeof Database !== 'function') throw new Error('no Database');
  },
};

/** Throws unless `name` loads from `root`'s node_modules in this Node. */
export function probeNativeModule(root, name) {
  const probe = NATIVE_MODULES[name];
  if (!probe) throw new Error(`${name} is not one of Enclave's native modules (${Object.keys(NATIVE_MODULES).join(', ')})`);
  probe(createRequire(join(root, 'package.json')));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [command, name] = process.argv.slice(2);
  if (command === 'list') {
    for (const module of Object.keys(NATIVE_MODULES)) console.log(module);
  } else if (command === 'probe' && name) {
    try {
      probeNativeModule(process.cwd(), name);
    } catch (error) {
      console.error(`${name} does not load in Node ${process.version}: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    }
  } else {
    console.error('usage: node scripts/native-modules.mjs list | probe <module>');
    process.exit(2);
  }
}
