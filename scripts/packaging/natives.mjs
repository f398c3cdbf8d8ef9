// @ts-check
// What a packaged build needs on disk before electron-builder runs, per target OS/arch, and the one
// sentence to say when something is missing (used by dist.mjs; tested in natives.test.ts).
import fs from 'node:fs';
import path from 'node:path';

/**
 * @param {string} root the repository
 * @param {string} platform process.platform of the target (dist builds for this machine's OS)
 * @param {string} arch
 * @returns {{ what: string, path: string, ok: boolean, fix: string }[]}
 */
export function nativeRequirements(root, platform, arch) {
  const ort = path.join(root, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', platform, arch, 'onnxruntime_binding.node');
  const libc = platform === 'linux' ? (fs.existsSync(path.join(root, 'node_modules', '@img', `sharp-linuxmusl-${arch}`)) ? 'linuxmusl' : 'linux') : platform;
  const sharpPkg = path.join(root, 'node_modules', '@img', `sharp-${libc}-${arch}`);
  const sqlite = path.join(root, 'native', 'electron', 'better_sqlite3.node');
  return [
    {
      what: `ONNX Runtime for ${platform}-${arch}`,
      path: ort,
      ok: fs.existsSync(ort),
      fix: `onnxruntime-node ${readVersion(root, 'onnxruntime-node')} ships no ${platform}/${arch} binary; build this arch with a version that does`,
    },
    {
      what: `sharp (libvips) for ${platform}-${arch}`,
      path: sharpPkg,
      ok: fs.existsSync(sharpPkg),
      fix: `npm install --os=${platform} --cpu=${arch} sharp (fetches @img/sharp-${libc}-${arch} from the npm registry)`,
    },
    {
      what: 'better-sqlite3 for Electron (Electron ABI)',
      path: sqlite,
      ok: fs.existsSync(sqlite),
      fix: 'npm run prepare:electron (fetches the prebuilt binary from GitHub, or builds against Electron headers from electronjs.org)',
    },
  ];
}

/** @param {string} root @param {string} name */
function readVersion(root, name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

/** electron-builder's CLI flag for this OS. @param {string} platform */
export function builderPlatformFlag(platform) {
  return { linux: '--linux', win32: '--win', darwin: '--mac' }[platform];
}
