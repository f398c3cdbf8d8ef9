// The desktop app's FileSaver (core/adapters.ts): the OS save dialog in the main process, then the file is
// written there, so an export never crosses IPC as base64 (issue 18 §3). Not runnable outside Electron.
import fs from 'node:fs';
import path from 'node:path';
import { app, BrowserWindow, dialog } from 'electron';
import type { FileSaver } from '../core/adapters';

export const desktopFileSaver: FileSaver = {
  async save(fileName, data) {
    const options = {
      title: 'Export comparison',
      defaultPath: path.join(app.getPath('downloads'), path.basename(fileName)),
      filters: [{ name: 'PNG image', extensions: ['png'] }],
    };
    const parent = BrowserWindow.getFocusedWindow();
    const chosen = parent ? await dialog.showSaveDialog(parent, options) : await dialog.showSaveDialog(options);
    if (chosen.canceled || !chosen.filePath) return undefined;
    await fs.promises.writeFile(chosen.filePath, data);
    return { fileName: path.basename(chosen.filePath) };
  },
};
