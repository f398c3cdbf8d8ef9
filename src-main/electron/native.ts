// Where the Electron-ABI build of better-sqlite3 lives (the Node-ABI build in node_modules serves
// the tests and the CLI). `npm start` prepares it with scripts/prepare-electron-native.mjs;
// electron-builder copies it into resources/native/.
import fs from 'node:fs';
import path from 'node:path';
import { app } from 'electron';

export function electronSqliteBinding(): string | undefined {
  const candidates = app.isPackaged
    ? [path.join(process.resourcesPath, 'native', 'better_sqlite3.node')]
    : [path.join(app.getAppPath(), 'native', 'electron', 'better_sqlite3.node')];
  return candidates.find((p) => fs.existsSync(p));
}
