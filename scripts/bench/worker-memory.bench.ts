// Peak RSS of the inference worker per memory mode. Run:
//   npx tsx scripts/bench/worker-memory.bench.ts [--heavy MB] [--steps N] [--model DIR]
//
// Method. A tiny model whose T5 and transformer each carry ≥ MB megabytes of fp32 weights (default 600,
// streamed to disk by fixtures:tiny-model --heavy, cached under the temp folder) is generated once per
// memory mode (fast, balanced, low) on the CPU, each in a fresh worker process (the real out/main/worker.js
// through InferenceHost, as the app runs it; build first). After the generation the worker's peak resident
// set is read from the kernel (/proc/<pid>/status VmHWM: the high-water mark over its whole life), so
// nothing is sampled on a timer. One image, 64×64, 2 steps, guidance 4.5 (both passes of CFG), one thread.
// What the modes should show: fast keeps T5 and the transformer resident together; balanced frees the text
// encoders before denoising; low holds one component at a time.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeTinyModel } from '../../e2e/support/tiny-model';
import { forkSpawner } from '../../src-main/core/node-adapters';
import { InferenceHost } from '../../src-main/inference/host';
import type { MemoryMode } from '../../src-main/inference/sessions';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const heavyMb = Number(arg('heavy') ?? 600);
const steps = Number(arg('steps') ?? 2);
const root = path.resolve(__dirname, '..', '..');
const entry = path.join(root, 'out', 'main', 'worker.js');

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(0)} MB`;
}

/** VmHWM of a live process in bytes (Linux), else undefined. */
function peakRss(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function folderBytes(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    n += e.isDirectory() ? folderBytes(p) : fs.statSync(p).size;
  }
  return n;
}

async function heavyModel(): Promise<string> {
  const given = arg('model');
  if (given) return path.resolve(given);
  const dir = path.join(os.tmpdir(), `sd35-bench-heavy-${heavyMb}mb`);
  const marker = `${dir}.complete`;
  if (!fs.existsSync(marker)) {
    fs.rmSync(dir, { recursive: true, force: true });
    const t0 = Date.now();
    const bytes = Math.round(heavyMb * 1e6);
    await writeTinyModel(dir, { layout: 'optimum', io: 'fp32', size: 'micro', t5Bytes: bytes, transformerBytes: bytes, generatedTokenizers: true });
    fs.writeFileSync(marker, '');
    console.log(`wrote the heavy tiny model to ${dir} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  return dir;
}

async function main(): Promise<void> {
  if (!fs.existsSync(entry)) {
    console.log(`skipped: ${entry} is missing (run npm run -s build first)`);
    return;
  }
  if (process.platform !== 'linux') {
    console.log('skipped: peak RSS is read from /proc/<pid>/status (Linux only)');
    return;
  }
  const folder = await heavyModel();
  const sizeOf = (c: string) => folderBytes(path.join(folder, c));
  console.log(
    `model: ${folder} — T5 ${mb(sizeOf('text_encoder_3'))}, transformer ${mb(sizeOf('transformer'))}, ` +
      `CLIP-L ${mb(sizeOf('text_encoder'))}, CLIP-G ${mb(sizeOf('text_encoder_2'))}, VAE ${mb(sizeOf('vae_decoder'))} (fp32 weights)`,
  );
  console.log(`one image 64×64, ${steps} steps, guidance 4.5, CPU, 1 thread; a fresh worker per mode\n`);
  const rows: { mode: MemoryMode; peak?: number; ms: number }[] = [];
  for (const mode of ['fast', 'balanced', 'low'] as const) {
    const host = new InferenceHost({ spawner: forkSpawner, entry, threads: 1, env: { ...process.env }, log: () => undefined });
    try {
      const t0 = Date.now();
      await host.generate({
        folder,
        ep: 'cpu',
        memory: mode,
        request: { prompt: 'a lighthouse at dusk', negativePrompt: 'blurry', seed: '42', steps, guidance: 4.5, width: 64, height: 64, t5: true },
      });
      const ms = Date.now() - t0;
      const pid = host.pid;
      rows.push({ mode, ms, ...(pid !== undefined ? { peak: peakRss(pid) } : {}) });
    } finally {
      await host.dispose();
    }
  }
  console.log('mode       peak worker RSS   time (load + generate)');
  for (const r of rows) console.log(`${r.mode.padEnd(10)} ${(r.peak === undefined ? 'n/a' : mb(r.peak)).padStart(15)}   ${(r.ms / 1000).toFixed(1)} s`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
