// Image-to-image engine benchmark (issue #16 §4): VAE encode time, and the tiled upscaler's peak memory against the
// image size. Run: npx tsx scripts/bench/image-engine.bench.ts [--runs N] [--sizes 1,2,4]
//
// Method.
// 1. Encode: a tiny model with a VAE encoder (optimum layout, fp32 and fp16, micro) is written to a temporary folder
//    and loaded on the CPU with 1 thread; `encodeSource` (pixels → the encoder's mean → scaled latents, the inpaint
//    mask to latent size) runs at 512² and 1024² --runs times after one warm-up; the median is reported. A real-scale
//    VAE encoder is not measured: the real-scale builder (e2e/support/real-scale-model.ts) writes no encoder yet.
// 2. Tiled upscale: for each output size in MP (--sizes), a fresh process (this file with --child) loads the tiny ×2
//    SR graph (e2e/support/tiny-sr.ts), upscales a picture of half that side with the studio's tiler
//    (inference/upscale-tiles.ts: 192 px tiles, 32 px overlap) and reports its peak RSS (VmHWM) and the RSS before
//    the run, so the increase is what the tiled run needed; the accumulators alone are 16 B per output pixel.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeTinyModel } from '../../e2e/support/tiny-model';
import { writeSrGraph } from '../../e2e/support/tiny-sr';
import { encodeSource } from '../../src-main/inference/pipeline';
import { LoadedModel } from '../../src-main/inference/sessions';
import { UpscalerSession } from '../../src-main/inference/upscaler-session';
import { upscaleTiled } from '../../src-main/inference/upscale-tiles';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function kb(field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function picture(w: number, h: number): Uint8Array {
  const rgb = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rgb.set([(x * 37 + y * 11) & 255, (x * x + 3 * y) & 255, (y * 29) & 255], (y * w + x) * 3);
  return rgb;
}

async function child(mp: number, file: string): Promise<void> {
  const side = Math.round(Math.sqrt(mp * 1024 * 1024) / 2);
  const rgb = picture(side, side);
  const session = await UpscalerSession.load(file, { threads: 1 });
  await session.probeScale();
  const before = kb('VmRSS');
  const started = performance.now();
  const out = await upscaleTiled(rgb, side, side, (px, w, h) => session.run(px, w, h), { scale: 2 });
  const ms = performance.now() - started;
  console.log(JSON.stringify({ mp, side: out.width, beforeKb: before, peakKb: kb('VmHWM'), ms: Math.round(ms) }));
  await session.release();
}

async function main(): Promise<void> {
  const childAt = process.argv.indexOf('--child');
  if (childAt >= 0) return child(Number(process.argv[childAt + 1]), process.argv[childAt + 2] as string);
  const runs = Math.max(1, Number(arg('runs') ?? 3));
  const sizes = (arg('sizes') ?? '1,2,4').split(',').map(Number);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-bench-image-'));
  try {
    console.log(`VAE encode (tiny, CPU, 1 thread, median of ${runs} after a warm-up; load average ${os.loadavg()[0]!.toFixed(1)})`);
    console.log('layout/io          512²        1024²');
    for (const io of ['fp32', 'fp16'] as const) {
      const dir = path.join(tmp, `tiny-${io}`);
      await writeTinyModel(dir, { layout: 'optimum', io, size: 'micro', vaeEncoder: true });
      const model = await LoadedModel.load(dir, { ep: 'cpu', threads: 1, memory: 'fast' });
      const cells: string[] = [];
      for (const side of [512, 1024]) {
        const input = { rgb: picture(side, side), strength: 0.6, mask: new Uint8Array(side * side).fill(255) };
        await encodeSource(model, input, side, side);
        const times: number[] = [];
        for (let r = 0; r < runs; r++) {
          const t = performance.now();
          await encodeSource(model, input, side, side);
          times.push(performance.now() - t);
        }
        cells.push(`${median(times).toFixed(0)} ms`.padEnd(12));
      }
      console.log(`optimum/${io}`.padEnd(19) + cells.join(''));
      await model.release();
    }
    const sr = path.join(tmp, 'tiny-x2.onnx');
    writeSrGraph(sr, 'float32');
    console.log('\nTiled ×2 upscale (tiny SR graph, 192 px tiles, 32 px overlap; a fresh process per size)');
    console.log('result      RSS before   peak RSS   increase   accumulators   time');
    const self = fileURLToPath(import.meta.url);
    for (const mp of sizes) {
      const r = spawnSync(path.join(process.cwd(), 'node_modules', '.bin', 'tsx'), [self, '--child', String(mp), sr], { encoding: 'utf8' });
      const line = r.stdout.trim().split('\n').pop() ?? '';
      if (r.status !== 0 || !line.startsWith('{')) {
        console.log(`${mp} MP: failed (${r.stderr.trim().split('\n').pop() ?? ''})`);
        continue;
      }
      const m = JSON.parse(line) as { mp: number; side: number; beforeKb: number; peakKb: number; ms: number };
      const acc = (m.side * m.side * 16) / 1024 / 1024;
      console.log(
        `${m.side}²`.padEnd(12) +
          `${(m.beforeKb / 1024).toFixed(0)} MB`.padEnd(13) +
          `${(m.peakKb / 1024).toFixed(0)} MB`.padEnd(11) +
          `${((m.peakKb - m.beforeKb) / 1024).toFixed(0)} MB`.padEnd(11) +
          `${acc.toFixed(0)} MB`.padEnd(15) +
          `${(m.ms / 1000).toFixed(1)} s`,
      );
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
