import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { LINUX_SIZES, renderIcons } from './icons.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-icons-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the icon set', () => {
  it('renders every size from resources/icon.svg: a 1024 px PNG for icns/ico and the Linux sizes', async () => {
    const { icon, linuxDir } = await renderIcons({ outDir: dir });
    const big = await sharp(icon).metadata();
    expect([big.width, big.height, big.format, big.hasAlpha]).toEqual([1024, 1024, 'png', true]);
    for (const size of LINUX_SIZES) {
      const m = await sharp(path.join(linuxDir, `${size}x${size}.png`)).metadata();
      expect([m.width, m.height], `${size}`).toEqual([size, size]);
    }
    // A picture, not a blank: the corners are transparent (rounded square), the centre is opaque and bright.
    const { data, info } = await sharp(icon).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + info.channels);
    expect(at(2, 2)[3]).toBe(0);
    expect(at(512, 470)[3]).toBe(255);
    expect(at(512, 470)[0]!).toBeGreaterThan(200);
  });
});
