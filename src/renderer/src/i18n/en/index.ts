// The English catalog, one module per screen area (an i18next namespace each).
// Each area's module is owned by the code of that area; keys are grouped by
// the component that shows them.
import { chat } from './chat.js';
import { common } from './common.js';
import { governance } from './governance.js';
import { shell } from './shell.js';

export const en = { common, chat, shell, governance } as const;
