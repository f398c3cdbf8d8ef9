import { describe, expect, it } from 'vitest';
import { APP_ORIGIN, allowPermission, contentSecurityPolicy, decideNavigation, decideWindowOpen, secureWebPreferences } from './security';

describe('window webPreferences', () => {
  it('isolates the renderer: contextIsolation, sandbox, no Node, web security on', () => {
    const prefs = secureWebPreferences('/app/out/preload/preload.js');
    expect(prefs).toMatchObject({
      preload: '/app/out/preload/preload.js',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
  });
});

describe('Content-Security-Policy', () => {
  const directives = (csp: string) => new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k!, v]));

  it.each(['electron', 'browser'] as const)('is strict for %s', (runtime) => {
    const csp = contentSecurityPolicy(runtime);
    const d = directives(csp);
    expect(d.get('default-src')).toEqual(["'none'"]);
    expect(d.get('script-src')).toEqual(["'self'"]);
    expect(d.get('object-src')).toEqual(["'none'"]);
    expect(d.get('base-uri')).toEqual(["'none'"]);
    expect(d.get('frame-ancestors')).toEqual(["'none'"]);
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).not.toMatch(/\*/);
  });

  it('lets the Electron renderer show gallery images only through studio://image and studio://thumb', () => {
    const img = directives(contentSecurityPolicy('electron')).get('img-src')!;
    expect(img).toContain('studio://image');
    expect(img).toContain('studio://thumb');
    expect(img).not.toContain('file:');
  });

  it('is exactly this string for Electron (review any change)', () => {
    expect(contentSecurityPolicy('electron')).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' studio://image studio://thumb data: blob:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'",
    );
  });
});

describe('navigation and window.open', () => {
  it('allows only the app origin', () => {
    expect(decideNavigation(`${APP_ORIGIN}/index.html#/gallery`)).toEqual({ action: 'allow' });
    expect(decideNavigation('studio://image/1').action).toBe('deny');
    expect(decideNavigation('file:///etc/passwd')).toEqual({ action: 'deny', openExternal: false });
    expect(decideNavigation('http://127.0.0.1:5173/')).toEqual({ action: 'deny', openExternal: false });
    expect(decideNavigation('javascript:alert(1)')).toEqual({ action: 'deny', openExternal: false });
    expect(decideNavigation('not a url')).toEqual({ action: 'deny', openExternal: false });
  });

  it('sends https links to the OS browser and nothing else', () => {
    expect(decideNavigation('https://huggingface.co/stabilityai')).toEqual({ action: 'deny', openExternal: true });
    expect(decideWindowOpen('https://huggingface.co/')).toEqual({ action: 'deny', openExternal: true });
    expect(decideWindowOpen('https://user:pw@example.com/')).toEqual({ action: 'deny', openExternal: false });
    expect(decideWindowOpen('http://example.com/')).toEqual({ action: 'deny', openExternal: false });
    expect(decideWindowOpen('smb://server/share')).toEqual({ action: 'deny', openExternal: false });
    expect(decideWindowOpen(`${APP_ORIGIN}/index.html`).action).toBe('deny');
  });

  it('allows the dev server origin only when one is given', () => {
    expect(decideNavigation('http://localhost:5173/#/models', 'http://localhost:5173').action).toBe('allow');
    expect(decideNavigation('http://localhost:5174/', 'http://localhost:5173').action).toBe('deny');
  });

  it('denies every permission request', () => {
    for (const p of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal', 'fullscreen']) expect(allowPermission(p)).toBe(false);
  });
});
