// @ts-check
// The Electron fuses of the packaged app, as data (tested in fuses.test.ts), and the afterPack step that
// flips them with @electron/fuses and reads them back. Fuses are bits in the Electron binary itself: they
// cannot be turned back on by an environment variable or a command-line switch.
//  - RunAsNode off: ELECTRON_RUN_AS_NODE cannot turn the app into a plain Node (the CLI is `<app> cli` instead);
//  - NODE_OPTIONS and --inspect/--inspect-brk off: no code injected at start, no debugger attached;
//  - cookies encrypted with the OS key store; the app loaded only from its asar, checked against the
//    integrity hash electron-builder embeds (macOS and Windows); file:// without extra privileges (we use studio://).
import path from 'node:path';
import fs from 'node:fs';

/** Fuse name (as @electron/fuses' FuseV1Options names it) → the value the packaged app must have. */
export const REQUIRED_FUSES = Object.freeze({
  RunAsNode: false,
  EnableNodeOptionsEnvironmentVariable: false,
  EnableNodeCliInspectArguments: false,
  EnableCookieEncryption: true,
  EnableEmbeddedAsarIntegrityValidation: true,
  OnlyLoadAppFromAsar: true,
  GrantFileProtocolExtraPrivileges: false,
});

/**
 * The @electron/fuses config for REQUIRED_FUSES.
 * @param {{ FuseVersion: { V1: string }, FuseV1Options: Record<string, number | string> }} fuses the @electron/fuses module
 * @param {string} platform electronPlatformName (darwin, mas, win32, linux)
 */
export function fuseConfig(fuses, platform) {
  /** @type {Record<string | number, unknown>} */
  const config = {
    version: fuses.FuseVersion.V1,
    // Flipping a fuse changes the binary: re-sign ad hoc on macOS so arm64 still launches unsigned builds
    // (a configured identity signs after afterPack anyway).
    resetAdHocDarwinSignature: platform === 'darwin' || platform === 'mas',
  };
  for (const [name, value] of Object.entries(REQUIRED_FUSES)) {
    const index = fuses.FuseV1Options[name];
    if (typeof index !== 'number') throw new Error(`@electron/fuses does not know the ${name} fuse`);
    config[index] = value;
  }
  return config;
}

/**
 * The Electron executable inside electron-builder's appOutDir.
 * @param {string} appOutDir
 * @param {string} platform
 * @param {{ productFilename: string, executableName?: string }} names
 */
export function electronBinaryIn(appOutDir, platform, names) {
  const candidates =
    platform === 'darwin' || platform === 'mas'
      ? [path.join(appOutDir, `${names.productFilename}.app`)]
      : platform === 'win32'
        ? [names.executableName, names.productFilename].filter(Boolean).map((n) => path.join(appOutDir, `${n}.exe`))
        : [names.executableName, names.productFilename].filter(Boolean).map((n) => path.join(appOutDir, String(n)));
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`No Electron executable in ${appOutDir} (looked for ${candidates.join(', ')})`);
  return found;
}

/**
 * Reads the fuse wire back and lists every fuse that differs from REQUIRED_FUSES.
 * @param {{ FuseV1Options: Record<string, number | string>, FuseState?: unknown }} fuses
 * @param {Record<string | number, unknown>} wire getCurrentFuseWire's result
 */
export function fuseMismatches(fuses, wire) {
  // FuseState bytes: 48 ('0') disabled, 49 ('1') enabled, 114 ('r') removed; absent = no such fuse in this binary.
  const mismatches = [];
  for (const [name, want] of Object.entries(REQUIRED_FUSES)) {
    const state = wire[/** @type {number} */ (fuses.FuseV1Options[name])];
    if (state !== (want ? 49 : 48)) mismatches.push(`${name}: want ${want ? 'on' : 'off'}, found ${state === undefined ? 'no such fuse' : String(state)}`);
  }
  return mismatches;
}

/**
 * Flips the fuses of one packed app and proves they read back as set.
 * @param {string} binary
 * @param {string} platform
 */
export async function applyFuses(binary, platform) {
  const fuses = await import('@electron/fuses');
  await fuses.flipFuses(binary, /** @type {any} */ (fuseConfig(/** @type {any} */ (fuses), platform)));
  const wire = await fuses.getCurrentFuseWire(binary);
  const bad = fuseMismatches(/** @type {any} */ (fuses), /** @type {any} */ (wire));
  if (bad.length) throw new Error(`Fuses of ${binary} did not read back as set: ${bad.join('; ')}`);
  return wire;
}
