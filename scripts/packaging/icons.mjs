// @ts-check
// Every platform icon from one source, resources/icon.svg, rendered with sharp into out/icons/:
// icon.png (1024 px: electron-builder makes the macOS .icns and the Windows .ico from it at build time)
// and linux/<size>x<size>.png (the hicolor sizes the desktop entry uses).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

export const LINUX_SIZES = [16, 24, 32, 48, 64, 128, 256, 512, 1024];
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * @param {{ source?: string, outDir?: string }} [options]
 * @returns {Promise<{ icon: string, linuxDir: string }>}
 */
export async function renderIcons(options = {}) {
  const source = options.source ?? path.join(root, 'resources', 'icon.svg');
  const outDir = options.outDir ?? path.join(root, 'out', 'icons');
  const svg = fs.readFileSync(source);
  const linuxDir = path.join(outDir, 'linux');
  fs.mkdirSync(linuxDir, { recursive: true });
  const icon = path.join(outDir, 'icon.png');
  await sharp(svg, { density: 144 }).resize(1024, 1024).png().toFile(icon);
  for (const size of LINUX_SIZES) {
    await sharp(svg, { density: Math.max(72, Math.ceil((72 * size) / 1024) * 2) }).resize(size, size).png().toFile(path.join(linuxDir, `${size}x${size}.png`));
  }
  return { icon, linuxDir };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { icon } = await renderIcons();
  console.error(`Icons rendered from resources/icon.svg: ${path.relative(root, icon)} and ${LINUX_SIZES.length} Linux sizes.`);
}
