// The security policy of the renderer, as plain data and pure functions (no Electron import) so it
// is unit-tested under Node; window.ts, protocol.ts and transport/http.ts apply it.

/** The custom scheme the Electron renderer is loaded from (never file://). */
export const APP_SCHEME = 'studio';
export const APP_ORIGIN = `${APP_SCHEME}://app`;

export function contentSecurityPolicy(runtime: 'electron' | 'browser'): string {
  const media = runtime === 'electron' ? `${APP_SCHEME}://image ${APP_SCHEME}://thumb` : "'self'";
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' ${media} data: blob:`.replace(/\s+/g, ' '),
    "font-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

/** webPreferences every window of the app gets (preload path filled in by window.ts). */
export function secureWebPreferences(preload: string) {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    spellcheck: true,
  } as const;
}

/** May the window navigate to `url`? Only within the app's own origin. */
export function isAppUrl(url: string, devServerOrigin?: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol === `${APP_SCHEME}:` && parsed.host === 'app') return true;
  return devServerOrigin !== undefined && parsed.origin === devServerOrigin;
}

/** Links the OS browser may open instead (only plain https). */
export function isExternalLink(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' && parsed.username === '' && parsed.password === '';
  } catch {
    return false;
  }
}

export type NavigationDecision = { action: 'allow' } | { action: 'deny'; openExternal: boolean };

export function decideNavigation(url: string, devServerOrigin?: string): NavigationDecision {
  if (isAppUrl(url, devServerOrigin)) return { action: 'allow' };
  return { action: 'deny', openExternal: isExternalLink(url) };
}

/** window.open and target=_blank never create a window; https links go to the OS browser. */
export function decideWindowOpen(url: string): { action: 'deny'; openExternal: boolean } {
  return { action: 'deny', openExternal: isExternalLink(url) };
}

/** Permission requests (camera, notifications, geolocation…): all denied. */
export function allowPermission(_permission: string): boolean {
  return false;
}

export const SECURITY_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};
