// Which OS key store may wrap the database key. Pure: electron/key-protector.ts
// asks Electron's safeStorage which backend it chose, reads the record of the
// backend that wrapped the key (database-key.backend.json beside the wrapped
// key), and calls decideKeyStore before unwrapping or wrapping anything.
//
// On Linux Electron picks the backend from the desktop: libsecret (GNOME
// Keyring, KeePassXC, ...) or KWallet; on a desktop it does not recognise, or
// with --password-store=basic, it falls back to "basic_text", a fixed password
// built into Chromium, so the wrapped key is as good as in the clear. On
// Windows (DPAPI) and macOS (Keychain) there is no choice.
import { z } from 'zod';

/** What safeStorage.getSelectedStorageBackend() reports on Linux. */
export const LINUX_KEY_STORE_BACKENDS = ['basic_text', 'gnome_libsecret', 'kwallet', 'kwallet5', 'kwallet6', 'unknown'] as const;
export type LinuxKeyStoreBackend = (typeof LINUX_KEY_STORE_BACKENDS)[number];
/** The backend names Enclave records: Linux's as Electron reports them, and one fixed name each for Windows and macOS. */
export type KeyStoreBackend = LinuxKeyStoreBackend | 'dpapi' | 'keychain';

/**
 * How much a backend protects the key, for the "never weaker" rule:
 * 2, a key store that holds a secret of this user (DPAPI, Keychain,
 * libsecret, KWallet); 1, basic_text (a fixed, public password); 0, unknown
 * (nothing is known to protect it). A recorded name Enclave does not know
 * (a damaged or future record) counts as 2, so it can only be followed by a
 * real key store.
 */
export function backendStrength(backend: string): 0 | 1 | 2 {
  if (backend === 'unknown') return 0;
  if (backend === 'basic_text') return 1;
  return 2;
}

/** The backend that protects the key on this platform: Electron's report on Linux, the fixed one elsewhere. */
export function effectiveBackend(platform: NodeJS.Platform, reportedLinuxBackend: string): KeyStoreBackend {
  if (platform === 'win32') return 'dpapi';
  if (platform === 'darwin') return 'keychain';
  return (LINUX_KEY_STORE_BACKENDS as readonly string[]).includes(reportedLinuxBackend) ? (reportedLinuxBackend as LinuxKeyStoreBackend) : 'unknown';
}

/** For the person at the screen and the log. */
export function describeBackend(backend: string): string {
  switch (backend) {
    case 'dpapi':
      return 'Windows DPAPI';
    case 'keychain':
      return 'the macOS Keychain';
    case 'gnome_libsecret':
      return 'the Secret Service (libsecret: GNOME Keyring or compatible)';
    case 'kwallet':
    case 'kwallet5':
    case 'kwallet6':
      return `KWallet (${backend})`;
    case 'basic_text':
      return 'Chromium’s built-in fixed password ("basic_text"), which protects nothing';
    case 'unknown':
      return 'no known key store ("unknown")';
    case DAMAGED_RECORD:
      return 'a key store named in a damaged record (database-key.backend.json)';
    default:
      return `"${backend.slice(0, 40)}"`;
  }
}

export interface KeyStoreDecisionInput {
  platform: NodeJS.Platform;
  /** effectiveBackend(...) now. */
  backend: KeyStoreBackend;
  /** The backend recorded when the key was last wrapped; null when there is no record (a new key, or a key wrapped before records were kept). */
  recordedBackend: string | null;
  /** True unless a valid policy says mode "evaluation" (an invalid policy counts as managed). */
  managed: boolean;
}

export type KeyStoreDecision =
  | {
      allowed: true;
      backend: KeyStoreBackend;
      /** Wrap the key again under `backend` and record it: there is no record yet, or the backend now is stronger than the recorded one. */
      rewrap: boolean;
      /** A warning for the log (evaluation with a backend that protects nothing). */
      warning: string | null;
    }
  | { allowed: false; message: string };

const LINUX_KEY_STORE_HELP =
  'Install and unlock a desktop key store for this session: GNOME Keyring (packages gnome-keyring and libsecret-1-0) or KWallet, ' +
  'on a desktop that Electron recognises (GNOME, KDE Plasma, Cinnamon, XFCE and others of that family), then start Enclave again. ' +
  'Enclave must also not be started with --password-store.';

/**
 * Whether the key store backend may wrap or unwrap the database key:
 * - never one weaker than the one that wrapped the key last (recorded), in any
 *   mode: that is a key store that is not running or not unlocked, or a start
 *   with --password-store=basic, and would leave the key under a fixed password;
 * - under managed policy (or an invalid one), never basic_text or unknown:
 *   Enclave refuses to start, as when there is no key store at all;
 * - under evaluation policy, basic_text and unknown are allowed, with a warning.
 */
export function decideKeyStore(input: KeyStoreDecisionInput): KeyStoreDecision {
  const { backend, recordedBackend, managed } = input;
  const strength = backendStrength(backend);
  if (recordedBackend !== null && strength < backendStrength(recordedBackend)) {
    return {
      allowed: false,
      message:
        `The database key was wrapped by ${describeBackend(recordedBackend)}, but this start would use ${describeBackend(backend)}, which is weaker. ` +
        'Enclave never moves its key to a weaker key store. ' +
        (input.platform === 'linux' ? LINUX_KEY_STORE_HELP : 'Start Enclave from a normal desktop session of your own account.') +
        ' Nothing was changed. If the problem stays, contact IT.',
    };
  }
  if (strength < 2 && managed) {
    return {
      allowed: false,
      message: `Enclave keeps its database key only in an OS key store, and this desktop session offers ${describeBackend(backend)}. ` + `${LINUX_KEY_STORE_HELP} If the problem stays, contact IT.`,
    };
  }
  const warning =
    strength < 2
      ? `[key] WARNING: evaluation mode: the database key is wrapped by ${describeBackend(backend)}; on this workstation it is effectively in the clear. ` +
        'A managed policy refuses to start like this. Install and unlock GNOME Keyring or KWallet.'
      : null;
  const rewrap = recordedBackend === null || strength > backendStrength(recordedBackend) || (recordedBackend !== backend && strength === 2 && !isKnownBackend(recordedBackend));
  return { allowed: true, backend, rewrap, warning };
}

function isKnownBackend(name: string): boolean {
  return (LINUX_KEY_STORE_BACKENDS as readonly string[]).includes(name) || name === 'dpapi' || name === 'keychain';
}

/** database-key.backend.json: which backend wrapped database-key.wrapped. */
export const BackendRecordSchema = z
  .object({
    format: z.literal(1),
    backend: z.string().min(1).max(64),
  })
  .strict();
export type BackendRecord = z.infer<typeof BackendRecordSchema>;

/**
 * The recorded backend from the record file's text; null when there is no
 * file. A file that does not parse counts as a record of an unknown name, which
 * decideKeyStore treats as the strongest (a damaged record must not open the
 * way to a weaker store); the next successful wrap replaces it.
 */
export function parseBackendRecord(text: string | null): string | null {
  if (text === null) return null;
  try {
    const parsed = BackendRecordSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data.backend : DAMAGED_RECORD;
  } catch {
    return DAMAGED_RECORD;
  }
}

/** What a damaged record reads as: no backend has this name, so it ranks as the strongest. */
export const DAMAGED_RECORD = 'damaged-record';

export function formatBackendRecord(backend: KeyStoreBackend): string {
  return `${JSON.stringify({ format: 1, backend } satisfies BackendRecord)}\n`;
}
