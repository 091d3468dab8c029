// The JSON Schema for /etc/enclave/policy.json and editors.
import { policyJsonSchema } from '../catalog.js';
import { POLICY_SCHEMA_ID } from './constants.js';

export function renderJsonSchema(): string {
  const { $schema, ...rest } = policyJsonSchema();
  const document = {
    $schema,
    $id: POLICY_SCHEMA_ID,
    title: 'Enclave managed policy',
    description:
      'The policy an institution sets for Enclave: /etc/enclave/policy.json (and policy.d/*.json) on Linux, and the same structure in the registry (Group Policy) and in macOS managed preferences. Generated from the schema by npm run generate:policy.',
    ...rest,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
