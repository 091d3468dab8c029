// Every template IT uses, generated from the one schema (schema.ts, through
// catalog.ts) so that none of them can drift from what Enclave reads:
//   - the JSON Schema for /etc/enclave/policy.json and editors,
//   - the Group Policy template (ADMX) and its en-US strings (ADML),
//   - an example macOS configuration profile (.mobileconfig),
//   - the policy reference in docs/admin-guide.md.
// `npm run generate:policy` writes them (scripts/generate-policy.ts) and a unit
// test fails when a file on disk differs from what these functions render.
// Every function is pure and deterministic: no dates, no random identifiers.
import { renderAdml, renderAdmx } from './admx.js';
import { POLICY_TEMPLATE_PATHS } from './constants.js';
import { renderJsonSchema } from './json-schema.js';
import { renderMobileconfig } from './mobileconfig.js';

export { renderAdml, renderAdmx } from './admx.js';
export * from './constants.js';
export { renderJsonSchema } from './json-schema.js';
export { deterministicUuid, exampleManagedSettings, renderMobileconfig } from './mobileconfig.js';
export { renderPolicyReference, spliceAdminGuide } from './reference.js';
export { escapeXmlAttribute, escapeXmlText } from './xml.js';

/** Every generated file but the admin guide, keyed by its path relative to the repository root. */
export function renderPolicyTemplates(): { path: string; content: string }[] {
  return [
    { path: POLICY_TEMPLATE_PATHS.jsonSchema, content: renderJsonSchema() },
    { path: POLICY_TEMPLATE_PATHS.admx, content: renderAdmx() },
    { path: POLICY_TEMPLATE_PATHS.adml, content: renderAdml() },
    { path: POLICY_TEMPLATE_PATHS.mobileconfig, content: renderMobileconfig() },
  ];
}
