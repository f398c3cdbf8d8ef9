#!/usr/bin/env node
// @ts-check
// `npm run test:electron`: the Electron e2e specs (e2e/electron/), under xvfb-run on Linux without a display.
// Run directly (a maintainer, online) it first fetches what they need: the Electron binary
// (node_modules/electron/install.js) and better-sqlite3 for Electron (prepare-electron-native.mjs).
// `--after-e2e` (from `npm test`): never downloads; runs the specs only when `npm run test:e2e` had to skip
// them for want of a display. What the checkout lacks (electron-skip.mjs) that run already printed, in the
// same words: said again here only when the specs did not run in it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { electronBinaryAt, skipLine } from './electron-skip.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const afterE2e = process.argv.includes('--after-e2e');
const electronDir = path.join(root, 'node_modules', 'electron');
const electronBinary = () => electronBinaryAt(root);

/** @param {string} why */
function skip(why) {
  console.log(skipLine(why));
  process.exit(0);
}

/** @param {string} cmd @param {string[]} args @param {NodeJS.ProcessEnv} [env] */
const run = (cmd, args, env = process.env) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env }).status === 0;

if (!electronBinary()) {
  // The e2e run before this step printed the same reason (tellElectronSkip): not a second time.
  if (afterE2e) process.exit(0);
  console.error('Fetching the Electron binary (node node_modules/electron/install.js)…');
  if (!run(process.execPath, [path.join(electronDir, 'install.js')], { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '' }) || !electronBinary()) {
    console.error('Could not download Electron (github.com/electron/electron/releases unreachable?).');
    process.exit(1);
  }
}
if (!fs.existsSync(path.join(root, 'native', 'electron', 'better_sqlite3.node'))) {
  if (afterE2e) process.exit(0);
  if (!run(process.execPath, [path.join(root, 'scripts', 'prepare-electron-native.mjs')])) process.exit(1);
}
if (!afterE2e && !run(process.execPath, [path.join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'])) process.exit(1);

const playwright = [path.join(root, 'node_modules', '@playwright', 'test', 'cli.js'), 'test', '-c', 'e2e/playwright.config.ts', 'e2e/electron'];
const needsXvfb = process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;
// A display was present: `npm run test:e2e` ran them (or printed why it could not).
if (afterE2e && !needsXvfb) process.exit(0);
if (needsXvfb) {
  const has = spawnSync('sh', ['-c', 'command -v xvfb-run'], { encoding: 'utf8' }).status === 0;
  if (!has) {
    if (afterE2e) skip('no display and no xvfb-run (apt install xvfb)');
    console.error('No display and no xvfb-run: install xvfb (apt install xvfb) or run with a display.');
    process.exit(1);
  }
  process.exit(run('xvfb-run', ['-a', process.execPath, ...playwright]) ? 0 : 1);
}
process.exit(run(process.execPath, playwright) ? 0 : 1);
