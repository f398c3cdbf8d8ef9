// `sd35-studio upscalers import|list|remove` and `upscale --image --with --scale` (node out/main/cli.js): the tiny ×2
// SR graph is imported (its scale probed on the worker), an image upscaled with it lands in the gallery at twice
// the size with the closed-form pixels, Lanczos ×4 too; a graph that is not image → image and a result over the
// limits exit ≠ 0 with the reason and add nothing (docs/architecture.md §5 "Upscale", §8).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeModel, GraphBuilder } from '../../../e2e/support/onnx-builder';
import { writeSrGraph } from '../../../e2e/support/tiny-sr';
import { parseA1111, PARAMETERS_KEYWORD } from '../../../src-shared/metadata';
import { readPngInfo, encodePng } from '../../formats/png';
import { CLI } from '../../testing/processes';
import { removeTempDirs, tempDir } from '../../testing/temp';

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, SD35_ORT_THREADS: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let root: string;
let dataDir: string;
let sr: string;
let image: string;
const W = 40;
const H = 30;
const rgb = Buffer.alloc(W * H * 3);

beforeAll(() => {
  root = tempDir('sd35-upscale-');
  dataDir = path.join(root, 'data');
  sr = path.join(root, 'tiny-x2.onnx');
  writeSrGraph(sr, 'float32');
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) rgb.set([(x * 13) % 256, (y * 7) % 256, (x * y) % 256], (y * W + x) * 3);
  image = path.join(root, 'in.png');
  fs.writeFileSync(image, encodePng({ width: W, height: H, channels: 3, data: rgb }, [{ keyword: PARAMETERS_KEYWORD, text: 'a cat\nSteps: 4, Seed: 7, Size: 40x30' }]));
});
afterAll(removeTempDirs);

function galleryCount(): number {
  const r = run(['history', 'list', '--json', '--data-dir', dataDir]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim() === '' ? 0 : r.stdout.trim().split('\n').length;
}

describe('sd35-studio upscale and upscalers', () => {
  it('imports the ×2 graph (scale probed), lists it, upscales into the gallery with the closed-form pixels', async () => {
    const imp = run(['upscalers', 'import', sr, '--name', 'tiny-x2', '--json', '--data-dir', dataDir]);
    expect(imp.code, imp.stderr).toBe(0);
    expect(JSON.parse(imp.stdout.trim())).toMatchObject({ name: 'tiny-x2', scale: 2 });
    expect(fs.existsSync(path.join(dataDir, 'upscalers', 'tiny-x2.onnx'))).toBe(true);
    const list = run(['upscalers', 'list', '--json', '--data-dir', dataDir]);
    expect(JSON.parse(list.stdout.trim())).toMatchObject({ name: 'tiny-x2', scale: 2 });

    const before = galleryCount();
    const r = run(['upscale', '--image', image, '--with', 'tiny-x2', '--scale', '2', '--json', '--data-dir', dataDir]);
    expect(r.code, r.stderr).toBe(0);
    const line = JSON.parse(r.stdout.trim().split('\n').pop()!) as { path: string; width: number; height: number };
    expect([line.width, line.height]).toEqual([80, 60]);
    expect(galleryCount()).toBe(before + 1);
    const { data, info } = await sharp(line.path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([80, 60]);
    // Closed form of the graph: box3 (zero padding) of the pixel + 0.05·(2i + j).
    let worst = 0;
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < 3; c++) {
      let s = 0;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
        const yy = y + dy;
        const xx = x + dx;
        if (yy >= 0 && yy < H && xx >= 0 && xx < W) s += rgb[(yy * W + xx) * 3 + c]! / 255;
      }
      for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) {
        const want = Math.round(Math.min(1, s / 9 + 0.05 * (2 * i + j)) * 255);
        worst = Math.max(worst, Math.abs(data[((2 * y + i) * 80 + 2 * x + j) * 3 + c]! - want));
      }
    }
    expect(worst).toBeLessThanOrEqual(1);
    const params = parseA1111(readPngInfo(fs.readFileSync(line.path)).chunks.find((c) => c.keyword === PARAMETERS_KEYWORD)!.text);
    expect(params).toMatchObject({ prompt: 'a cat', seed: '7' });
    expect(params.extra).toMatchObject({ 'Postprocess upscale by': '2', 'Postprocess upscaler': 'tiny-x2' });
  });

  it('Lanczos ×4 is built in', async () => {
    const r = run(['upscale', '--image', image, '--with', 'lanczos', '--scale', '4', '--json', '--data-dir', dataDir]);
    expect(r.code, r.stderr).toBe(0);
    const line = JSON.parse(r.stdout.trim()) as { path: string };
    const meta = await sharp(line.path).metadata();
    expect([meta.width, meta.height]).toEqual([160, 120]);
  });

  it('refuses a graph that is not image → image, an unknown upscaler, a bad scale and a result over the limits', () => {
    const g = new GraphBuilder('clip');
    g.node('Cast', [g.input('input_ids', 'int64', [1, 77])], { to: { i: 1 } }, ['text_embeds']);
    g.output('text_embeds', 'float32', [1, 77]);
    const bad = path.join(root, 'clip.onnx');
    fs.writeFileSync(bad, encodeModel(g));
    const before = galleryCount();
    const imp = run(['upscalers', 'import', bad, '--data-dir', dataDir]);
    expect(imp.code).toBe(2);
    expect(imp.stderr).toMatch(/not an image → image upscaler/);
    expect(fs.existsSync(path.join(dataDir, 'upscalers', 'clip.onnx'))).toBe(false);
    const big = path.join(root, 'big.png');
    fs.writeFileSync(big, encodePng({ width: 4000, height: 8, channels: 3, data: new Uint8Array(4000 * 8 * 3) }, []));
    const cases: [string[], RegExp, number][] = [
      [['--image', image, '--with', 'nope', '--scale', '2'], /Upscaler .{0,2}nope/, 7],
      [['--image', image, '--scale', '3'], /--scale must be 2 or 4/, 2],
      [['--image', big, '--scale', '4'], /at most 8192/, 2],
      [['--image', path.join(root, 'missing.png')], /cannot be read/, 7],
    ];
    for (const [args, reason, code] of cases) {
      const r = run(['upscale', ...args, '--data-dir', dataDir]);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr, args.join(' ')).toMatch(reason);
    }
    expect(galleryCount()).toBe(before);
    const rm = run(['upscalers', 'remove', 'tiny-x2', '--data-dir', dataDir]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(run(['upscalers', 'list', '--json', '--data-dir', dataDir]).stdout.trim()).toBe('');
  });
});
