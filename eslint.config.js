// ESLint for the whole repository: `npm run lint` (part of `npm test`).
// The house rules the compiler cannot see are here: which process may import
// what (enclave/layers), services only through their index.ts
// (enclave/front-door), no `any`, and a reason at the top of a long file
// (enclave/long-file-reason). The rules themselves: eslint-rules/.
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import enclave from './eslint-rules/index.js';

export default tseslint.config(
  {
    ignores: ['out/', 'dist/', 'release/', 'coverage/', 'llama/', '.enclave-test/', '.test-reports/', 'test-results/', 'build/', 'resources/'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { ...globals.node } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    plugins: { enclave },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // import type / inline `type` for types (verbatimModuleSyntax wants it); `import('x').T` in an annotation is fine.
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      // A `let` assigned once, later, and read by closures made before that (timers, services wired to each other).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // Matching control characters is what these patterns are for: untrusted text is checked or cleaned of them.
      'no-control-regex': 'off',
    },
  },
  {
    files: ['src/**/*.{ts,tsx}'],
    rules: {
      'enclave/layers': 'error',
      'enclave/front-door': [
        'error',
        {
          // Small modules the main entry, the Electron shell and the CLI load
          // without loading the core (core/index.ts brings the database, the
          // model runtime and every service with it).
          alsoPublic: ['src/main/core/version.ts', 'src/main/core/child-environment.ts', 'src/main/core/process-hardening.ts'],
        },
      ],
      'enclave/long-file-reason': ['error', { max: 500 }],
    },
  },
  {
    files: ['src/renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'warn',
    },
  },
  {
    // Every screen's text is in the string catalog (src/renderer/src/i18n): the pseudo-locale build shows what is not.
    files: ['src/renderer/src/**/*.tsx'],
    rules: { 'enclave/no-literal-text': 'error' },
  },
  {
    // The page code of the end-to-end tests runs in the browser.
    files: ['test/e2e/**/*.ts'],
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    // Playwright reads a fixture's dependencies from its first parameter's pattern: `async ({}, use) =>` is how one says none.
    rules: { 'no-empty-pattern': 'off' },
  },
);
