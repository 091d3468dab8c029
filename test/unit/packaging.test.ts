// The packaging settings a security review checks: Electron fuses, the asar
// archive and what is unpacked from it. A change to any of them must fail here,
// not be noticed in a shipped installer.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
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

const { Minimatch } = builderRequire('minimatch') as { Minimatch: new (pattern: string, options: { dot: boolean }) => { match(path: string): boolean } };

type Section = Record<string, unknown>;
type Config = Record<string, unknown> & {
  electronFuses?: Record<string, unknown>;
  asarUnpack?: unknown;
  files?: unknown;
  extraMetadata?: { author?: { name?: string }; homepage?: string };
  msi?: Section;
  nsis?: Section;
  deb?: Section;
  rpm?: Section;
  linux?: Section;
  pkg?: Section;
};

const config = yaml.load(readFileSync(`${root}electron-builder.yml`, 'utf8')) as Config;

const REQUIRED_FUSES = {
  runAsNode: false,
  enableNodeOptionsEnvironmentVariable: false,
  enableNodeCliInspectArguments: false,
  enableEmbeddedAsarIntegrityValidation: true,
  onlyLoadAppFromAsar: true,
  enableCookieEncryption: true,
  grantFileProtocolExtraPrivileges: false,
} as const;

const REQUIRED_UNPACKED = ['node_modules/better-sqlite3-multiple-ciphers/**', 'node_modules/node-llama-cpp/**', 'node_modules/@node-llama-cpp/**', 'node_modules/pkcs11js/**'];

/**
 * Windows Installer treats a newer MSI as an upgrade of the installed product only
 * when both carry this code. It was generated once and must never change: a new
 * code would make every workstation keep the old version beside the new one.
 */
const UPGRADE_CODE = 'DFA721B4-FE1D-4894-80C3-56B6A3527B96';

/** The executable every Enclave process runs as on Windows, and WER's key that excludes it. */
const EXECUTABLE = 'Enclave.exe';
const WER_EXCLUDED_KEY = 'SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\ExcludedApplications';

/** The WiX project electron-builder would write for this configuration, from its own template and code. */
async function generatedWxs(): Promise<string> {
  builderRequire('app-builder-lib'); // load order: the target modules need the package's index first
  const MsiTarget = (builderRequire('./out/targets/MsiTarget.js') as { default: new (packager: unknown, outDir: string) => MsiTargetLike }).default;
  const { getEffectiveOptions } = builderRequire('./out/options/CommonWindowsInstallerConfiguration.js') as {
    getEffectiveOptions(options: unknown, packager: unknown): unknown;
  };
  const { Arch } = builderRequire('builder-util') as { Arch: { x64: number } };
  interface MsiTargetLike {
    options: unknown;
    writeManifest(appOutDir: string, arch: number, commonOptions: unknown): Promise<string>;
  }
  // The identity electron-builder would take from package.json; the rest of the
  // project file comes from electron-builder's own template and code.
  const packager = {
    config,
    platformSpecificBuildOptions: config['win'],
    appInfo: {
      id: config['appId'],
      productName: 'Enclave',
      productFilename: 'Enclave',
      sanitizedProductName: 'Enclave',
      companyName: config.extraMetadata?.author?.name,
      description: 'Enclave',
      getVersionInWeirdWindowsForm: () => '1.2.3.0',
    },
    getIconPath: async () => null,
    compression: 'normal',
    fileAssociations: [],
    expandMacro: (s: string) => s,
  };
  const appOutDir = mkdtempSync(join(tmpdir(), 'enclave-msi-'));
  try {
    writeFileSync(join(appOutDir, `${config['productName'] as string}.exe`), '');
    const target = new MsiTarget(packager, join(appOutDir, 'out'));
    return await target.writeManifest(appOutDir, Arch.x64, getEffectiveOptions(target.options, packager));
  } finally {
    rmSync(appOutDir, { recursive: true, force: true });
  }
}

/** @electron/fuses' option for each electron-builder key. */
const FUSE_OPTION: Record<keyof typeof REQUIRED_FUSES, string> = {
  runAsNode: 'RunAsNode',
  enableNodeOptionsEnvironmentVariable: 'EnableNodeOptionsEnvironmentVariable',
  enableNodeCliInspectArguments: 'EnableNodeCliInspectArguments',
  enableEmbeddedAsarIntegrityValidation: 'EnableEmbeddedAsarIntegrityValidation',
  onlyLoadAppFromAsar: 'OnlyLoadAppFromAsar',
  enableCookieEncryption: 'EnableCookieEncryption',
  grantFileProtocolExtraPrivileges: 'GrantFileProtocolExtraPrivileges',
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
    const targets = (platform: string): string[] => ((config[platform] as { target?: { target: string }[] } | undefined)?.target ?? []).map((t) => t.target);
    expect(targets('win')).toEqual(expect.arrayContaining(['msi', 'nsis']));
    expect(targets('mac')).toEqual(expect.arrayContaining(['dmg', 'pkg']));
    expect(targets('linux')).toEqual(expect.arrayContaining(['deb', 'AppImage']));
  });
});

// ---------------------------------------------------------------------------
// What IT and a security review rely on beyond the fuses.

const targets = (platform: string): string[] => ((config[platform] as { target?: { target: string }[] } | undefined)?.target ?? []).map((t) => t.target);

describe('electron-builder.yml: installers for managed deployment', () => {
  it('builds MSI and NSIS for Windows, deb, rpm and AppImage for Linux, pkg for macOS', () => {
    expect(targets('win')).toEqual(expect.arrayContaining(['msi', 'nsis']));
    expect(targets('linux')).toEqual(expect.arrayContaining(['deb', 'rpm', 'AppImage']));
    expect(targets('mac')).toEqual(expect.arrayContaining(['pkg']));
  });

  it('MSI: per machine, a fixed UpgradeCode, nothing started or asked at the end', () => {
    const msi = config.msi ?? {};
    expect(msi['perMachine']).toBe(true);
    expect(msi['upgradeCode']).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
    expect(msi['upgradeCode'], 'the UpgradeCode must never change').toBe(UPGRADE_CODE);
    expect(msi['runAfterFinish']).toBe(false);
    expect(msi['createDesktopShortcut']).toBe(false);
    // oneClick: false would add the WiX dialogs; the silent install does not need them.
    expect(msi['oneClick']).not.toBe(false);
  });

  it('MSI: the WiX project electron-builder generates installs silently, per machine, as an upgrade', async () => {
    const wxs = await generatedWxs();
    expect(wxs).toContain(`UpgradeCode="${UPGRADE_CODE}"`);
    expect(wxs).toContain('<MajorUpgrade ');
    expect(wxs).toContain('Manufacturer="Enclave contributors"');
    expect(wxs).toMatch(/<Property Id="ALLUSERS" Secure="yes" Value="1"\/>/); // per machine
    expect(wxs).toContain('<Directory Id="ProgramFiles64Folder">');
    expect(wxs).not.toContain('runAfterFinish'); // no custom action that starts the app (as SYSTEM, under Intune)
    expect(wxs).not.toContain('<UIRef'); // no dialogs
    expect(wxs).not.toContain('DesktopFolder');
  });

  it('MSI: excludes Enclave.exe from Windows Error Reporting (HKLM, 64-bit view), as a component uninstall removes', async () => {
    expect(config['msiProjectCreated']).toBe('./build/msi-wer-exclusion.cjs');
    const hook = require(`${root}build/msi-wer-exclusion.cjs`) as { default: (projectFile: string) => Promise<void> };
    const dir = mkdtempSync(join(tmpdir(), 'enclave-wxs-'));
    try {
      const projectFile = join(dir, 'project.wxs');
      writeFileSync(projectFile, await generatedWxs());
      await hook.default(projectFile);
      const wxs = readFileSync(projectFile, 'utf8');
      const group = /<ComponentGroup Id="ProductComponents"[^>]*>([\s\S]*?)<\/ComponentGroup>/.exec(wxs)?.[1] ?? '';
      const component = /<Component Id="EnclaveWerExclusion" Guid="\{[0-9A-F-]{36}\}" Win64="yes">([\s\S]*?)<\/Component>/.exec(group)?.[1];
      expect(component, 'the exclusion is a component of the product').toBeDefined();
      expect(component).toContain(`<RegistryValue Root="HKLM" Key="${WER_EXCLUDED_KEY}" Name="${EXECUTABLE}" Type="integer" Value="1" KeyPath="yes"/>`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('NSIS: writes the same Windows Error Reporting exclusion at install and removes it at uninstall (not on update)', () => {
    expect(config.nsis?.['include']).toBe('build/installer.nsh');
    const script = readFileSync(`${root}build/installer.nsh`, 'utf8');
    const macro = (name: string): string => new RegExp(`!macro ${name}\\n([\\s\\S]*?)!macroend`).exec(script)?.[1] ?? '';
    const defined = (name: string): string | undefined => new RegExp(`!define ${name} "([^"]*)"`).exec(script)?.[1];
    expect(defined('ENCLAVE_WER_EXCLUDED_KEY')).toBe(WER_EXCLUDED_KEY);
    expect(defined('ENCLAVE_WER_EXCLUDED_NAME')).toBe(EXECUTABLE);
    expect(macro('customInstall')).toMatch(/SetRegView 64\s+WriteRegDWORD HKLM "\$\{ENCLAVE_WER_EXCLUDED_KEY\}" "\$\{ENCLAVE_WER_EXCLUDED_NAME\}" 1\s+SetRegView lastused/);
    expect(macro('customUnInstall')).toMatch(
      /\$\{ifNot\} \$\{isUpdated\}\s+SetRegView 64\s+DeleteRegValue HKLM "\$\{ENCLAVE_WER_EXCLUDED_KEY\}" "\$\{ENCLAVE_WER_EXCLUDED_NAME\}"\s+SetRegView lastused\s+\$\{endIf\}/,
    );
    // No LocalDumps key: its presence would turn local dumps on.
    expect(script).not.toMatch(/^\s*WriteReg\w+ .*LocalDumps/m);
  });

  it('names the installers without spaces, so deployment scripts need no quoting', () => {
    for (const section of [config.msi, config.nsis, config.pkg]) expect(section?.['artifactName']).toMatch(/^[^\s]+$/);
  });

  it('NSIS: per machine, asks no questions under /S, keeps the encrypted data on uninstall', () => {
    const nsis = config.nsis ?? {};
    expect(nsis['oneClick']).toBe(false);
    expect(nsis['perMachine']).toBe(true);
    expect(nsis['runAfterFinish']).toBe(false);
    expect(nsis['createDesktopShortcut']).toBe(false);
    expect(nsis['deleteAppDataOnUninstall']).toBe(false);
  });

  it('macOS pkg: always into /Applications', () => {
    expect(config.pkg?.['installLocation']).toBe('/Applications');
    expect(config.pkg?.['isRelocatable']).toBe(false);
  });

  it('deb and rpm: what fpm needs (maintainer with an address, homepage) and a package description', () => {
    const linux = config.linux ?? {};
    expect(linux['maintainer']).toMatch(/^[^<>]+ <[^@<>\s]+@[^@<>\s]+>$/);
    expect(linux['vendor']).toEqual(expect.any(String));
    expect(linux['synopsis']).toEqual(expect.any(String));
    expect(String(linux['description']).length).toBeGreaterThan(80);
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { homepage?: string };
    // electron-builder refuses to build deb/rpm without a homepage.
    expect(pkg.homepage ?? config.extraMetadata?.homepage).toMatch(/^https:\/\//);
    // The MSI's Manufacturer.
    expect(config.extraMetadata?.author?.name).toEqual(expect.any(String));
  });

  it('deb and rpm depend on libsecret, which wraps the database key (Electron safeStorage)', () => {
    expect(config.deb?.['depends']).toEqual(expect.arrayContaining(['libsecret-1-0', 'libnss3', 'libgtk-3-0']));
    expect(config.rpm?.['depends']).toEqual(expect.arrayContaining(['libsecret', 'nss', 'gtk3']));
  });
});

describe('electron-builder.yml: no update channel', () => {
  it('publishes nowhere, on no platform and in no target', () => {
    expect(config['publish']).toBeNull();
    const found: string[] = [];
    const visit = (value: unknown, path: string): void => {
      if (value === null || typeof value !== 'object') return;
      for (const [key, child] of Object.entries(value)) {
        const at = path ? `${path}.${key}` : key;
        if (key === 'publish' && at !== 'publish') found.push(at);
        visit(child, at);
      }
    };
    visit(config, '');
    expect(found, 'a publish entry below the top level would configure an update feed').toEqual([]);
    expect(config).not.toHaveProperty('detectUpdateChannel');
    expect(config).not.toHaveProperty('generateUpdatesFilesForAllChannels', true);
  });

  it('does not ship electron-updater', () => {
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { dependencies?: Record<string, string> };
    expect(Object.keys(pkg.dependencies ?? {})).not.toContain('electron-updater');
    expect([...productionPackages().keys()]).not.toContain('electron-updater');
  });
});

// ---------------------------------------------------------------------------
// Native modules: found by looking, not by a list, so a new one cannot slip in.

interface PackageJson {
  name?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  gypfile?: boolean;
}

const readPackage = (dir: string): PackageJson => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;

/** Node's lookup: node_modules/<name> beside the requiring package, then in each folder above it, up to the project root. */
function resolvePackageDir(name: string, fromDir: string): string | null {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (relative(root, dir) === '' || !dir.startsWith(root)) return null;
  }
}

let production: Map<string, string> | undefined;
/** Every package installed for the app at run time (dependencies, optional and peer ones, transitively): directory relative to the root → name. */
function productionPackages(): Map<string, string> {
  if (production) return production;
  const found = new Map<string, string>();
  const missing: string[] = [];
  const queue = [root.replace(/[\\/]$/, '')];
  while (queue.length > 0) {
    const dir = queue.pop()!;
    const pkg = readPackage(dir);
    const required = Object.keys(pkg.dependencies ?? {});
    const optional = [...Object.keys(pkg.optionalDependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})];
    for (const name of [...required, ...optional]) {
      const depDir = resolvePackageDir(name, dir);
      if (depDir === null) {
        if (required.includes(name) && !optional.includes(name)) missing.push(`${name} (needed by ${pkg.name ?? dir})`);
        continue;
      }
      const rel = relative(root, depDir).split(sep).join('/');
      if (found.has(rel)) continue;
      found.set(rel, name);
      queue.push(depDir);
    }
  }
  expect(missing, 'production dependencies that are not installed (run npm install)').toEqual([]);
  production = found;
  return found;
}

/** A package is native when it carries a node-gyp build or a compiled addon (.node) of its own. */
function nativeAddons(packageDir: string): string[] {
  const abs = join(root, packageDir);
  const hits: string[] = [];
  if (existsSync(join(abs, 'binding.gyp')) || readPackage(abs).gypfile === true) hits.push(`${packageDir}/binding.gyp`);
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(join(dir, entry.name));
      } else if (entry.name.endsWith('.node')) {
        hits.push(relative(root, join(dir, entry.name)).split(sep).join('/'));
      }
    }
  };
  walk(abs);
  return hits;
}

describe('electron-builder.yml: native modules outside the archive', () => {
  const unpackPatterns = ((config.asarUnpack as string[] | undefined) ?? []).map((p) => new Minimatch(p, { dot: true }));
  const unpacked = (path: string): boolean => unpackPatterns.some((m) => m.match(path));

  it('unpacks every production dependency that ships a native addon', () => {
    const natives = new Map<string, string[]>();
    for (const [dir] of productionPackages()) {
      const hits = nativeAddons(dir);
      if (hits.length > 0) natives.set(dir, hits);
    }
    // The scan itself must see the ones we know about, or it proves nothing.
    expect([...natives.keys()]).toEqual(expect.arrayContaining(['node_modules/better-sqlite3-multiple-ciphers', 'node_modules/pkcs11js']));
    expect([...natives.keys()].some((dir) => dir.startsWith('node_modules/@node-llama-cpp/'))).toBe(true);

    const notUnpacked: string[] = [];
    for (const [dir, hits] of natives) {
      for (const path of [`${dir}/package.json`, ...hits]) if (!unpacked(path)) notUnpacked.push(path);
    }
    expect(notUnpacked, 'add these packages to asarUnpack in electron-builder.yml').toEqual([]);
  });

  it('unpacks nothing of the app itself (unpacked files are outside the asar integrity check)', () => {
    for (const path of ['package.json', 'out/main/index.js', 'out/main/core.js', 'out/preload/index.cjs', 'out/renderer/index.html', 'resources/policy/evaluation.json']) {
      expect(unpacked(path), path).toBe(false);
    }
    for (const pattern of (config.asarUnpack as string[] | undefined) ?? []) expect(pattern).toMatch(/^node_modules\//);
  });
});

describe('electron-builder.yml: what stays out of the package', () => {
  // electron-builder applies only the exclusions ("!…") of `files` to node_modules.
  const exclusions = ((config.files as unknown[] | undefined) ?? []).filter((p): p is string => typeof p === 'string' && p.startsWith('!')).map((p) => new Minimatch(p.slice(1), { dot: true }));
  const excluded = (path: string): boolean => exclusions.some((m) => m.match(path));

  it.each([
    'out/main/index.js.map',
    'node_modules/zod/src/v3/types.ts',
    'node_modules/ldapts/dist/index.mjs.map',
    'node_modules/zod/src/v3/tests',
    'node_modules/zod/src/v3/tests/string.test.ts',
    'node_modules/@kwsites/file-exists/dist/test',
    'node_modules/@kwsites/file-exists/dist/test/exists.spec.js',
    'node_modules/some-pkg/lib/__tests__',
    'node_modules/some-pkg/lib/widget.test.js',
    'node_modules/some-pkg/docs',
    'node_modules/some-pkg/docs/api.html',
    'node_modules/pump/SECURITY.md',
    'node_modules/@scope/pkg/lib/README.md',
    'node_modules/some-pkg/HISTORY.md',
    'node_modules/better-sqlite3-multiple-ciphers/deps/sqlite3/sqlite3.c',
    'node_modules/better-sqlite3-multiple-ciphers/src/better_sqlite3.cpp',
    'node_modules/better-sqlite3-multiple-ciphers/build/Release/obj.target/better_sqlite3.node',
    'node_modules/better-sqlite3-multiple-ciphers/build/Release/test_extension.node',
  ])('leaves out %s', (path) => {
    expect(excluded(path)).toBe(true);
  });

  it.each([
    'out/main/index.js',
    'out/renderer/index.html',
    'node_modules/zod/index.js',
    'node_modules/bindings/LICENSE.md',
    'node_modules/ms/license.md',
    'node_modules/better-sqlite3-multiple-ciphers/lib/database.js',
    'node_modules/better-sqlite3-multiple-ciphers/build/Release/better_sqlite3.node',
    'node_modules/pkcs11js/build/Release/pkcs11.node',
    'node_modules/node-llama-cpp/dist/index.js',
    'node_modules/node-llama-cpp/llama/binariesGithubRelease.json',
    'node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/llama-addon.node',
  ])('keeps %s', (path) => {
    expect(excluded(path)).toBe(false);
  });
});
