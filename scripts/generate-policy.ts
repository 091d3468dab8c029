// Writes every IT-facing policy template from the schema (see
// src/main/policy/templates/): the JSON Schema, the ADMX/ADML pair, the
// example macOS profile, and the reference region of docs/admin-guide.md.
//
//   npm run generate:policy             write what changed
//   npm run generate:policy -- --check  write nothing; exit 1 listing stale files
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { POLICY_REFERENCE_BEGIN, POLICY_REFERENCE_END, POLICY_TEMPLATE_PATHS, renderPolicyTemplates, spliceAdminGuide } from '../src/main/policy/templates/index.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const args = process.argv.slice(2);
const unknown = args.filter((arg) => arg !== '--check');
if (unknown.length > 0) {
  console.error(`Unknown argument(s): ${unknown.join(' ')}\nUsage: tsx scripts/generate-policy.ts [--check]`);
  process.exit(2);
}
const check = args.includes('--check');

function read(path: string): string | null {
  const full = join(root, path);
  return existsSync(full) ? readFileSync(full, 'utf8') : null;
}

const guidePath = POLICY_TEMPLATE_PATHS.adminGuide;
const guide = read(guidePath);
if (guide === null) {
  console.error(`${guidePath} does not exist. It must contain the lines\n  ${POLICY_REFERENCE_BEGIN}\n  ${POLICY_REFERENCE_END}\nbetween which the policy reference is generated.`);
  process.exit(1);
}
const splicedGuide = spliceAdminGuide(guide);
if (splicedGuide === null) {
  console.error(`${guidePath} must contain each of these lines exactly once, in this order, to mark where the policy reference goes:\n  ${POLICY_REFERENCE_BEGIN}\n  ${POLICY_REFERENCE_END}`);
  process.exit(1);
}

const outputs = [...renderPolicyTemplates(), { path: guidePath, content: splicedGuide }];
const stale = outputs.filter((output) => read(output.path) !== output.content);

if (check) {
  if (stale.length > 0) {
    console.error(`Policy templates are stale; run \`npm run generate:policy\`:\n${stale.map((output) => `  ${output.path}`).join('\n')}`);
    process.exit(1);
  }
  console.log(`Policy templates are up to date (${outputs.length} files).`);
} else {
  for (const output of stale) {
    const full = join(root, output.path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, output.content);
    console.log(`wrote ${output.path}`);
  }
  console.log(stale.length === 0 ? `Policy templates were already up to date (${outputs.length} files).` : `${stale.length} of ${outputs.length} files updated.`);
}
