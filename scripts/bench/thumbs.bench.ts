// Thumbnail benchmark: 1024×1024 PNG → 256 px WebP, images per second, sharp against ImageMagick.
// Run: npx tsx scripts/bench/thumbs.bench.ts [--images N]
//
// Method (figures, not pass/fail; goal from issue #3: sharp at least 3× ImageMagick):
//  - N (default 48) 1024×1024 RGB PNGs are written with our own encoder (src-main/formats/png.ts,
//    the bytes the studio stores): smooth colour fields plus fine noise, so they compress like real
//    generations (~1.5–2.5 MB each) rather than like flat test cards.
//  - sharp: the studio's own path, makeThumb() (resize to fit 256, WebP quality 78, effort 2) through a
//    TaskQueue of concurrency 2 — what the gallery runs. Also sharp one at a time.
//  - ImageMagick: `convert in.png -thumbnail 256x256 out.webp`, two processes at once (like sharp's two
//    jobs), on the same files in the same run. Uses /usr/bin/convert only when it is the real
//    ImageMagick (`convert -version` says so); otherwise prints how to install it.
//  - Each contender runs once on all files as a warm-up (page cache, JIT), then the timed run; the two
//    are interleaved twice (sharp, IM, sharp, IM) and the better of each is kept.
// The machine's load average is printed: other processes share its 2 cores.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { encodePng } from '../../src-main/formats/png';
import { makeThumb, TaskQueue } from '../../src-main/core/images/thumbs';
import { rng } from '../../src-main/testing/history/prompts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const n = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

const N = arg('--images', 48);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-thumbs-bench-'));
const out = path.join(dir, 'out');
fs.mkdirSync(out);

console.log(`thumbnail benchmark: ${N} × 1024×1024 PNG → 256 px WebP in ${dir}`);
console.log(`machine: ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}, libvips threads per image ${sharp.concurrency()}`);

// ---- inputs ----
function makeImage(seed: number): Uint8Array {
  const r = rng(seed);
  const w = 1024;
  const data = new Uint8Array(w * w * 3);
  const f = [r() * 0.02 + 0.002, r() * 0.02 + 0.002, r() * 0.02 + 0.002];
  const ph = [r() * 6, r() * 6, r() * 6];
  for (let y = 0; y < w; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      for (let c = 0; c < 3; c++) {
        const v = 128 + 90 * Math.sin(x * f[c]! + ph[c]!) * Math.cos(y * f[(c + 1) % 3]! + ph[c]!) + (r() - 0.5) * 24;
        data[o + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return data;
}
const files: string[] = [];
let bytes = 0;
for (let i = 0; i < N; i++) {
  const file = path.join(dir, `${i}.png`);
  const png = encodePng({ width: 1024, height: 1024, channels: 3, data: makeImage(i + 1) }, [{ keyword: 'parameters', text: `bench ${i}` }]);
  fs.writeFileSync(file, png);
  files.push(file);
  bytes += png.length;
}
console.log(`inputs: average ${(bytes / N / 1024 / 1024).toFixed(2)} MB per PNG`);

// ---- contenders ----
async function runSharp(concurrency: number, tag: string): Promise<number> {
  const q = new TaskQueue(concurrency);
  const start = performance.now();
  await Promise.all(files.map((f, i) => q.run(() => makeThumb(f, path.join(out, `${tag}-${i}-256.webp`), 256))));
  return performance.now() - start;
}

function convertOne(bin: string, src: string, dest: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(bin, [src, '-thumbnail', '256x256', dest], (err) => (err ? reject(err) : resolve()));
  });
}

async function runMagick(bin: string, concurrency: number, tag: string): Promise<number> {
  const q = new TaskQueue(concurrency);
  const start = performance.now();
  await Promise.all(files.map((f, i) => q.run(() => convertOne(bin, f, path.join(out, `${tag}-${i}-256.webp`)))));
  return performance.now() - start;
}

function realMagick(): string | undefined {
  const bin = '/usr/bin/convert';
  try {
    const v = execFileSync(bin, ['-version'], { encoding: 'utf8' });
    return /ImageMagick/.test(v) ? bin : undefined;
  } catch {
    return undefined;
  }
}

const rate = (ms: number): number => (N / ms) * 1000;

async function main(): Promise<void> {
  await runSharp(2, 'warm');
  const sharp2 = Math.min(await runSharp(2, 'a'), await runSharp(2, 'b'));
  const sharp1 = await runSharp(1, 'c');
  const probe = await sharp(path.join(out, 'a-0-256.webp')).metadata();
  console.log(`\nsharp (makeThumb, queue of 2):  ${rate(sharp2).toFixed(1)} images/s  (${(sharp2 / N).toFixed(1)} ms per image wall time; output ${probe.width}×${probe.height} ${probe.format})`);
  console.log(`sharp, one at a time:           ${rate(sharp1).toFixed(1)} images/s`);
  const bin = realMagick();
  if (!bin) {
    console.log('ImageMagick: /usr/bin/convert is not the real ImageMagick here; install it with `apt-get install -y imagemagick` to compare.');
  } else {
    const version = execFileSync(bin, ['-version'], { encoding: 'utf8' }).split('\n')[0];
    await runMagick(bin, 2, 'warm-im');
    const im2 = Math.min(await runMagick(bin, 2, 'd'), await runMagick(bin, 2, 'e'));
    const imProbe = await sharp(path.join(out, 'd-0-256.webp')).metadata();
    console.log(`ImageMagick convert -thumbnail, 2 processes: ${rate(im2).toFixed(1)} images/s  (${version}; output ${imProbe.width}×${imProbe.height} ${imProbe.format})`);
    const ratio = rate(sharp2) / rate(im2);
    console.log(`\nsharp / ImageMagick: ${ratio.toFixed(2)}× — goal ≥ 3×: ${ratio >= 3 ? 'met' : 'NOT met'}`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(1);
});
