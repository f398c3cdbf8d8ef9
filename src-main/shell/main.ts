// Electron entry, kept thin: StudioCore with the Electron adapters, the studio:// protocol,
// the IPC transport and the window. `<app> cli <args>` runs the CLI without a window (launch.ts decides).
import path from 'node:path';
import { app, ipcMain, BrowserWindow, dialog } from 'electron';
import { version as APP_VERSION } from '../../package.json';
import { StudioError } from '../../src-shared/errors';
import { main as cliMain } from '../cli/cli';
import { nodeAdapters } from '../core/node-adapters';
import { resolveDataDir } from '../core/paths';
import { StudioCore } from '../core/studio';
import { desktopFileManager, desktopNotifier, desktopPowerBlocker } from '../electron/desktop';
import { desktopFileSaver } from '../electron/file-saver';
import { electronSqliteBinding } from '../electron/native';
import { safeStorageSecrets } from '../electron/secrets';
import { utilitySpawner } from '../electron/spawner';
import { checkModelOps, listExecutionProviders } from '../inference/available';
import { runProviderProbe } from '../inference/probe-host';
import { cliProfileDir, decideLaunch, openedPngs } from './launch';
import { handleStudioProtocol, registerStudioScheme } from './protocol';
import { createDispatcher } from '../transport/dispatch';
import { bindIpc } from '../transport/ipc';
import { createMainWindow, installAppMenu, lockDownSession, preloadPath, rendererDir } from './window';

const launch = decideLaunch(process.argv, { isPackaged: app.isPackaged, env: process.env });

/**
 * `<app> cli <args>`: the CLI headless — no window, no GPU process, the same data folder and exit codes,
 * stdout only for the CLI's output. The worker still runs as a utility process, the database with the
 * Electron-ABI better-sqlite3. Chromium's own profile goes to a temp folder, not beside the history.
 */
async function runCli(args: string[]): Promise<void> {
  app.disableHardwareAcceleration();
  if (process.platform === 'linux') app.commandLine.appendSwitch('ozone-platform', 'headless');
  const profile = cliProfileDir();
  app.setPath('userData', profile.dir);
  app.dock?.hide();
  await app.whenReady();
  const nativeBinding = electronSqliteBinding();
  let code: number;
  try {
    code = await cliMain(args, process.env, {
      adapters: (env) => ({ ...nodeAdapters(env), spawner: utilitySpawner }),
      ...(nativeBinding ? { nativeBinding } : {}),
    });
  } catch (err) {
    process.stderr.write(`sd35-studio: ${StudioError.from(err).message}\n`);
    code = 1;
  }
  profile.remove();
  app.exit(code);
}

async function runApp(dataDirFlag: string | undefined, devServer: { url: string; origin: string } | undefined, files: string[]): Promise<void> {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  registerStudioScheme();
  // Same default as the CLI: userData is "<appData>/SD3.5 Studio" (productName).
  const dataDir = resolveDataDir(dataDirFlag);
  app.setPath('userData', dataDir);
  await app.whenReady();
  lockDownSession();

  let core: StudioCore;
  // Which GPU providers start here: checked once, in a utility process, so the main process never loads them.
  let probed: ReturnType<typeof runProviderProbe> | undefined;
  const probeProviders = () => (probed ??= runProviderProbe(utilitySpawner));
  try {
    const nativeBinding = electronSqliteBinding();
    core = await StudioCore.open({
      dataDir,
      adapters: {
        spawner: utilitySpawner,
        // Outside the data folder: not even the encrypted token lives beside the history.
        secrets: safeStorageSecrets(path.join(app.getPath('appData'), 'SD3.5 Studio Secrets')),
        notifier: desktopNotifier,
        power: desktopPowerBlocker,
        files: desktopFileManager,
        saver: desktopFileSaver,
      },
      runtime: 'electron',
      appVersion: APP_VERSION,
      versions: { electron: process.versions.electron ?? '', chrome: process.versions.chrome ?? '' },
      ...(nativeBinding ? { nativeBinding } : {}),
      listExecutionProviders,
      checkOps: checkModelOps,
      probeProviders,
    });
  } catch (err) {
    dialog.showErrorBox('SD3.5 Studio cannot open its data folder', `${StudioError.from(err).message}\n\nData folder: ${dataDir}`);
    app.exit(1);
    return;
  }

  const dispatch = createDispatcher(core.api, (m, err) => core.log.error(`${m} failed`, { error: String(err) }));
  // The dev server's origin is trusted by IPC exactly when the window loads from it (development only).
  const ipc = bindIpc(ipcMain, { dispatch, events: core.events, log: (m) => core.log.warn(m), ...(devServer ? { devServerOrigin: devServer.origin } : {}) });
  handleStudioProtocol(() => ({ rendererDir: rendererDir(), dataRoot: core.layout.root, media: core.media }));
  installAppMenu({ copyDiagnostics: () => core.diagnostics(), logsDir: core.layout.logs, dataDir: core.layout.root, isPackaged: app.isPackaged });

  const open = () => {
    const win = createMainWindow({
      preload: preloadPath(),
      stateFile: path.join(core.layout.root, 'window-state.json'),
      devServerUrl: devServer?.url,
    });
    ipc.attach(win.webContents);
    return win;
  };
  // "Open with SD3.5 Studio" on PNG files (desktop entry / file association): they go into the gallery.
  const importOpened = (paths: string[]): void => {
    if (paths.length === 0) return;
    core.api['gallery.import']({ files: paths.map((p) => ({ path: p })) }).catch((err: unknown) => core.log.warn('open-with import failed', { error: String(err) }));
  };
  app.off('open-file', collectEarly);
  app.on('open-file', (event, file) => {
    event.preventDefault();
    importOpened(openedPngs([file], process.cwd(), path.resolve));
  });
  importOpened(openedPngs([...files, ...openedEarly.splice(0)], process.cwd(), path.resolve));
  let win = open();
  app.on('second-instance', (_event, argv, workingDirectory) => {
    const again = decideLaunch(argv, { isPackaged: app.isPackaged, env: {} });
    if (again.mode === 'window') importOpened(openedPngs(again.files, workingDirectory, path.resolve));
    if (win.isDestroyed()) win = open();
    if (win.isMinimized()) win.restore();
    win.focus();
  });
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) win = open();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('will-quit', () => {
    ipc.dispose();
    core.close();
  });
}

// macOS hands "Open with" files over as open-file events, possibly before the app is ready.
const openedEarly: string[] = [];
const collectEarly = (event: { preventDefault(): void }, file: string): void => {
  event.preventDefault();
  openedEarly.push(file);
};
if (launch.mode === 'window') {
  app.on('open-file', collectEarly);
}

if (launch.mode === 'cli') void runCli(launch.args);
else void runApp(launch.dataDir, launch.devServer, launch.files);
