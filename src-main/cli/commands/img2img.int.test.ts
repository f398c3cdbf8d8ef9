// `sd35-studio generate --init-image … [--mask …]` as scripts use it (node out/main/cli.js) on a tiny model with a VAE
// encoder: the result in the history with A1111's img2img fields and our JSON's init; outside the mask the source
// pixels exactly; bad input (strength, mask size, a non-image, a model without the encoder) exits ≠ 0 with the
// reason and adds nothing to the gallery (docs/architecture.md §8).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../../../e2e/support/tiny-model';
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
let noEncoder: string;
let dataDir: string;
let source: string;
let mask: string;
let sourceRgb: Buffer;
let maskL: Buffer;

beforeAll(async () => {
  root = tempDir('sd35-i2i-');
  model = path.join(root, 'tiny-i2i');
  await writeTinyModel(model, { layout: 'optimum', io: 'fp32', size: 'micro', vaeEncoder: true });
  noEncoder = path.join(root, 'tiny-t2i');
  await writeTinyModel(noEncoder, { layout: 'optimum', io: 'fp32', size: 'micro' });
  dataDir = path.join(root, 'data');
  sourceRgb = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) sourceRgb.set([(x * 5) % 256, (y * 3) % 256, (x * y) % 256], (y * W + x) * 3);
  source = path.join(root, 'source.png');
  await sharp(sourceRgb, { raw: { width: W, height: H, channels: 3 } }).png().toFile(source);
  maskL = Buffer.alloc(W * H);
  for (let y = 16; y < 48; y++) for (let x = 24; x < 72; x++) maskL[y * W + x] = 255;
  mask = path.join(root, 'mask.png');
  await sharp(maskL, { raw: { width: W, height: H, channels: 1 } }).png().toFile(mask);
});

afterAll(removeTempDirs);

function galleryCount(): number {
  const r = run(['history', 'list', '--json', '--data-dir', dataDir]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim() === '' ? 0 : r.stdout.trim().split('\n').length;
}

const BASE = ['--prompt', 'a cat', '--steps', '5', '--guidance', '3', '--seed', '9', '--ep', 'cpu', '--json', '--data-dir'];

describe('sd35-studio generate --init-image', () => {
  it('inpaints: the size defaults to the source, A1111 fields and our init JSON are written, outside the mask the source exactly', async () => {
    const r = run(['generate', '--model', model, ...BASE, dataDir, '--init-image', source, '--strength', '0.6', '--mask', mask, '--mask-blur', '0']);
    expect(r.code, r.stderr).toBe(0);
    const line = JSON.parse(r.stdout.trim()) as { path: string; width: number; height: number };
    expect(line).toMatchObject({ width: W, height: H });
    const png = fs.readFileSync(line.path);
    const info = readPngInfo(png);
    const parsed = parseTextChunks(info.chunks);
    const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
    expect(parsed?.studio?.init).toEqual({ sha256: sha(source), strength: 0.6, fit: 'resize', mask: { sha256: sha(mask), blur: 0 } });
    const a1111 = parseA1111(info.chunks.find((c) => c.keyword === PARAMETERS_KEYWORD)!.text);
    expect(a1111).toMatchObject({ denoisingStrength: 0.6, maskBlur: 0, inpaintArea: 'Whole picture' });
    // the source and mask are kept content-addressed for Retry / Reuse
    expect(fs.existsSync(path.join(dataDir, 'inputs', sha(source)))).toBe(true);
    expect(fs.existsSync(path.join(dataDir, 'inputs', sha(mask)))).toBe(true);
    const out = await sharp(png).removeAlpha().raw().toBuffer();
    let changed = 0;
    for (let p = 0; p < W * H; p++) {
      for (let c = 0; c < 3; c++) {
        if (maskL[p] === 0) expect(out[p * 3 + c]).toBe(sourceRgb[p * 3 + c]);
        else if (out[p * 3 + c] !== sourceRgb[p * 3 + c]) changed++;
      }
    }
    expect(changed).toBeGreaterThan(0);
  });

  it('img2img with --width/--height and --fit crop', () => {
    const r = run(['generate', '--model', model, ...BASE, dataDir, '--init-image', source, '--strength', '0.5', '--fit', 'crop', '--width', '64', '--height', '64']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toMatchObject({ width: 64, height: 64 });
  });

  it('bad input: exit ≠ 0 with the reason, nothing added to the gallery', async () => {
    const before = galleryCount();
    const small = path.join(root, 'small-mask.png');
    await sharp(Buffer.alloc(32 * 32), { raw: { width: 32, height: 32, channels: 1 } }).png().toFile(small);
    const text = path.join(root, 'not-an-image.png');
    fs.writeFileSync(text, 'hello, I am not a PNG');
    const cases: [string[], number, RegExp][] = [
      [['--init-image', source, '--strength', '0'], 2, /strength/i],
      [['--init-image', source, '--strength', '1.5'], 2, /strength/i],
      [['--init-image', source, '--mask', small], 2, /mask is 32×32 but the init image is 96×64/],
      [['--init-image', text], 2, /not a PNG, JPEG or WebP/],
      [['--init-image', path.join(root, 'missing.png')], 7, /cannot be read/],
      [['--strength', '0.5'], 2, /need.*--init-image/],
    ];
    for (const [extra, code, reason] of cases) {
      const r = run(['generate', '--model', model, ...BASE, dataDir, ...extra]);
      expect(r.code, `${extra.join(' ')}: ${r.stderr}`).toBe(code);
      expect(r.stdout + r.stderr).toMatch(reason);
    }
    const r = run(['generate', '--model', noEncoder, ...BASE, dataDir, '--init-image', source]);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/no VAE encoder/);
    expect(galleryCount()).toBe(before);
  });
});
