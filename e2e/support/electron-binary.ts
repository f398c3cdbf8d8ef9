// Where the Electron binary and a packed app are, found without require('electron') (which would try to
// download it), and why an Electron spec must skip here.
import fs from 'node:fs';
import path from 'node:path';
import { electronBinaryAt, electronMissing, skipLine } from '../../scripts/packaging/electron-skip.mjs';

export const REPO = path.resolve(__dirname, '..', '..');

export function electronBinary(): string | undefined {
  return electronBinaryAt(REPO);
}

/** The app electron-builder packed for this OS (`npm run dist`): the executable inside dist/*-unpacked or the .app. */
export function packedApp(): { executable: string; fuseTarget: string } | undefined {
  const dist = path.join(REPO, 'dist');
  if (!fs.existsSync(dist)) return undefined;
  for (const dir of fs.readdirSync(dist)) {
    const full = path.join(dist, dir);
    if (process.platform === 'linux' && dir === 'linux-unpacked') {
      const exe = path.join(full, 'sd35-studio');
      if (fs.existsSync(exe)) return { executable: exe, fuseTarget: exe };
    }
    if (process.platform === 'win32' && dir === 'win-unpacked') {
      const exe = ['sd35-studio.exe', 'SD3.5 Studio.exe'].map((n) => path.join(full, n)).find((p) => fs.existsSync(p));
      if (exe) return { executable: exe, fuseTarget: exe };
    }
    if (process.platform === 'darwin' && dir.startsWith('mac')) {
      const app = path.join(full, 'SD3.5 Studio.app');
      if (fs.existsSync(app)) return { executable: path.join(app, 'Contents', 'MacOS', 'SD3.5 Studio'), fuseTarget: app };
    }
  }
  return undefined;
}

export function electronSkipReason(): string | undefined {
  const missing = electronMissing(REPO);
  if (missing) return missing;
  if (process.platform === 'linux' && !process.env.DISPLAY) return 'no X display: `npm test` / `npm run test:electron` start this under xvfb-run';
  return undefined;
}

let told = false;
/** Prints the skip reason once per run, however many Electron spec files are loaded. */
export function tellElectronSkip(reason: string | undefined): void {
  if (!reason || told) return;
  told = true;
  console.log(skipLine(reason));
}
