// @ts-check
// Why the Electron e2e specs cannot run here, in one wording for `npm run test:e2e` (the specs) and
// `npm test`'s Electron step (test-electron.mjs): the reason is printed once per run, by whichever of them
// meets it first.
import fs from 'node:fs';
import path from 'node:path';

/**
 * node_modules/electron's binary, found without require('electron') (which would try to download it).
 * @param {string} root the repository
 * @returns {string | undefined}
 */
export function electronBinaryAt(root) {
  const dir = path.join(root, 'node_modules', 'electron');
  try {
    const full = path.join(dir, 'dist', fs.readFileSync(path.join(dir, 'path.txt'), 'utf8').trim());
    return fs.existsSync(full) ? full : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What the Electron specs miss here (the binary, better-sqlite3 for Electron) — a fact of the checkout — or
 * undefined. A missing display is not in it: `npm test` runs them under xvfb-run for that.
 * @param {string} root
 * @returns {string | undefined}
 */
export function electronMissing(root) {
  if (!electronBinaryAt(root)) return 'the Electron binary is not installed here (offline or ELECTRON_SKIP_BINARY_DOWNLOAD); `npm run test:electron` fetches it where the internet is reachable';
  if (!fs.existsSync(path.join(root, 'native', 'electron', 'better_sqlite3.node'))) return 'better-sqlite3 for Electron is not prepared; `npm run prepare:electron` builds it where the internet is reachable';
  return undefined;
}

/**
 * The one line that says the Electron specs were skipped and why.
 * @param {string} reason
 * @returns {string}
 */
export function skipLine(reason) {
  return `[electron e2e] skipped: ${reason}`;
}
