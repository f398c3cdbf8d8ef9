// The main window: secure webPreferences, navigation and permission guards, remembered bounds,
// the standard application menu and a text context menu.
import path from 'node:path';
import { BrowserWindow, Menu, app, clipboard, screen, session, shell, type MenuItemConstructorOptions } from 'electron';
import { viewMenuRoles } from './launch';
import { APP_ORIGIN, allowPermission, decideNavigation, decideWindowOpen, secureWebPreferences } from '../transport/security';
import { loadWindowState, saveWindowState } from './window-state';

export interface MainWindowOptions {
  preload: string;
  stateFile: string;
  /** Only in development (`electron-vite dev`). */
  devServerUrl?: string;
}

export function createMainWindow(opts: MainWindowOptions): BrowserWindow {
  const displays = screen.getAllDisplays().map((d) => d.workArea);
  const state = loadWindowState(opts.stateFile, displays);
  const win = new BrowserWindow({
    ...(state.x !== undefined && state.y !== undefined ? { x: state.x, y: state.y } : {}),
    width: state.width,
    height: state.height,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'SD3.5 Studio',
    backgroundColor: '#1b1d22',
    webPreferences: secureWebPreferences(opts.preload),
  });
  if (state.maximized) win.maximize();
  win.once('ready-to-show', () => win.show());

  const devOrigin = opts.devServerUrl ? new URL(opts.devServerUrl).origin : undefined;
  win.webContents.on('will-navigate', (event, url) => {
    const decision = decideNavigation(url, devOrigin);
    if (decision.action === 'deny') {
      event.preventDefault();
      if (decision.openExternal) void shell.openExternal(url);
    }
  });
  win.webContents.on('will-redirect', (event, url) => {
    if (decideNavigation(url, devOrigin).action === 'deny') event.preventDefault();
  });
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (decideWindowOpen(url).openExternal) void shell.openExternal(url);
    return { action: 'deny' };
  });
  win.webContents.on('will-attach-webview', (event) => event.preventDefault());
  win.webContents.on('context-menu', (_e, params) => {
    const items: MenuItemConstructorOptions[] = [];
    if (params.isEditable) {
      items.push({ role: 'cut', enabled: params.editFlags.canCut }, { role: 'copy', enabled: params.editFlags.canCopy }, { role: 'paste', enabled: params.editFlags.canPaste }, { type: 'separator' }, { role: 'selectAll' });
    } else if (params.selectionText.trim()) {
      items.push({ role: 'copy' }, { role: 'selectAll' });
    }
    if (items.length) Menu.buildFromTemplate(items).popup({ window: win });
  });

  const remember = () => {
    if (win.isDestroyed()) return;
    const b = win.getNormalBounds();
    saveWindowState(opts.stateFile, { x: b.x, y: b.y, width: b.width, height: b.height, maximized: win.isMaximized() });
  };
  win.on('close', remember);

  if (opts.devServerUrl) void win.loadURL(opts.devServerUrl);
  else void win.loadURL(`${APP_ORIGIN}/index.html`);
  return win;
}

/** Deny every permission request and check from web content (camera, notifications, …). */
export function lockDownSession(): void {
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_wc, permission, callback) => callback(allowPermission(permission)));
  ses.setPermissionCheckHandler((_wc, permission) => allowPermission(permission));
}

export function installAppMenu(actions: { copyDiagnostics: () => Promise<string>; logsDir: string; dataDir: string; isPackaged: boolean }): void {
  const isMac = process.platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' } as MenuItemConstructorOptions] : []),
    { role: 'fileMenu' },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: viewMenuRoles(actions.isPackaged).map((role) => (role === 'separator' ? { type: 'separator' } : { role: role as MenuItemConstructorOptions['role'] })),
    },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [
        {
          label: 'Copy Diagnostics',
          click: async () => clipboard.writeText(await actions.copyDiagnostics()),
        },
        { label: 'Open Logs Folder', click: () => void shell.openPath(actions.logsDir) },
        { label: 'Open Data Folder', click: () => void shell.openPath(actions.dataDir) },
        { type: 'separator' },
        { label: 'Stable Diffusion 3.5 Licence', click: () => void shell.openExternal('https://stability.ai/community-license-agreement') },
      ],
    },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

export function preloadPath(): string {
  return path.join(__dirname, '..', 'preload', 'preload.js');
}

export function rendererDir(): string {
  return path.join(__dirname, '..', 'renderer');
}

export { app };
