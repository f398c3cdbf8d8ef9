// Electron entry, kept thin: StudioCore with the Electron adapters, the studio:// protocol,
// the IPC transport and the window. `<app> cli <args>` runs the CLI without a window.
import path from 'node:path';
import { app, ipcMain, BrowserWindow, dialog } from 'electron';
import { version as APP_VERSION } from '../package.json';
import { StudioError } from '../src-shared/errors';
import { main as cliMain } from './cli/cli';
import { resolveDataDir } from './core/paths';
import { StudioCore } from './core/studio';
import { desktopFileManager, desktopNotifier, desktopPowerBlocker } from './electron/desktop';
import { electronSqliteBinding } from './electron/native';
import { safeStorageSecrets } from './electron/secrets';
import { utilitySpawner } from './electron/spawner';
import { checkModelOps, listExecutionProviders } from './inference/available';
import { handleStudioProtocol, registerStudioScheme } from './protocol';
import { createDispatcher } from './transport/dispatch';
import { bindIpc } from './transport/ipc';
import { createMainWindow, installAppMenu, lockDownSession, preloadPath, rendererDir } from './window';

function cliArgs(): string[] | undefined {
  const args = process.argv.slice(app.isPackaged ? 1 : 2);
  return args[0] === 'cli' ? args.slice(1) : undefined;
}

function dataDirFlag(): string | undefined {
  const i = process.argv.indexOf('--data-dir');
  return i > 0 ? process.argv[i + 1] : undefined;
}

async function runCli(args: string[]): Promise<void> {
  const code = await cliMain(args);
  app.exit(code);
}

async function runApp(): Promise<void> {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  registerStudioScheme();
  // Same default as the CLI: userData is "<appData>/SD3.5 Studio" (productName).
  const dataDir = resolveDataDir(dataDirFlag());
  app.setPath('userData', dataDir);
  await app.whenReady();
  lockDownSession();

  let core: StudioCore;
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
      },
      runtime: 'electron',
      appVersion: APP_VERSION,
      versions: { electron: process.versions.electron ?? '', chrome: process.versions.chrome ?? '' },
      ...(nativeBinding ? { nativeBinding } : {}),
      listExecutionProviders,
      checkOps: checkModelOps,
    });
  } catch (err) {
    dialog.showErrorBox('SD3.5 Studio cannot open its data folder', `${StudioError.from(err).message}\n\nData folder: ${dataDir}`);
    app.exit(1);
    return;
  }

  const dispatch = createDispatcher(core.api, (m, err) => core.log.error(`${m} failed`, { error: String(err) }));
  const ipc = bindIpc(ipcMain, { dispatch, events: core.events, log: (m) => core.log.warn(m) });
  handleStudioProtocol(() => ({ rendererDir: rendererDir(), dataRoot: core.layout.root, media: core.media }));
  installAppMenu({ copyDiagnostics: () => core.diagnostics(), logsDir: core.layout.logs, dataDir: core.layout.root });

  const open = () => {
    const win = createMainWindow({
      preload: preloadPath(),
      stateFile: path.join(core.layout.root, 'window-state.json'),
      devServerUrl: !app.isPackaged ? process.env.ELECTRON_RENDERER_URL : undefined,
    });
    ipc.attach(win.webContents);
    return win;
  };
  let win = open();
  app.on('second-instance', () => {
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

const args = cliArgs();
if (args) void runCli(args);
else void runApp();
