#!/usr/bin/env node
// Builds better-sqlite3 for Electron's ABI into native/electron/, beside (not instead of) the
// Node-ABI build in node_modules that the tests and the CLI use. Tries the published prebuild
// first (prebuild-install), then a source build against Electron's headers (node-gyp). Both need
// the internet; offline, it says so and exits non-zero.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeAbiOf } from './packaging/native-abi.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const electronVersion = JSON.parse(fs.readFileSync(path.join(root, 'node_modules', 'electron', 'package.json'), 'utf8')).version;
const electronAbi = Number(fs.readFileSync(path.join(root, 'node_modules', 'electron', 'abi_version'), 'utf8').trim());
const target = path.join(root, 'native', 'electron', 'better_sqlite3.node');
const stamp = path.join(root, 'native', 'electron', 'electron-version.txt');

/** Only a binary Node refuses with Electron's NODE_MODULE_VERSION is the Electron build. */
function isElectronBuild(file) {
  const found = nativeAbiOf(file);
  if (found.abi === electronAbi) return true;
  console.error(`${path.relative(root, file)} is not built for Electron ${electronVersion} (ABI ${electronAbi}): ${found.abi === 'node' ? "it is Node's own build" : found.abi === 'unknown' ? found.reason : `ABI ${found.abi}`}.`);
  return false;
}

if (fs.existsSync(target) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === electronVersion && !process.argv.includes('--force') && isElectronBuild(target)) {
  console.error(`better-sqlite3 for Electron ${electronVersion} is ready.`);
  process.exit(0);
}

const src = path.dirname(require.resolve('better-sqlite3/package.json'));
const work = path.join(root, 'native', '.build', 'better-sqlite3');
fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(path.dirname(work), { recursive: true });
fs.cpSync(src, work, { recursive: true, filter: (p) => !p.includes(`${path.sep}build${path.sep}`) && !p.endsWith(`${path.sep}build`) });

console.error(`Preparing better-sqlite3 for Electron ${electronVersion} (${process.platform}-${process.arch})…`);
const bin = (name) => path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name);
const attempts = [
  [bin('prebuild-install'), ['--runtime', 'electron', '--target', electronVersion, '--arch', process.arch, '--verbose']],
  [bin('node-gyp'), ['rebuild', '--release', `--target=${electronVersion}`, `--arch=${process.arch}`, '--dist-url=https://electronjs.org/headers']],
];
// A Node toolchain's nodedir (scripts/ci/use-node.sh sets npm_config_nodedir) would make node-gyp build
// against Node's headers instead of Electron's: keep it and any other target override out of the build.
const env = { ...process.env };
for (const key of Object.keys(env)) if (/^npm_config_(nodedir|target|runtime|disturl|dist_url)$/i.test(key)) delete env[key];
let ok = false;
for (const [cmd, args] of attempts) {
  if (!fs.existsSync(cmd)) continue;
  const r = spawnSync(cmd, args, { cwd: work, stdio: ['ignore', 'inherit', 'inherit'], shell: process.platform === 'win32', env });
  const built = path.join(work, 'build', 'Release', 'better_sqlite3.node');
  if (r.status === 0 && fs.existsSync(built) && isElectronBuild(built)) {
    ok = true;
    break;
  }
}
if (!ok) {
  console.error(
    '\nCould not prepare better-sqlite3 for Electron: both the prebuilt download and the build against Electron\'s headers need the internet.\n' +
      'Connect and run `npm run prepare:electron` again. (Tests and the CLI do not need this: they use the Node build.)',
  );
  process.exit(1);
}
fs.mkdirSync(path.dirname(target), { recursive: true });
fs.copyFileSync(path.join(work, 'build', 'Release', 'better_sqlite3.node'), target);
fs.writeFileSync(stamp, electronVersion);
fs.rmSync(path.join(root, 'native', '.build'), { recursive: true, force: true });
console.error(`Ready: ${path.relative(root, target)}`);
