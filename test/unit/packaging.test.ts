// The packaging settings a security review checks: Electron fuses, the asar
// archive and what is unpacked from it. A change to any of them must fail here,
// not be noticed in a shipped installer.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(import.meta.url);
// electron-builder's own YAML parser and config code, resolved from where electron-builder finds them.
const builderRequire = createRequire(require.resolve('app-builder-lib/package.json'));
const yaml = builderRequire('js-yaml') as { load(text: string): unknown };
const { validateConfiguration } = builderRequire('./out/util/config/config.js') as {
  validateConfiguration(config: unknown, debugLogger: { isEnabled: boolean; add(key: string, value: unknown): void }): Promise<void>;
};

type Config = Record<string, unknown> & {
  electronFuses?: Record<string, unknown>;
  asarUnpack?: unknown;
};

const config = yaml.load(readFileSync(`${root}electron-builder.yml`, 'utf8')) as Config;

const REQUIRED_FUSES = {
  runAsNode: false,
  enableNodeOptionsEnvironmentVariable: false,
  enableNodeCliInspectArguments: false,
  enableEmbeddedAsarIntegrityValidation: true,
  onlyLoadAppFromAsar: true,
  enableCookieEncryption: true,
} as const;

const REQUIRED_UNPACKED = ['node_modules/better-sqlite3-multiple-ciphers/**', 'node_modules/node-llama-cpp/**', 'node_modules/@node-llama-cpp/**'];

/** @electron/fuses' option for each electron-builder key. */
const FUSE_OPTION: Record<keyof typeof REQUIRED_FUSES, string> = {
  runAsNode: 'RunAsNode',
  enableNodeOptionsEnvironmentVariable: 'EnableNodeOptionsEnvironmentVariable',
  enableNodeCliInspectArguments: 'EnableNodeCliInspectArguments',
  enableEmbeddedAsarIntegrityValidation: 'EnableEmbeddedAsarIntegrityValidation',
  onlyLoadAppFromAsar: 'OnlyLoadAppFromAsar',
  enableCookieEncryption: 'EnableCookieEncryption',
};

describe('electron-builder.yml', () => {
  it('is a configuration electron-builder accepts (misspelt keys are rejected, not ignored)', async () => {
    await expect(validateConfiguration(config, { isEnabled: false, add: () => undefined })).resolves.toBeUndefined();
  });

  it('identifies the app', () => {
    expect(config['appId']).toBe('org.enclave.desktop');
    expect(config['productName']).toBe('Enclave');
  });

  it.each(Object.entries(REQUIRED_FUSES))('sets the fuse %s to %s', (name, value) => {
    expect(config.electronFuses?.[name]).toBe(value);
  });

  it('sets no fuse beyond the reviewed ones without this test being updated', () => {
    expect(Object.keys(config.electronFuses ?? {}).sort()).toEqual(Object.keys(REQUIRED_FUSES).sort());
  });

  it('uses fuse names electron-builder 26 knows', () => {
    const scheme = JSON.parse(readFileSync(builderRequire.resolve('./scheme.json'), 'utf8')) as {
      definitions: { FuseOptionsV1: { properties: Record<string, unknown> } };
    };
    for (const name of Object.keys(REQUIRED_FUSES)) expect(scheme.definitions.FuseOptionsV1.properties).toHaveProperty(name);
  });

  it('turns into exactly the fuse wire electron-builder will flip', async () => {
    const { PlatformPackager } = builderRequire('app-builder-lib') as {
      PlatformPackager: { prototype: { generateFuseConfig(fuses: unknown): Promise<Record<string, unknown>> } };
    };
    const { FuseV1Options } = (await import('@electron/fuses')) as unknown as { FuseV1Options: Record<string, number> };
    const wire = await PlatformPackager.prototype.generateFuseConfig.call({}, config.electronFuses);
    for (const [name, value] of Object.entries(REQUIRED_FUSES)) {
      const option = FuseV1Options[FUSE_OPTION[name as keyof typeof REQUIRED_FUSES]];
      expect(option, `@electron/fuses knows ${name}`).toBeTypeOf('number');
      expect(wire[String(option)], name).toBe(value);
    }
  });

  it('packs the app into an asar archive', () => {
    expect(config['asar']).toBe(true);
  });

  it.each(REQUIRED_UNPACKED)('unpacks the native module %s', (pattern) => {
    expect(Array.isArray(config.asarUnpack)).toBe(true);
    expect(config.asarUnpack).toContain(pattern);
  });

  it('ships the built bundles and the policy, and no update channel', () => {
    expect(config['files']).toEqual(expect.arrayContaining(['out/**', 'resources/policy/**']));
    expect(config['extraResources']).toEqual(expect.arrayContaining([expect.objectContaining({ from: 'resources/policy' })]));
    // An update feed would be network egress the institution did not configure.
    expect(config['publish']).toBeNull();
  });

  it('builds the installers IT deploys', () => {
    const targets = (platform: string): string[] =>
      ((config[platform] as { target?: { target: string }[] } | undefined)?.target ?? []).map((t) => t.target);
    expect(targets('win')).toEqual(expect.arrayContaining(['msi', 'nsis']));
    expect(targets('mac')).toEqual(expect.arrayContaining(['dmg', 'pkg']));
    expect(targets('linux')).toEqual(expect.arrayContaining(['deb', 'AppImage']));
  });
});
