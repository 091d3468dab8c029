// The window's security decisions, checked without Electron: hardening.ts is
// pure, and window.ts / ipc-relay.ts only apply it.
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CSP as SHARED_CSP } from '../../src/shared/csp.js';
import {
  CSP,
  HARDENED_WEB_PREFERENCES,
  WINDOW_OPEN_DECISION,
  SPELLCHECKER_SETTINGS,
  decidePermission,
  disableSpellchecker,
  isAllowedNavigation,
  isAllowedRequest,
  isTrustedSenderUrl,
  withSecurityHeaders,
} from '../../src/main/electron/hardening.js';

import { APP_PAGE_URL } from '../../src/main/desktop/index.js';

/** The packaged app's page: served by the app:// protocol, never from file://. */
const APP = APP_PAGE_URL;
/** Where the page used to come from; now refused like any other file. */
const OLD_FILE_APP = 'file:///opt/Enclave/resources/app.asar/out/renderer/index.html';
const DEV = 'http://localhost:5173/';

describe('web preferences', () => {
  it('isolate, sandbox and keep Node out of the renderer', () => {
    expect(HARDENED_WEB_PREFERENCES).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
      experimentalFeatures: false,
    });
  });

  it('cannot be changed at run time', () => {
    expect(Object.isFrozen(HARDENED_WEB_PREFERENCES)).toBe(true);
  });

  it('name no preload of their own (window.ts adds the built one)', () => {
    expect(HARDENED_WEB_PREFERENCES).not.toHaveProperty('preload');
  });
});

describe('navigation', () => {
  it('the app page is app://enclave/index.html', () => {
    expect(APP).toBe('app://enclave/index.html');
  });

  it('allows the app page itself, with an in-page #route', () => {
    expect(isAllowedNavigation(APP, APP)).toBe(true);
    expect(isAllowedNavigation(`${APP}#/chat/1`, APP)).toBe(true);
  });

  it.each([
    'https://example.org/',
    'http://localhost:5173/',
    'javascript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'blob:app://enclave/abc',
    'file:///etc/passwd',
    OLD_FILE_APP,
    'app://enclave/other.html',
    'app://enclave/assets/index.js',
    'app://other/index.html',
    'app://enclave.evil.example/index.html',
    'app://enclave:8080/index.html',
    'app://user@enclave/index.html',
    'app://enclave/index.html?x=1',
    'app://enclave/index.html?',
    'app://enclave/index.html/',
    'app://enclave/%69ndex.html',
    'app://enclave/sub/..%2findex.html',
    'APP://enclave/other.html',
    'not a url',
    '',
  ])('refuses %s', (target) => {
    expect(isAllowedNavigation(target, APP)).toBe(false);
  });

  it('in development allows only the dev server origin', () => {
    expect(isAllowedNavigation('http://localhost:5173/#/x', DEV)).toBe(true);
    expect(isAllowedNavigation('http://localhost:5174/', DEV)).toBe(false);
    expect(isAllowedNavigation('https://localhost:5173/', DEV)).toBe(false);
    expect(isAllowedNavigation(APP, DEV)).toBe(false);
  });

  it('trusts IPC only from the app page', () => {
    expect(isTrustedSenderUrl(APP, APP)).toBe(true);
    expect(isTrustedSenderUrl(`${APP}#/settings`, APP)).toBe(true);
    expect(isTrustedSenderUrl(OLD_FILE_APP, APP)).toBe(false);
    expect(isTrustedSenderUrl('https://example.org/', APP)).toBe(false);
    expect(isTrustedSenderUrl('about:blank', APP)).toBe(false);
    expect(isTrustedSenderUrl(null, APP)).toBe(false);
    expect(isTrustedSenderUrl(undefined, APP)).toBe(false);
  });
});

describe('requests', () => {
  it('allows the app’s own files and inline images', () => {
    expect(isAllowedRequest(APP, APP)).toBe(true);
    expect(isAllowedRequest(new URL('assets/index-abc.js', APP).href, APP)).toBe(true);
    expect(isAllowedRequest('app://enclave/assets/index-BKuFgvBA.css', APP)).toBe(true);
    expect(isAllowedRequest('data:image/png;base64,AAAA', APP)).toBe(true);
  });

  it.each([
    'https://example.org/pixel.png?prompt=secret',
    'http://10.0.0.1/',
    'ws://localhost:5173/',
    'file:///etc/passwd',
    OLD_FILE_APP,
    'file:///opt/Enclave/resources/app.asar/out/renderer/assets/index.js',
    'file://server/share/x.js',
    'app://other/index.html',
    'app://enclave/assets/index.js?prompt=secret',
    'app://enclave/..%2fmain/core.js',
    'app://enclave/assets/%2e%2e%5cmain%5ccore.js',
    'app://enclave/.env',
    'app://enclave/assets/tool.exe',
  ])('blocks %s', (url) => {
    expect(isAllowedRequest(url, APP)).toBe(false);
  });

  it('in development allows the dev server and its HMR socket only', () => {
    expect(isAllowedRequest('http://localhost:5173/src/main.tsx', DEV)).toBe(true);
    expect(isAllowedRequest('ws://localhost:5173/', DEV)).toBe(true);
    expect(isAllowedRequest('https://example.org/', DEV)).toBe(false);
    expect(isAllowedRequest('file:///etc/passwd', DEV)).toBe(false);
    expect(isAllowedRequest(APP, DEV)).toBe(false);
  });
});

describe('spellchecker', () => {
  it('is off in the window and on every session, its dictionary URL pointing at a name that never resolves', () => {
    expect(HARDENED_WEB_PREFERENCES.spellcheck).toBe(false);
    expect(SPELLCHECKER_SETTINGS.enabled).toBe(false);
    const url = new URL(SPELLCHECKER_SETTINGS.dictionaryDownloadUrl);
    // RFC 6761: ".invalid" names never resolve; no Google host, no IP a local process could answer on.
    expect(url.hostname.endsWith('.invalid')).toBe(true);
    expect(url.hostname).not.toMatch(/google|gstatic|^[\d.]+$|^\[/);
  });

  it('is applied to a session: enabled false, dictionary download URL replaced', () => {
    const calls: string[] = [];
    disableSpellchecker({
      setSpellCheckerEnabled: (enabled) => calls.push(`enabled=${enabled}`),
      setSpellCheckerDictionaryDownloadURL: (url) => calls.push(`url=${url}`),
    });
    expect(calls).toEqual(['enabled=false', `url=${SPELLCHECKER_SETTINGS.dictionaryDownloadUrl}`]);
  });
});

describe('permissions and pop-ups', () => {
  it.each(['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal', 'hid', 'usb', 'serial', 'fullscreen', 'clipboard-write', ''])('denies %s', (permission) => {
    expect(decidePermission(permission)).toBe(false);
  });

  it('grants only writing sanitised text to the clipboard (copying an answer, audited by the core first)', () => {
    expect(decidePermission('clipboard-sanitized-write')).toBe(true);
  });

  it('never opens a window', () => {
    expect(WINDOW_OPEN_DECISION).toEqual({ action: 'deny' });
  });
});

describe('content security policy', () => {
  it('is the one shared with the renderer', () => {
    expect(CSP).toBe(SHARED_CSP);
  });

  it('allows no remote, inline or evaluated code and no connections', () => {
    const directives = new Map(
      CSP.split(';')
        .map((d) => d.trim().split(/\s+/))
        .map(([name = '', ...values]) => [name, values]),
    );
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('style-src')).toEqual(["'self'"]);
    expect(directives.get('img-src')).toEqual(["'self'", 'data:']);
    expect(directives.get('connect-src')).toEqual(["'none'"]);
    expect(directives.get('object-src')).toEqual(["'none'"]);
    expect(directives.get('base-uri')).toEqual(["'none'"]);
    expect(directives.get('form-action')).toEqual(["'none'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(CSP).not.toMatch(/unsafe-|https?:|\*/);
  });

  it('replaces any CSP a response carried', () => {
    const headers = withSecurityHeaders({ 'content-security-policy': ['default-src *'], 'Content-Type': ['text/html'] });
    expect(headers['Content-Security-Policy']).toEqual([CSP]);
    expect(headers).not.toHaveProperty('content-security-policy');
    expect(headers['Content-Type']).toEqual(['text/html']);
    expect(headers['X-Content-Type-Options']).toEqual(['nosniff']);
  });

  it('is the meta CSP in the renderer page, when the page exists', () => {
    const html = fileURLToPath(new URL('../../src/renderer/index.html', import.meta.url));
    if (!existsSync(html)) return;
    const text = readFileSync(html, 'utf8');
    const tag = /<meta\b[^>]*http-equiv\s*=\s*["']Content-Security-Policy["'][^>]*>/i.exec(text)?.[0] ?? '';
    const content = /\bcontent\s*=\s*(?:"([^"]*)"|'([^']*)')/i.exec(tag);
    expect(content?.[1] ?? content?.[2]).toBe(CSP);
  });
});
