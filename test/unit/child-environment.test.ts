import { describe, expect, it } from 'vitest';
import { coreChildEnvironment, isDangerousVariable, scrubDangerousEnvironment } from '../../src/main/core/child-environment.js';

const HOSTILE = {
  NODE_OPTIONS: '--require /tmp/evil.js',
  NODE_TLS_REJECT_UNAUTHORIZED: '0',
  NODE_EXTRA_CA_CERTS: '/tmp/mitm-ca.pem',
  NODE_LLAMA_CPP_GPU: 'false',
  HTTPS_PROXY: 'http://proxy.evil:8080',
  http_proxy: 'http://proxy.evil:8080',
  All_Proxy: 'socks5://proxy.evil:1080',
  no_proxy: '*',
  ELECTRON_RUN_AS_NODE: '1',
  LD_PRELOAD: '/tmp/evil.so',
  LD_LIBRARY_PATH: '/tmp/lib',
  DYLD_INSERT_LIBRARIES: '/tmp/evil.dylib',
  OPENSSL_CONF: '/tmp/openssl.cnf',
  SSLKEYLOGFILE: '/tmp/keys.log',
  VK_LAYER_PATH: '/tmp/layers',
  OPENSC_CONF: '/tmp/opensc.conf',
  ENCLAVE_POLICY: '/tmp/policy.json',
  SOME_RANDOM_TOOL_SETTING: 'x',
};

describe("the core's environment", () => {
  it('keeps only what the core needs on Linux, and none of the variables that change Node, TLS, proxies or the linker', () => {
    const env = coreChildEnvironment(
      {
        ...HOSTILE,
        PATH: '/usr/bin:/bin',
        HOME: '/home/nurse',
        LANG: 'en_GB.UTF-8',
        LC_ALL: 'en_GB.UTF-8',
        LC_TIME: 'en_GB.UTF-8',
        TMPDIR: '/tmp',
        XDG_RUNTIME_DIR: '/run/user/1000',
        XDG_CONFIG_HOME: '/home/nurse/.config',
        DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/user/1000/bus',
        SOFTHSM2_CONF: '/etc/softhsm2.conf',
        NODE_ENV: 'production',
        DISPLAY: ':0',
      },
      'linux',
    );
    expect(env).toEqual({
      PATH: '/usr/bin:/bin',
      HOME: '/home/nurse',
      LANG: 'en_GB.UTF-8',
      LC_ALL: 'en_GB.UTF-8',
      LC_TIME: 'en_GB.UTF-8',
      TMPDIR: '/tmp',
      XDG_RUNTIME_DIR: '/run/user/1000',
      XDG_CONFIG_HOME: '/home/nurse/.config',
      DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/user/1000/bus',
      SOFTHSM2_CONF: '/etc/softhsm2.conf',
    });
  });

  it('on Windows keeps the system and profile folders whatever their case, and drops the same dangerous variables', () => {
    const env = coreChildEnvironment(
      {
        ...HOSTILE,
        Path: 'C:\\Windows\\System32',
        SystemRoot: 'C:\\Windows',
        USERPROFILE: 'C:\\Users\\nurse',
        APPDATA: 'C:\\Users\\nurse\\AppData\\Roaming',
        LOCALAPPDATA: 'C:\\Users\\nurse\\AppData\\Local',
        TEMP: 'C:\\Temp',
        TMP: 'C:\\Temp',
        ProgramData: 'C:\\ProgramData',
        'ProgramFiles(x86)': 'C:\\Program Files (x86)',
      },
      'win32',
    );
    expect(Object.keys(env).sort()).toEqual(['APPDATA', 'LOCALAPPDATA', 'Path', 'ProgramData', 'ProgramFiles(x86)', 'SystemRoot', 'TEMP', 'TMP', 'USERPROFILE'].sort());
  });

  it('names every hostile variable dangerous, in any case, and scrubs them from an environment in place', () => {
    for (const name of Object.keys(HOSTILE).filter((n) => !['ENCLAVE_POLICY', 'SOME_RANDOM_TOOL_SETTING'].includes(n))) expect(isDangerousVariable(name), name).toBe(true);
    for (const name of ['PATH', 'HOME', 'NODE_ENV', 'SOFTHSM2_CONF', 'LANG', 'APPDATA']) expect(isDangerousVariable(name), name).toBe(false);
    const env: NodeJS.ProcessEnv = { ...HOSTILE, PATH: '/usr/bin' };
    const removed = scrubDangerousEnvironment(env);
    expect(removed).toContain('NODE_TLS_REJECT_UNAUTHORIZED');
    expect(env).toEqual({ PATH: '/usr/bin', ENCLAVE_POLICY: '/tmp/policy.json', SOME_RANDOM_TOOL_SETTING: 'x' });
  });
});
