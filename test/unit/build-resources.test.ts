// The build/ folder electron-builder packs from: the app icon in every size each
// platform asks for, the licence the installers show, and the macOS entitlements
// (hardened runtime: what the app may do that the runtime otherwise refuses).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parsePlist } from 'plist';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(import.meta.url);
const builderRequire = createRequire(require.resolve('app-builder-lib/package.json'));
const yaml = builderRequire('js-yaml') as { load(text: string): unknown };
type Section = Record<string, unknown>;
const config = yaml.load(readFileSync(join(root, 'electron-builder.yml'), 'utf8')) as Record<string, Section>;
const build = (...parts: string[]) => join(root, 'build', ...parts);

/** Width and height from a PNG's IHDR chunk; throws unless it is a PNG. */
function pngSize(data: Buffer): { width: number; height: number } {
  expect(data.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  expect(data.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: data.readUInt32BE(16), height: data.readUInt32BE(20) };
}

function square(size: number) {
  return { width: size, height: size };
}

describe('build/: what electron-builder packs besides the app', () => {
  it('has every file electron-builder.yml names there', () => {
    const named: string[] = [];
    const visit = (value: unknown): void => {
      if (typeof value === 'string' && /^(\.\/)?build\//.test(value)) named.push(value);
      else if (value && typeof value === 'object') Object.values(value).forEach(visit);
    };
    visit(config);
    expect(named.length).toBeGreaterThanOrEqual(10);
    for (const path of named) expect({ path, exists: existsSync(join(root, path)) }).toEqual({ path, exists: true });
  });

  it('icon: 1024 px PNG (the default everywhere) and the Linux set 16–1024', () => {
    expect(pngSize(readFileSync(build('icon.png')))).toEqual(square(1024));
    expect(config['linux']?.['icon']).toBe('build/icons');
    for (const size of [16, 32, 48, 64, 128, 256, 512, 1024]) expect(pngSize(readFileSync(build('icons', `${size}x${size}.png`)))).toEqual(square(size));
    expect(readFileSync(build('icon.png')).equals(readFileSync(build('icons', '1024x1024.png')))).toBe(true);
  });

  it('icon.ico: 16 to 256 px (Windows: the exe, the Start menu, the installers)', () => {
    expect(config['win']?.['icon']).toBe('build/icon.ico');
    const ico = readFileSync(build('icon.ico'));
    expect([ico.readUInt16LE(0), ico.readUInt16LE(2)]).toEqual([0, 1]);
    const sizes: number[] = [];
    for (let i = 0; i < ico.readUInt16LE(4); i++) {
      const e = 6 + 16 * i;
      const size = ico.readUInt8(e) || 256;
      const image = ico.subarray(ico.readUInt32LE(e + 12), ico.readUInt32LE(e + 12) + ico.readUInt32LE(e + 8));
      expect(pngSize(image)).toEqual(square(size));
      sizes.push(size);
    }
    expect(sizes).toEqual([16, 24, 32, 48, 64, 128, 256]);
    const entry256 = 6 + 16 * 6;
    expect(ico.subarray(ico.readUInt32LE(entry256 + 12), ico.readUInt32LE(entry256 + 12) + ico.readUInt32LE(entry256 + 8)).equals(readFileSync(build('icons', '256x256.png')))).toBe(true);
  });

  it('icon.icns: 16 to 1024 px with the Retina variants (macOS)', () => {
    expect(config['mac']?.['icon']).toBe('build/icon.icns');
    const icns = readFileSync(build('icon.icns'));
    expect(icns.subarray(0, 4).toString('latin1')).toBe('icns');
    expect(icns.readUInt32BE(4)).toBe(statSync(build('icon.icns')).size);
    const entries = new Map<string, { width: number; height: number }>();
    for (let at = 8; at < icns.length; at += icns.readUInt32BE(at + 4)) entries.set(icns.subarray(at, at + 4).toString('latin1'), pngSize(icns.subarray(at + 8, at + icns.readUInt32BE(at + 4))));
    expect(Object.fromEntries(entries)).toEqual({
      icp4: square(16),
      icp5: square(32),
      icp6: square(64),
      ic07: square(128),
      ic08: square(256),
      ic09: square(512),
      ic10: square(1024),
      ic11: square(32),
      ic12: square(64),
      ic13: square(256),
      ic14: square(512),
    });
  });

  it('the installers that show a licence show build/license.txt', () => {
    for (const target of ['nsis', 'dmg', 'pkg']) expect({ target, license: config[target]?.['license'] }).toEqual({ target, license: 'build/license.txt' });
    expect(readFileSync(build('license.txt'), 'utf8')).toMatch(/Copyright .* Enclave contributors/);
  });

  it('macOS entitlements: the app may JIT and nothing more; the helpers also load the card middleware', () => {
    expect(config['mac']).toMatchObject({ hardenedRuntime: true, entitlements: 'build/entitlements.mac.plist', entitlementsInherit: 'build/entitlements.mac.inherit.plist' });
    const app = parsePlist(readFileSync(build('entitlements.mac.plist'), 'utf8'));
    expect(app).toEqual({ 'com.apple.security.cs.allow-jit': true });
    const helpers = parsePlist(readFileSync(build('entitlements.mac.inherit.plist'), 'utf8'));
    expect(helpers).toEqual({ 'com.apple.security.cs.allow-jit': true, 'com.apple.security.cs.disable-library-validation': true });
  });
});
