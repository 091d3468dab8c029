// The environment the core runs with. The core holds the database key, the
// directory passwords as they are typed and every prompt, and it connects to
// domain controllers and SIEMs; whoever starts Enclave chooses its
// environment, and several variables change how Node or the libraries below it
// behave: NODE_OPTIONS (--require, --inspect), NODE_TLS_REJECT_UNAUTHORIZED=0
// (any certificate accepted where an option leaves verification unset),
// NODE_EXTRA_CA_CERTS (a CA of the user's choosing), proxies, LD_PRELOAD,
// DYLD_INSERT_LIBRARIES, OPENSSL_CONF (engines and providers loaded as code),
// ELECTRON_RUN_AS_NODE, node-llama-cpp's own NODE_LLAMA_CPP_* switches.
//
// - The desktop app starts the core (an Electron utilityProcess) with only the
//   variables on an allow-list: coreChildEnvironment().
// - The headless core and the `enclave` command run in a process someone else
//   started, so they delete the dangerous ones from their own environment at
//   start: scrubDangerousEnvironment(). NODE_TLS_REJECT_UNAUTHORIZED is read
//   at each connection, so deleting it early takes effect; NODE_OPTIONS and
//   LD_PRELOAD have already acted on this process, but no child inherits them.

/** Kept on every platform: where programs, the home folder and temporary files are, language and time zone. */
const COMMON = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'TEMP', 'TMP'];

/**
 * Linux desktops: the XDG folders (node-llama-cpp and the OS key store look
 * there), the session bus (screen-lock and key-store services), the GPU
 * choice an administrator may have made. SOFTHSM2_CONF only tells SoftHSM
 * (the lab PKCS#11 module, chosen by policy) where its token folder is, and
 * loads no code; OPENSC_CONF can name driver libraries to load, so it is not
 * kept.
 */
const POSIX = [
  'XDG_RUNTIME_DIR',
  'XDG_CONFIG_HOME',
  'XDG_DATA_HOME',
  'XDG_CACHE_HOME',
  'XDG_CONFIG_DIRS',
  'XDG_DATA_DIRS',
  'XDG_SESSION_TYPE',
  'XDG_CURRENT_DESKTOP',
  'DBUS_SESSION_BUS_ADDRESS',
  'CUDA_VISIBLE_DEVICES',
  'SOFTHSM2_CONF',
];

/** Windows: the system and profile folders (registry policy values expand them, %ProgramData% and friends), the machine and user names. */
const WINDOWS = [
  'SystemRoot',
  'windir',
  'SystemDrive',
  'ComSpec',
  'PATHEXT',
  'ProgramFiles',
  'ProgramFiles(x86)',
  'ProgramW6432',
  'ProgramData',
  'CommonProgramFiles',
  'CommonProgramFiles(x86)',
  'CommonProgramW6432',
  'ALLUSERSPROFILE',
  'PUBLIC',
  'USERPROFILE',
  'APPDATA',
  'LOCALAPPDATA',
  'HOMEDRIVE',
  'HOMEPATH',
  'USERNAME',
  'USERDOMAIN',
  'COMPUTERNAME',
  'NUMBER_OF_PROCESSORS',
  'PROCESSOR_ARCHITECTURE',
  'OS',
  'CUDA_VISIBLE_DEVICES',
  'SOFTHSM2_CONF',
];

/** Locale categories (LC_ALL, LC_CTYPE, ...). */
const LOCALE = /^LC_[A-Z]+$/;

/**
 * The core's environment: only the variables it needs, from `parent`.
 * Windows compares names without case (Path is PATH), as Windows does.
 */
export function coreChildEnvironment(parent: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): Record<string, string> {
  const windows = platform === 'win32';
  const allowed = new Set((windows ? [...COMMON, ...WINDOWS] : [...COMMON, ...POSIX]).map((name) => (windows ? name.toUpperCase() : name)));
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value === undefined) continue;
    const key = windows ? name.toUpperCase() : name;
    if (allowed.has(key) || LOCALE.test(key)) env[name] = value;
  }
  return env;
}

/** Variables that change how Node, OpenSSL, the dynamic linker or Electron behave, or where connections go. */
export function isDangerousVariable(name: string): boolean {
  const upper = name.toUpperCase();
  return (
    (upper.startsWith('NODE_') && upper !== 'NODE_ENV') || // NODE_OPTIONS, NODE_TLS_REJECT_UNAUTHORIZED, NODE_EXTRA_CA_CERTS, NODE_PATH, NODE_LLAMA_CPP_*
    upper.startsWith('ELECTRON_') || // ELECTRON_RUN_AS_NODE, ELECTRON_NO_ASAR, ...
    upper.startsWith('LD_') || // LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT
    upper.startsWith('DYLD_') || // DYLD_INSERT_LIBRARIES, ...
    upper.startsWith('OPENSSL_') || // OPENSSL_CONF, OPENSSL_MODULES, OPENSSL_ENGINES
    upper.startsWith('SSL_CERT_') || // SSL_CERT_FILE, SSL_CERT_DIR
    upper === 'SSLKEYLOGFILE' ||
    /^(HTTPS?|ALL|NO|FTP|GRPC)_PROXY$/.test(upper) ||
    upper === 'GLOBAL_AGENT_HTTP_PROXY' ||
    upper.startsWith('VK_') || // VK_ICD_FILENAMES, VK_LAYER_PATH, VK_INSTANCE_LAYERS: Vulkan loads code from them
    upper === 'OPENSC_CONF'
  );
}

/** Deletes the dangerous variables from `env` (default: this process's own); returns their names, for a log line. */
export function scrubDangerousEnvironment(env: NodeJS.ProcessEnv = process.env): string[] {
  const removed = Object.keys(env).filter(isDangerousVariable);
  for (const name of removed) delete env[name];
  return removed;
}
