#!/usr/bin/env node
// @ts-check
// `npm run dist`: the installer for this OS (AppImage + deb on Linux, NSIS on Windows, dmg on macOS) for
// this machine's arch. Prepares what is missing and says clearly what it could not fetch:
//   1. better-sqlite3 for Electron's ABI (scripts/prepare-electron-native.mjs) when native/electron lacks it;
//   2. the build (electron-vite) and the icon set from resources/icon.svg;
//   3. electron-builder, which downloads Electron itself (and NSIS/AppImage tools) into its cache.
// `npm run dist -- --cuda` (Linux x64) builds the separate sd35-studio-cuda artifact: onnxruntime-node's CUDA 12
// provider libraries fetched by its own installer (ONNXRUNTIME_NODE_INSTALL=cuda12) and packed beside it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderIcons } from './icons.mjs';
import { builderPlatformFlag, nativeRequirements } from './natives.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const cuda = args.includes('--cuda');
const platform = process.platform;
const arch = process.env.SD35_DIST_ARCH || process.arch;

/** @param {string} message */
function fail(message) {
  console.error(`\nnpm run dist: ${message}`);
  process.exit(1);
}

/** @param {string} cmd @param {string[]} argv @param {NodeJS.ProcessEnv} [env] */
function run(cmd, argv, env = process.env) {
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit', env, shell: process.platform === 'win32' && cmd.endsWith('.cmd') });
  return r.status === 0;
}

const flag = builderPlatformFlag(platform);
if (!flag) fail(`no installer is defined for ${platform}.`);
if (cuda && !(platform === 'linux' && arch === 'x64')) fail('the CUDA build is for Linux x64 (Windows uses DirectML, macOS CoreML).');

// 1. Native modules for the target.
if (!fs.existsSync(path.join(root, 'native', 'electron', 'better_sqlite3.node'))) {
  console.error('better-sqlite3 for Electron is missing: preparing it (npm run prepare:electron)…');
  if (!run(process.execPath, [path.join(root, 'scripts', 'prepare-electron-native.mjs')])) {
    fail('could not fetch or build better-sqlite3 for Electron (github.com prebuilds / electronjs.org headers unreachable?). Nothing was packaged.');
  }
}
if (cuda) {
  console.error('Fetching onnxruntime-node\'s CUDA 12 provider libraries (ONNXRUNTIME_NODE_INSTALL=cuda12)…');
  const ok = run(process.execPath, [path.join(root, 'node_modules', 'onnxruntime-node', 'script', 'install.js')], { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'cuda12' });
  const lib = path.join(root, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64', 'libonnxruntime_providers_cuda.so');
  if (!ok || !fs.existsSync(lib)) fail('could not fetch the CUDA provider libraries from the ONNX Runtime NuGet feed (api.nuget.org unreachable?).');
}
const missing = nativeRequirements(root, platform, arch).filter((r) => !r.ok);
if (missing.length) fail(`missing for ${platform}-${arch}:\n${missing.map((m) => `  - ${m.what} (${m.path})\n    fix: ${m.fix}`).join('\n')}`);

// 2. Build and icons.
if (!run(process.execPath, [path.join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'])) fail('the build failed.');
const { icon } = await renderIcons();
console.error(`Icons rendered: ${path.relative(root, icon)}`);

// 3. electron-builder (downloads Electron for the target into its cache).
delete process.env.ELECTRON_SKIP_BINARY_DOWNLOAD; // electron-builder needs Electron's zip for the target
const { build, Platform, Arch } = (await import('electron-builder')).default;
const target = { linux: Platform.LINUX, win32: Platform.WINDOWS, darwin: Platform.MAC }[/** @type {'linux'|'win32'|'darwin'} */ (platform)];
/** @type {Record<string, unknown>} */
const config = { extends: 'electron-builder.yml' };
if (cuda) {
  // Same app, the CUDA provider libraries packed beside onnxruntime: a separate download for NVIDIA users.
  config.artifactName = '${name}-cuda-${version}-${os}-${arch}.${ext}';
  config.deb = { packageCategory: 'graphics', priority: 'optional', recommends: ['libcudart12', 'libcublaslt12', 'nvidia-cudnn'] };
}
try {
  await build({ projectDir: root, targets: target.createTarget(null, Arch[/** @type {'x64'|'arm64'} */ (arch)]), config, publish: 'never' });
} catch (err) {
  fail(
    `electron-builder failed: ${err instanceof Error ? err.message : String(err)}\n` +
      'Offline, it cannot fetch Electron for the target (github.com/electron/electron/releases) nor its packaging tools ' +
      '(github.com/electron-userland/electron-builder-binaries); connect and run `npm run dist` again.',
  );
}
const outDir = path.join(root, 'dist');
const artifacts = fs.readdirSync(outDir).filter((f) => /\.(AppImage|deb|exe|dmg)$/.test(f));
console.error(`\nInstallers in dist/:\n${artifacts.map((a) => `  ${a}`).join('\n')}`);
