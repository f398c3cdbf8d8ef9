// The engine at the real models' size. Run: `npm run bench -- real-scale [--scale medium|large] [--dir DIR]
// [--budget GB] [--full]` (build first for --full). Figures and method, not pass/fail.
//
// Method. e2e/support/real-scale-model.ts writes the components with the published dimensions (fp16 weights, fp32
// I/O, TensorStack's layout) under DIR (default /work/realscale/<scale>, outside any repo), streaming, once.
// 1. Per component, in a fresh Node process (ONNX Runtime on the CPU, one thread, graph optimizations on, as the
//    worker creates sessions): session creation time, one run at the pipeline's shapes (CLIP 2×77 tokens, T5 2×256,
//    the transformer one CFG step [2,16,h/8,w/8] with 333 context tokens at 512², VAE one latent at 512² and 1024²),
//    and the process's peak RSS (VmHWM, /proc/self/status). That is the low memory mode's peak for the phase the
//    component runs alone in; it is set against the fit formula's estimate for that phase (src-shared/catalog.ts:
//    the weights × 2 on the CPU + one run's working memory + the process).
// 2. --full: per memory mode, the real worker (out/main/worker.js through InferenceHost) generates one 512² image
//    (2 steps) and its VmHWM is set against peakMemoryBytes for that mode; then time to first image.
// Memory safety: a measurement whose estimated peak is above --budget GB (default 8) or above the memory free now
// is not started; it is listed as not measured, with the reason (`--full --ignore-free` drops the second condition).
// Options of --full: --size PX, --steps N, --modes fast,balanced,low, --no-t5, --raw-cpu-s S.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CATALOG, CPU_FP16_WEIGHT_FACTOR, cpuPhasePeaks, fitCheck } from '../../src-shared/catalog';
import { REAL_COMPONENTS, writeRealComponent, type RealComponent, type RealScale } from '../../e2e/support/real-scale-model';

const GB = 1e9;
const root = path.resolve(__dirname, '..', '..');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function peakRss(): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

function availableBytes(): number {
  const m = /^MemAvailable:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
  return m ? Number(m[1]) * 1024 : os.freemem();
}

/**
 * The fit formula's estimate for one component alone (the low mode's phase, catalog.ts cpuPhasePeaks): the
 * transformer at the largest size measured (its attention grows with it), the VAE decoding 1024², an encoder its
 * weights × 2 + one run's allowance + the process.
 */
function phaseEstimate(component: RealComponent, fp16Bytes: number, scale: RealScale): number {
  const v = CATALOG[scale === 'medium' ? 'sd3.5-medium' : 'sd3.5-large'];
  const sizes = arg('transformer-sizes')?.split(',').map(Number) ?? (process.argv.includes('--1024') ? [512, 1024] : [512]);
  if (component === 'unet') return cpuPhasePeaks(v, 'low', true, CPU_FP16_WEIGHT_FACTOR, Math.max(...sizes) ** 2).denoise;
  if (component === 'vae_decoder') return cpuPhasePeaks({ ...v, components: { ...v.components, transformer: 0, clipL: 0, clipG: 0, t5: 0 } }, 'low', false).decode;
  return fp16Bytes * CPU_FP16_WEIGHT_FACTOR + 1 * GB + 1 * GB;
}

// ---------------------------------------------------------------------------------------------
// Child: one component, one session, one or two runs.

async function child(dir: string, component: RealComponent): Promise<void> {
  const { ort } = await import('../../src-main/inference/ort');
  const file = path.join(dir, component, 'model.onnx');
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(file, { executionProviders: ['cpu'], intraOpNumThreads: 1, graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  const createMs = performance.now() - t0;
  const afterCreate = peakRss();
  const f32 = (dims: number[], v = 0.1) => new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(v), dims);
  const runs: { label: string; ms: number; cpuMs: number; peakAfter: number }[] = [];
  const time = async (label: string, feeds: Record<string, unknown>) => {
    const t = performance.now();
    const c = process.cpuUsage();
    await session.run(feeds as never);
    const used = process.cpuUsage(c);
    // CPU time (user + system) beside wall time: on a loaded machine it is the steadier figure.
    // peakAfter: VmHWM after this run; runs go from small to large, so it is this run's peak.
    runs.push({ label, ms: performance.now() - t, cpuMs: (used.user + used.system) / 1000, peakAfter: peakRss() });
    // Each run as it ends (stderr, shown live): a long run that is stopped keeps the runs before it.
    process.stderr.write(`  ${component}: ${JSON.stringify(runs[runs.length - 1])}\n`);
  };
  if (component === 'text_encoder') await time('2×77 tokens', { input_ids: new ort.Tensor('int32', new Int32Array(154).fill(320), [2, 77]) });
  else if (component === 'text_encoder_2') await time('2×77 tokens', { input_ids: new ort.Tensor('int64', new BigInt64Array(154).fill(320n), [2, 77]) });
  else if (component === 'text_encoder_3') await time('2×256 tokens', { input_ids: new ort.Tensor('int64', new BigInt64Array(512).fill(32n), [2, 256]) });
  else if (component === 'vae_decoder') {
    await time('512²', { latent_sample: f32([1, 16, 64, 64]) });
    await time('1024²', { latent_sample: f32([1, 16, 128, 128]) });
  } else {
    const step = (s: number) => ({ hidden_states: f32([2, 16, s, s]), timestep: f32([2], 500), encoder_hidden_states: f32([2, 333, 4096]), pooled_projections: f32([2, 2048]) });
    // --transformer-sizes 512,768,1024 (default 512; --1024 = 512,1024), smallest first.
    const sizes = (arg('transformer-sizes')?.split(',').map(Number) ?? (process.argv.includes('--1024') ? [512, 1024] : [512])).sort((a, b) => a - b);
    for (const px of sizes) await time(`one CFG step at ${px}²`, step(px / 8));
  }
  await session.release();
  process.stdout.write(`${JSON.stringify({ component, createMs, afterCreate, peak: peakRss(), runs })}\n`);
}

// ---------------------------------------------------------------------------------------------
// Parent

interface Row {
  component: RealComponent;
  fp16Bytes: number;
  estimate: number;
  measured?: { createMs: number; peak: number; afterCreate: number; runs: { label: string; ms: number; cpuMs?: number; peakAfter?: number }[] };
  skipped?: string;
}

async function main(): Promise<void> {
  const childIndex = process.argv.indexOf('--child');
  if (childIndex >= 0) return child(process.argv[childIndex + 1]!, process.argv[childIndex + 2] as RealComponent);
  if (process.platform !== 'linux') {
    console.log('skipped: peak RSS is read from /proc (Linux only)');
    return;
  }
  const scale = (arg('scale') ?? 'medium') as RealScale;
  const dir = path.resolve(arg('dir') ?? path.join('/work/realscale', scale));
  const budget = Number(arg('budget') ?? 8) * GB;
  // --components none: only --full (names that are not components are dropped).
  const wanted = (arg('components')?.split(',') ?? [...REAL_COMPONENTS]).filter((c): c is RealComponent => (REAL_COMPONENTS as readonly string[]).includes(c));
  console.log(`SD3.5 ${scale} at real size in ${dir}; CPU, one thread; budget ${budget / GB} GB per measurement`);
  const rows: Row[] = [];
  for (const component of wanted) {
    // The fit formula's size of the component (catalog.ts, the published fp16 files), as the estimate uses it.
    const sizes = CATALOG[scale === 'medium' ? 'sd3.5-medium' : 'sd3.5-large'].components;
    const fp16Bytes = { text_encoder: sizes.clipL, text_encoder_2: sizes.clipG, text_encoder_3: sizes.t5, unet: sizes.transformer, vae_decoder: sizes.vaeDecoder }[component];
    const estimate = phaseEstimate(component, fp16Bytes, scale);
    const row: Row = { component, fp16Bytes, estimate };
    rows.push(row);
    const free = availableBytes();
    if (estimate > budget) {
      row.skipped = `estimated peak ${(estimate / GB).toFixed(1)} GB is over the ${budget / GB} GB budget`;
      continue;
    }
    if (estimate > free - 2 * GB) {
      row.skipped = `estimated peak ${(estimate / GB).toFixed(1)} GB; only ${(free / GB).toFixed(1)} GB available now`;
      continue;
    }
    const marker = path.join(dir, component, '.complete');
    if (!fs.existsSync(marker)) {
      const t0 = Date.now();
      writeRealComponent(dir, scale, component);
      fs.writeFileSync(marker, '');
      console.log(`wrote ${component} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
    const r = spawnSync(process.execPath, ['--import', 'tsx', __filename, '--child', dir, component, ...(process.argv.includes('--1024') ? ['--1024'] : []), ...(arg('transformer-sizes') ? ['--transformer-sizes', arg('transformer-sizes')!] : [])], {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 1 << 20,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    try {
      row.measured = JSON.parse(line) as Row['measured'];
    } catch {
      row.skipped = `the measuring process failed (status ${r.status}, signal ${r.signal ?? 'none'}; its output is above)`;
    }
  }
  console.log('\nPer component (low mode: one phase resident), peak RSS against the fit formula:');
  console.log('component        fp16 weights  estimate   measured   ratio   session   runs');
  for (const r of rows) {
    const m = r.measured;
    const cells = [
      r.component.padEnd(15),
      `${(r.fp16Bytes / GB).toFixed(2)} GB`.padStart(12),
      `${(r.estimate / GB).toFixed(2)} GB`.padStart(9),
      m ? `${(m.peak / GB).toFixed(2)} GB`.padStart(9) : '        —',
      m ? `${(r.estimate / m.peak).toFixed(2)}×`.padStart(6) : '     —',
      m ? `${(m.createMs / 1000).toFixed(1)} s`.padStart(8) : '       —',
      m ? m.runs.map((x) => `${x.label} ${(x.ms / 1000).toFixed(2)} s` + (x.cpuMs !== undefined ? ` (CPU ${(x.cpuMs / 1000).toFixed(2)} s)` : '') + (x.peakAfter !== undefined ? ` [peak ${(x.peakAfter / GB).toFixed(2)} GB]` : '')).join(', ') : `not measured: ${r.skipped}`,
    ];
    console.log(cells.join('  '));
  }
  const unet = rows.find((r) => r.component === 'unet')?.measured?.runs.find((x) => x.label === 'one CFG step at 512²');
  // --raw-cpu-s S: the lone session's CPU seconds per CFG step from an earlier run (the per-component part is long).
  const rawCpuMs = unet?.cpuMs ?? (arg('raw-cpu-s') !== undefined ? Number(arg('raw-cpu-s')) * 1000 : undefined);
  if (process.argv.includes('--full')) await full(scale, dir, budget, unet?.ms, rawCpuMs);
}

/** The worker's memory figures from /proc (peak and current resident set). */
function workerMemory(pid: number | undefined): { peak: number; rss: number; anon: number; file: number } {
  if (pid === undefined) return { peak: NaN, rss: NaN, anon: NaN, file: NaN };
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : NaN;
  };
  return { peak: kb('VmHWM'), rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

/** CPU time (user + system, ms) the process `pid` has used so far, from /proc/<pid>/stat (clock ticks of 10 ms). */
function workerCpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The fields after the command name "(…)": state is field 3; utime and stime are fields 14 and 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) * 10;
}

/**
 * --full: the real worker per memory mode (VmHWM against peakMemoryBytes), time to first image, the denoising
 * step against raw `session.run`, and what each mode keeps resident between jobs (VmRSS after the image).
 * Options: --modes fast,balanced,low (default: all), --steps N (default 2), --size 512, --no-t5 (the "without T5"
 * download; the folder must then have no text_encoder_3). Without --modes and --no-t5 the fit check's
 * recommendation for this machine is printed first.
 */
async function full(scale: RealScale, dir: string, budget: number, rawStepMs: number | undefined, rawCpuMs?: number): Promise<void> {
  const entry = path.join(root, 'out', 'main', 'worker.js');
  if (!fs.existsSync(entry)) {
    console.log(`--full skipped: ${entry} is missing (npm run -s build first)`);
    return;
  }
  const { InferenceHost } = await import('../../src-main/inference/host');
  const { forkSpawner } = await import('../../src-main/core/node-adapters');
  const { writeTokenizers } = await import('../../e2e/support/real-scale-model');
  const v = CATALOG[scale === 'medium' ? 'sd3.5-medium' : 'sd3.5-large'];
  const t5 = !process.argv.includes('--no-t5');
  const steps = Number(arg('steps') ?? 2);
  const size = Number(arg('size') ?? 512);
  const modes = (arg('modes')?.split(',') ?? ['fast', 'balanced', 'low']) as ('fast' | 'balanced' | 'low')[];
  const fit = fitCheck(v, { ramBytes: os.totalmem(), provider: 'cpu' });
  console.log(`\nThe fit check on this machine (${(os.totalmem() / GB).toFixed(1)} GB RAM, CPU): ${fit.message}`);
  const needed = REAL_COMPONENTS.filter((c) => t5 || c !== 'text_encoder_3');
  for (const c of needed) if (!fs.existsSync(path.join(dir, c, '.complete'))) {
    console.log(`--full needs ${c} in ${dir} (run the per-component part for it first, or pass --no-t5)`);
    return;
  }
  if (!t5 && fs.existsSync(path.join(dir, 'text_encoder_3'))) {
    console.log(`--no-t5 needs a folder without text_encoder_3 (${dir} has one)`);
    return;
  }
  if (!writeTokenizers(dir)) console.log('note: no shared tokenizers found (SD35_FIXTURES); the worker will refuse the folder');
  console.log(`\nPer memory mode (real worker, one ${size}² image, ${steps} steps, guidance 4.5, ${t5 ? 'with' : 'without'} T5, CPU, one thread):`);
  console.log('mode       estimate   VmHWM     ratio   VmRSS after   first image   load / encode / denoise / decode      step vs raw run');
  for (const mode of modes) {
    // The formula's peak for this mode at the run's size (catalog.ts cpuPhasePeaks; the fit check answers for 1024²).
    const phases = cpuPhasePeaks(v, mode, t5, CPU_FP16_WEIGHT_FACTOR, size * size);
    const est = Math.max(phases.encode, phases.denoise, phases.decode);
    // --ignore-free: run even when the memory free now is short of the estimate (the estimate is an upper bound; run
    // the bench with `echo 1000 > /proc/self/oom_score_adj` so that it, not another process, is stopped if it is not).
    if (est > budget || (!process.argv.includes('--ignore-free') && est > availableBytes() - 2 * GB)) {
      console.log(`${mode.padEnd(10)} ${(est / GB).toFixed(1)} GB   not run: over the ${budget / GB} GB budget or the memory free now (${(availableBytes() / GB).toFixed(1)} GB)`);
      continue;
    }
    const host = new InferenceHost({ spawner: forkSpawner, entry, threads: 1, env: { ...process.env }, log: () => undefined });
    try {
      const t0 = Date.now();
      // The worker's CPU time at each step event: the time between two events is one step's CPU time (the
      // transformer's run plus the loop's own work), comparable with the lone session's CPU time per run.
      const stepCpu: number[] = [];
      const r = await host.generate(
        { folder: dir, ep: 'cpu', memory: mode, request: { prompt: 'a lighthouse at dusk', negativePrompt: 'blurry', seed: '42', steps, guidance: 4.5, width: size, height: size, t5 } },
        { onStep: () => stepCpu.push(workerCpuMs(host.pid)) },
      );
      const cpuPerStep = stepCpu.length >= 2 ? (stepCpu[stepCpu.length - 1]! - stepCpu[0]!) / (stepCpu.length - 1) : NaN;
      const ms = Date.now() - t0;
      const mem = workerMemory(host.pid);
      const t = r.timings;
      const stepMs = t.denoiseMs / steps;
      const phases = [t.loadMs, t.encodeMs, t.denoiseMs, t.decodeMs].map((x) => `${(x / 1000).toFixed(0)}`).join(' / ') + ' s';
      const vsRaw = rawStepMs !== undefined ? `${(stepMs / 1000).toFixed(1)} s vs ${(rawStepMs / 1000).toFixed(1)} s = ${(stepMs / rawStepMs).toFixed(3)}×` : `${(stepMs / 1000).toFixed(1)} s (no raw figure: measure unet in the same run)`;
      console.log(
        [
          mode.padEnd(10),
          `${(est / GB).toFixed(1)} GB`.padStart(8),
          `${(mem.peak / GB).toFixed(2)} GB`.padStart(9),
          `${(est / mem.peak).toFixed(2)}×`.padStart(6),
          `${(mem.rss / GB).toFixed(2)} GB`.padStart(12),
          `${(ms / 1000).toFixed(0)} s`.padStart(12),
          phases.padEnd(36),
          vsRaw,
        ].join('  '),
      );
      console.log(
        `           after the image: RssAnon ${(mem.anon / GB).toFixed(2)} GB, RssFile ${(mem.file / GB).toFixed(2)} GB; ` +
          `worker CPU per step (between step events) ${Number.isNaN(cpuPerStep) ? 'n/a (needs ≥ 2 steps)' : `${(cpuPerStep / 1000).toFixed(1)} s`}` +
          (rawCpuMs !== undefined && !Number.isNaN(cpuPerStep) ? ` vs the lone session's ${(rawCpuMs / 1000).toFixed(1)} s = ${(cpuPerStep / rawCpuMs).toFixed(3)}×` : ''),
      );
    } finally {
      await host.dispose();
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
