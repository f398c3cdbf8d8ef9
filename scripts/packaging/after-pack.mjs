// @ts-check
// electron-builder afterPack hook: harden the packed app with its fuses (fuses.mjs) before it is signed
// and wrapped into the installer, and fail the build if they do not read back as set.
import { applyFuses, electronBinaryIn } from './fuses.mjs';

/** @param {{ appOutDir: string, electronPlatformName: string, packager: { appInfo: { productFilename: string }, executableName?: string } }} context */
export default async function afterPack(context) {
  const binary = electronBinaryIn(context.appOutDir, context.electronPlatformName, {
    productFilename: context.packager.appInfo.productFilename,
    executableName: context.packager.executableName,
  });
  await applyFuses(binary, context.electronPlatformName);
  console.log(`  • fuses set and read back  binary=${binary}`);
}
