// Front door of the desktop service: the desktop shell's decisions as plain
// Node, so they can be tested without Electron. src/main/index.ts and
// src/main/electron/ apply them: which command-line switches the installed app
// refuses, what app:// serves, the key store backends it accepts (in keys/),
// and the Linux desktop's screen lock over D-Bus.
export { findForbiddenSwitches, forbiddenSwitchMessage, FORBIDDEN_SWITCH_NAMES, switchName, type SwitchCheckInput } from './forbidden-switches.js';
export { APP_HOST, APP_ORIGIN, APP_PAGE_URL, APP_SCHEME, APP_SCHEME_PRIVILEGES, appResponseHeaders, isServableAppUrl, resolveAppRequest, type AppRequestResolution } from './app-protocol.js';
export { busAddressesFromEnv, SCREENSAVER_INTERFACES, watchLinuxScreenLock, type ScreenLockWatch, type ScreenLockWatchOptions } from './screen-lock.js';
