// `sd35-studio generate` with --outpaint, --inpaint-area masked and --hires-scale (node out/main/cli.js) on a tiny model
// with a VAE encoder: sizes, the source pixels kept where they must be, the A1111 fields and our JSON; bad combinations
// exit 2 with the reason and add nothing to the gallery (docs/architecture.md §5, §8).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../../../e2e/support/tiny-model';
import { writeSrGraph } from '../../../e2e/support/tiny-sr';
import { parseA1111, parseTextChunks, PARAMETERS_KEYWORD } from '../../../src-shared/metadata';
import { readPngInfo } from '../../formats/png';
import { CLI } from '../../testing/processes';
import { removeTempDirs, tempDir } from '../../testing/temp';

const ENV = { SD35_ORT_THREADS: '1' };
const W = 96;
const H = 64;

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...ENV } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let root: string;
let model: string;
let dataDir: string;
let source: string;
let mask: string;
let sourceRgb: Buffer;

beforeAll(async () => {
  root = tempDir('sd35-passes-');
  model = path.join(root, 'tiny');
  await writeTinyModel(model, { layout: 'optimum', io: 'fp32', size: 'micro', vaeEncoder: true });
  dataDir = path.join(root, 'data');
  sourceRgb = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) sourceRgb.set([(x * 5) % 256, (y * 3) % 256, (x * y) % 256], (y * W + x) * 3);
  source = path.join(root, 'source.png');
  await sharp(sourceRgb, { raw: { width: W, height: H, channels: 3 } }).png().toFile(source);
  const maskL = Buffer.alloc(W * H);
  for (let y = 20; y < 30; y++) for (let x = 60; x < 72; x++) maskL[y * W + x] = 255;
  mask = path.join(root, 'mask.png');
  await sharp(maskL, { raw: { width: W, height: H, channels: 1 } }).png().toFile(mask);
});
afterAll(removeTempDirs);

function galleryCount(): number {
  const r = run(['history', 'list', '--json', '--data-dir', dataDir]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim() === '' ? 0 : r.stdout.trim().split('\n').length;
}

const BASE = ['--prompt', 'a cat', '--steps', '4', '--guidance', '3', '--seed', '9', '--ep', 'cpu', '--json', '--data-dir'];

async function pixels(file: string): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

function a1111Of(file: string) {
  const info = readPngInfo(fs.readFileSync(file));
  return { a1111: parseA1111(info.chunks.find((c) => c.keyword === PARAMETERS_KEYWORD)!.text), studio: parseTextChunks(info.chunks)?.studio };
}

describe('sd35-studio generate: outpaint, only masked, hires fix', () => {
  it('--outpaint grows the canvas (size default), keeps the source pixels exactly and records the sides', async () => {
    const r = run(['generate', '--model', model, ...BASE, dataDir, '--init-image', source, '--strength', '1', '--outpaint', '16,0,0,16']);
    expect(r.code, r.stderr).toBe(0);
    const line = JSON.parse(r.stdout.trim()) as { path: string };
    const img = await pixels(line.path);
    expect([img.width, img.height]).toEqual([W + 16, H + 16]);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const o = (y * img.width + x + 16) * 3;
        expect([...img.data.subarray(o, o + 3)]).toEqual([...sourceRgb.subarray((y * W + x) * 3, (y * W + x) * 3 + 3)]);
      }
    }
    const { a1111, studio } = a1111Of(line.path);
    expect(studio?.init?.outpaint).toEqual({ left: 16, top: 0, right: 0, bottom: 16 });
    expect(a1111).toMatchObject({ denoisingStrength: 1, inpaintArea: 'Whole picture' });
  });

  it('--inpaint-area masked works on the crop at --width×--height and returns the full-size image', async () => {
    const r = run(['generate', '--model', model, ...BASE, dataDir, '--init-image', source, '--mask', mask, '--mask-blur', '0', '--inpaint-area', 'masked', '--mask-padding', '4', '--width', '64', '--height', '64']);
    expect(r.code, r.stderr).toBe(0);
    const line = JSON.parse(r.stdout.trim()) as { path: string };
    const img = await pixels(line.path);
    expect([img.width, img.height]).toEqual([W, H]);
    // Outside the mask (blur 0) every pixel is the source's, inside the crop region and out of it.
    let changed = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = (y * W + x) * 3;
        const inMask = x >= 60 && x < 72 && y >= 20 && y < 30;
        if (!inMask) expect([...img.data.subarray(i, i + 3)], `${x},${y}`).toEqual([...sourceRgb.subarray(i, i + 3)]);
        else if (img.data[i] !== sourceRgb[i]) changed++;
      }
    }
    expect(changed).toBeGreaterThan(10);
    const { a1111, studio } = a1111Of(line.path);
    expect(a1111).toMatchObject({ inpaintArea: 'Only masked', maskPadding: 4, width: 64, height: 64 });
    expect(studio?.init).toMatchObject({ area: 'masked', padding: 4 });
  });

  it('--hires-scale: one job, the image at the hires size, A1111 hires fields with the base Size', async () => {
    const before = galleryCount();
    const r = run(['generate', '--model', model, ...BASE, dataDir, '--width', '64', '--height', '64', '--hires-scale', '1.5', '--hires-steps', '6', '--hires-strength', '0.5']);
    expect(r.code, r.stderr).toBe(0);
    expect(galleryCount()).toBe(before + 1);
    const line = JSON.parse(r.stdout.trim()) as { path: string };
    const img = await pixels(line.path);
    expect([img.width, img.height]).toEqual([96, 96]);
    const { a1111, studio } = a1111Of(line.path);
    expect(a1111).toMatchObject({ width: 64, height: 64, denoisingStrength: 0.5, hiresUpscale: 1.5, hiresSteps: 6, hiresUpscaler: 'Lanczos' });
    expect(studio?.hires).toEqual({ scale: 1.5, upscaler: 'lanczos', steps: 6, strength: 0.5, width: 96, height: 96 });
  });

  it('--hires-upscaler NAME: an imported SR model upscales between the passes', async () => {
    const sr = path.join(root, 'tiny-x2.onnx');
    writeSrGraph(sr, 'float16');
    expect(run(['upscalers', 'import', sr, '--data-dir', dataDir]).code).toBe(0);
    const r = run(['generate', '--model', model, ...BASE, dataDir, '--width', '64', '--height', '64', '--hires-scale', '2', '--hires-upscaler', 'tiny-x2', '--hires-strength', '0.3']);
    expect(r.code, r.stderr).toBe(0);
    const line = JSON.parse(r.stdout.trim()) as { path: string };
    const img = await pixels(line.path);
    expect([img.width, img.height]).toEqual([128, 128]);
    const { a1111, studio } = a1111Of(line.path);
    expect(a1111).toMatchObject({ hiresUpscaler: 'tiny-x2', hiresUpscale: 2 });
    expect(studio?.hires).toMatchObject({ upscaler: 'tiny-x2', width: 128, height: 128 });
  });

  it('refuses bad combinations with exit 2 and the reason, adding nothing', () => {
    const before = galleryCount();
    const cases: [string[], RegExp][] = [
      [['--init-image', source, '--mask', mask, '--outpaint', '8'], /cannot be combined with a mask/],
      [['--init-image', source, '--inpaint-area', 'masked'], /needs a mask/],
      [['--outpaint', '8'], /need.*--init-image/],
      [['--init-image', source, '--outpaint', '8,8'], /LEFT,TOP,RIGHT,BOTTOM/],
      [['--width', '1024', '--height', '1024', '--hires-scale', '2.5'], /at most 2048/],
      [['--hires-steps', '5'], /needs --hires-scale/],
      [['--hires-scale', '2', '--init-image', source], /cannot be combined with --init-image/],
      [['--hires-scale', '2', '--hires-upscaler', 'nope', '--width', '64', '--height', '64'], /Upscaler .{0,2}nope/],
    ];
    for (const [extra, reason] of cases) {
      const r = run(['generate', '--model', model, ...BASE, dataDir, ...extra]);
      expect(r.code, `${extra.join(' ')}: ${r.stderr}`).not.toBe(0);
      expect(r.stderr + r.stdout, extra.join(' ')).toMatch(reason);
    }
    expect(galleryCount()).toBe(before);
  });
});
