#!/usr/bin/env node
// `npm start`: prepares what the Electron app needs (its binary, better-sqlite3 for its ABI),
// builds, and opens the window. Says clearly what is missing when it cannot (e.g. offline).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const electronDir = path.join(root, 'node_modules', 'electron');

function electronBinary() {
  try {
    const rel = fs.readFileSync(path.join(electronDir, 'path.txt'), 'utf8').trim();
    const full = path.join(electronDir, 'dist', rel);
    return fs.existsSync(full) ? full : undefined;
  } catch {
    return undefined;
  }
}

/** The installer's reason in one line ("fetch failed", "getaddrinfo ENOTFOUND github.com"), not its stack. */
function installerCause(stderr) {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('at '));
  const line = lines.find((l) => /^(\w*Error|\[cause\]|cause:)/.test(l)) ?? lines[0];
  return line ? line.replace(/^\w*Error:\s*/, '').slice(0, 200) : undefined;
}

let binary = electronBinary();
if (!binary) {
  console.error('Electron is not downloaded yet: fetching it (node node_modules/electron/install.js)…');
  // The installer's stderr is kept back: offline it is a raw `TypeError: fetch failed` stack, and the one line
  // that says why goes into the message below instead.
  const r = spawnSync(process.execPath, [path.join(electronDir, 'install.js')], {
    stdio: ['ignore', 'inherit', 'pipe'],
    encoding: 'utf8',
    env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '' },
  });
  binary = electronBinary();
  if (r.status !== 0 || !binary) {
    const cause = installerCause(r.stderr ?? '') ?? (r.error ? r.error.message : undefined);
    console.error(
      `SD3.5 Studio cannot start: the Electron binary could not be downloaded${cause ? ` (${cause})` : ''} — are you offline?\n` +
        'Connect and run `npm start` again. Meanwhile browser mode works without Electron: `npm run -s cli -- serve`.',
    );
    process.exit(1);
  }
  if (r.stderr) process.stderr.write(r.stderr);
}

const prep = spawnSync(process.execPath, [path.join(root, 'scripts', 'prepare-electron-native.mjs')], { stdio: 'inherit' });
if (prep.status !== 0) process.exit(prep.status ?? 1);

const build = spawnSync(process.execPath, [path.join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const env = { ...process.env };
delete env.ELECTRON_RUN_AS_NODE;
const child = spawn(binary, [root, ...process.argv.slice(2)], { stdio: 'inherit', env });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
