import { sql as m0001 } from './0001-initial.js';
import { sql as m0002 } from './0002-directory-accounts.js';
import { sql as m0003 } from './0003-audit-signing-keys.js';
import { sql as m0004 } from './0004-audit-batches.js';
import { sql as m0005 } from './0005-model-hash-inode.js';
import { sql as m0006 } from './0006-audit-private-text.js';
import { sql as m0007 } from './0007-chat-message-replies.js';
import { sql as m0008 } from './0008-content-keys.js';
import { sql as m0009 } from './0009-sign-in-lockouts.js';
import { sql as m0010 } from './0010-preferences-attestations.js';

/** Numbered migrations, applied in order, each in its own transaction. Append only. */
export const MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  { version: 1, name: 'initial', sql: m0001 },
  { version: 2, name: 'directory accounts', sql: m0002 },
  { version: 3, name: 'audit signing keys', sql: m0003 },
  { version: 4, name: 'audit batches and delivery', sql: m0004 },
  { version: 5, name: 'model hash cache keyed on inode', sql: m0005 },
  { version: 6, name: 'audit private text', sql: m0006 },
  { version: 7, name: 'index of chat message replies', sql: m0007 },
  { version: 8, name: 'per-person chat keys', sql: m0008 },
  { version: 9, name: 'sign-in lockouts', sql: m0009 },
  { version: 10, name: 'preferences and acceptable-use attestations', sql: m0010 },
];
