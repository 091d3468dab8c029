// Bundles the `enclave` CLI into out/cli/enclave.mjs; native and large
// dependencies stay external and load from node_modules.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/main/cli/entry.ts'],
  outfile: 'out/cli/enclave.mjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
