// The English catalog, one module per screen area (an i18next namespace each).
// Each area's module is owned by the code of that area; keys are grouped by
// the component that shows them.
import { audit } from './audit.js';
import { auth } from './auth.js';
import { chat } from './chat.js';
import { common } from './common.js';
import { governance } from './governance.js';
import { model } from './model.js';
import { policy } from './policy.js';
import { shell } from './shell.js';
import { siem } from './siem.js';

export const en = { common, chat, shell, governance, auth, policy, model, audit, siem } as const;
