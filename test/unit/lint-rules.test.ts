// The house rules ESLint enforces (eslint-rules/, wired in eslint.config.js):
// which process may import what, services only through their index.ts, and a
// reason at the top of a long file. Each case names a file where it would lie
// in the tree, since the rules judge an import by where both ends are.
import { RuleTester } from 'eslint';
import { join } from 'node:path';
import tseslint from 'typescript-eslint';
import { describe, it } from 'vitest';
import enclave from '../../eslint-rules/index.js';

RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

const ROOT = join(import.meta.dirname, '..', '..');
const at = (path: string) => join(ROOT, path);
const tester = new RuleTester({ languageOptions: { parser: tseslint.parser, ecmaVersion: 2023, sourceType: 'module' } });

tester.run('enclave/layers', enclave.rules.layers, {
  valid: [
    { filename: at('src/renderer/src/App.tsx'), code: "import { useState } from 'react';\nimport type { CallName } from '../../shared/api.js';" },
    { filename: at('src/main/core/headless.ts'), code: "import { join } from 'node:path';\nimport { ERROR_CODES } from '../../shared/errors.js';\nimport { openStore } from '../store/index.js';" },
    { filename: at('src/shared/api.ts'), code: "import { z } from 'zod';\nimport { ROLES } from './roles.js';" },
    { filename: at('src/preload/index.ts'), code: "import { contextBridge } from 'electron';\nimport { createBridge } from '../shared/bridge.js';" },
    { filename: at('src/main/index.ts'), code: "import { app } from 'electron';" },
    { filename: at('src/main/electron/window.ts'), code: "import { BrowserWindow } from 'electron';" },
    { filename: at('src/main/core/version.ts'), code: "import packageJson from '../../../package.json' with { type: 'json' };" },
    { filename: at('src/main/policy/templates.ts'), code: "import evaluation from '../../../resources/policy/evaluation.json' with { type: 'json' };" },
    // Tests and scripts are not layered.
    { filename: at('test/unit/x.test.ts'), code: "import { app } from 'electron';\nimport { readFileSync } from 'node:fs';" },
  ],
  invalid: [
    { filename: at('src/shared/local-path.ts'), code: "import { isAbsolute } from 'node:path';", errors: [{ messageId: 'nodeInLayer' }] },
    { filename: at('src/shared/api.ts'), code: "import { Buffer } from 'buffer';", errors: [{ messageId: 'nodeInLayer' }] },
    { filename: at('src/shared/api.ts'), code: "import { DATABASE_FILE } from '../main/store/index.js';", errors: [{ messageId: 'crossLayer' }] },
    { filename: at('src/shared/api.ts'), code: "export * from '../renderer/src/format.js';", errors: [{ messageId: 'crossLayer' }] },
    { filename: at('src/shared/api.ts'), code: "type Stats = import('node:fs').Stats;", errors: [{ messageId: 'nodeInLayer' }] },
    { filename: at('src/shared/api.ts'), code: "export async function load() { return import('node:fs'); }", errors: [{ messageId: 'nodeInLayer' }] },
    { filename: at('src/renderer/src/App.tsx'), code: "import { openStore } from '../../main/store/index.js';", errors: [{ messageId: 'crossLayer' }] },
    { filename: at('src/renderer/src/App.tsx'), code: "import { readFileSync } from 'fs';", errors: [{ messageId: 'nodeInLayer' }] },
    { filename: at('src/renderer/src/App.tsx'), code: "import { ipcRenderer } from 'electron';", errors: [{ messageId: 'electron' }] },
    { filename: at('src/preload/index.ts'), code: "import { z } from 'zod';", errors: [{ messageId: 'preloadPackage' }] },
    { filename: at('src/preload/index.ts'), code: "import { CALL_CHANNEL } from '../main/electron/ipc-relay.js';", errors: [{ messageId: 'crossLayer' }] },
    { filename: at('src/main/core/index.ts'), code: "import { safeStorage } from 'electron';", errors: [{ messageId: 'electron' }] },
    { filename: at('src/main/cli/main.ts'), code: "const { app } = require('electron');", errors: [{ messageId: 'electron' }] },
    { filename: at('src/main/store/index.ts'), code: "import { makeTemp } from '../../../test/support/temp.js';", errors: [{ messageId: 'outsideSrc' }] },
  ],
});

const alsoPublic = [{ alsoPublic: ['src/main/core/version.ts'] }];
tester.run('enclave/front-door', enclave.rules['front-door'], {
  valid: [
    { filename: at('src/main/cli/enroll.ts'), code: "import { openStore } from '../store/index.js';" },
    { filename: at('src/main/cli/doctor/database.ts'), code: "import { openStore } from '../../store/index.js';\nimport { fail } from './check.js';\nimport { runCli } from '../main.js';" },
    { filename: at('src/main/index.ts'), code: "import { startCoreHost } from './electron/index.js';" },
    { filename: at('src/main/cli/main.ts'), code: "import { ENCLAVE_VERSION } from '../core/version.js';", options: alsoPublic },
    { filename: at('src/main/cli/main.ts'), code: "import { CALL_CHANNEL } from '../../shared/channels.js';" },
  ],
  invalid: [
    { filename: at('src/main/siem/outbox.ts'), code: "import { asReadable } from '../store/handles.js';", errors: [{ messageId: 'sideDoor' }] },
    { filename: at('src/main/cli/doctor/tls-probe.ts'), code: "import { classify } from '../../siem/tls-errors.js';", errors: [{ messageId: 'sideDoor' }] },
    { filename: at('src/main/index.ts'), code: "import { createMainWindow } from './electron/window.js';", errors: [{ messageId: 'sideDoor' }] },
    { filename: at('src/main/index.ts'), code: "void import('./cli/main.js');", errors: [{ messageId: 'sideDoor' }] },
    { filename: at('src/main/cli/main.ts'), code: "import { ENCLAVE_VERSION } from '../core/version.js';", errors: [{ messageId: 'sideDoor' }] },
    { filename: at('src/main/inference/chat.ts'), code: "export { hashPassword } from '../identity/password.js';", errors: [{ messageId: 'sideDoor' }] },
  ],
});

const long = (lines: number) => Array.from({ length: lines }, (_, i) => `export const line${i} = ${i};`).join('\n');
const max = [{ max: 3 }];
tester.run('enclave/long-file-reason', enclave.rules['long-file-reason'], {
  valid: [
    { filename: at('src/main/a.ts'), code: long(3), options: max },
    { filename: at('src/main/a.ts'), code: `${long(3)}\n`, options: max },
    { filename: at('src/main/a.ts'), code: `// What this file is.\n// Over 3 lines because the table reads best whole.\n${long(3)}`, options: max },
    { filename: at('src/main/a.ts'), code: `/* Over 3 lines\n   because the table reads best whole. */\n${long(3)}`, options: max },
  ],
  invalid: [
    { filename: at('src/main/a.ts'), code: long(4), options: max, errors: [{ messageId: 'noReason' }] },
    // The reason belongs at the top, not somewhere inside.
    { filename: at('src/main/a.ts'), code: `${long(2)}\n// Over 3 lines because it is.\n${long(2)}`, options: max, errors: [{ messageId: 'noReason' }] },
  ],
});

tester.run('enclave/no-literal-text', enclave.rules['no-literal-text'], {
  valid: [
    { filename: at('src/renderer/src/components/A.tsx'), code: "const a = <p>{t('auth:signIn.title')}</p>;", languageOptions: { parserOptions: { ecmaFeatures: { jsx: true } } } },
    // Symbols and numbers are not text to translate; data comes in through expressions.
    {
      filename: at('src/renderer/src/components/A.tsx'),
      code: 'const a = <button aria-label={t(\'close\')} className="btn">×</button>;',
      languageOptions: { parserOptions: { ecmaFeatures: { jsx: true } } },
    },
    { filename: at('src/renderer/src/components/A.tsx'), code: 'const a = <span>{user.name} · {count}</span>;', languageOptions: { parserOptions: { ecmaFeatures: { jsx: true } } } },
  ],
  invalid: [
    { filename: at('src/renderer/src/components/A.tsx'), code: 'const a = <p>Sign in</p>;', languageOptions: { parserOptions: { ecmaFeatures: { jsx: true } } }, errors: [{ messageId: 'text' }] },
    { filename: at('src/renderer/src/components/A.tsx'), code: "const a = <p>{'Sign in'}</p>;", languageOptions: { parserOptions: { ecmaFeatures: { jsx: true } } }, errors: [{ messageId: 'text' }] },
    {
      filename: at('src/renderer/src/components/A.tsx'),
      code: 'const a = <input placeholder="Search" />;',
      languageOptions: { parserOptions: { ecmaFeatures: { jsx: true } } },
      errors: [{ messageId: 'attribute' }],
    },
    {
      filename: at('src/renderer/src/components/A.tsx'),
      code: "const a = <div aria-label={'Audit delivery'} />;",
      languageOptions: { parserOptions: { ecmaFeatures: { jsx: true } } },
      errors: [{ messageId: 'attribute' }],
    },
  ],
});
