// Samplers and Skip-Layer Guidance benchmark. Run: npx tsx scripts/bench/sampling.bench.ts [--runs N] [--steps N]
//   [--size WxH] [--threads N] [--model DIR]
//
// Method. A tiny Medium-shaped MMDiT model (e2e/support/tiny-model.ts, optimum fp32, diffusers-named joint blocks)
// is written to a temporary folder (or --model DIR is used) and loaded once on the CPU; the prompt is encoded once.
//  1. Per sampler (normal schedule, CFG): denoise() is timed with LoadedModel.trace recording every session.run and
//     its duration inside the pipeline. The sampler's own cost per step = (denoise wall time − Σ session.run) / steps:
//     everything the loop does besides ONNX Runtime (batch assembly, fp16/fp32, CFG, the sampler's arithmetic,
//     ancestral noise). Heun's second call is counted as a call (2N − 1 calls), its cost is in Σ session.run.
//  2. SLG's extra pass: the same denoise with SLG over the whole window (start 0, end 1: every step but step 0, the
//     window being strict) against without; the added time per SLG step, and a batch-1 skip pass's session.run
//     against a batch-2 CFG pass's.
//  3. The switch graph with every block on against the original graph: two raw ORT sessions over the same external
//     weights, the same CFG-shaped feeds, runs alternated (one of each, repeated) so both see the same load; median,
//     p10 and p90 of each.
// Figures are medians over --runs (default 5) warm runs. The machine may be loaded by other work: compare medians
// within one run of the script, not across machines.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ort } from '../../src-main/inference/ort';
import { writeTinyModel } from '../../e2e/support/tiny-model';
import { SAMPLERS, type Slg } from '../../src-shared/generation';
import { denoise, encodePrompts, type DenoiseParams } from '../../src-main/inference/pipeline';
import { LoadedModel } from '../../src-main/inference/sessions';
import { createSession, ortSessionOptions, type SessionOptions } from '../../src-main/inference/ort-session';
import { PromptTokenizers } from '../../src-main/inference/tokenizers/index';
import { slgSwitchModel, SLG_INPUT } from '../../src-main/model-folder/slg-switch';
import { readOnnxGraph } from '../../src-main/model-folder/onnx-graph';
import { float32ToFloat16 } from '../../src-main/formats/float16';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const runs = Math.max(1, Number(arg('runs') ?? 5));
const steps = Math.max(2, Number(arg('steps') ?? 10));
const [width, height] = (arg('size') ?? '256x256').split('x').map(Number) as [number, number];
const threadsArg = arg('threads');
const options: SessionOptions = { ep: 'cpu', memory: 'fast', ...(threadsArg !== undefined ? { threads: Number(threadsArg) } : {}) };

function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))] as number;
}
const median = (v: number[]): number => quantile(v, 0.5);
const ms = (v: number): string => `${v.toFixed(2)} ms`;

async function timedDenoise(model: LoadedModel, cond: Parameters<typeof denoise>[1], p: DenoiseParams): Promise<{ wall: number; inRun: number; calls: number; batch1: number[]; batch2: number[] }> {
  model.trace = [];
  const t0 = performance.now();
  await denoise(model, cond, p);
  const wall = performance.now() - t0;
  const trace = model.trace.filter((t) => t.component === 'transformer');
  model.trace = undefined;
  const batchOf = (t: (typeof trace)[number]): number => Number(Object.values(t.feeds).find((f) => f.dims.length === 4)?.dims[0]);
  return {
    wall,
    inRun: trace.reduce((s, t) => s + t.ms, 0),
    calls: trace.length,
    batch1: trace.filter((t) => batchOf(t) === 1).map((t) => t.ms),
    batch2: trace.filter((t) => batchOf(t) === 2).map((t) => t.ms),
  };
}

async function main(): Promise<void> {
  let dir = arg('model');
  let tmp: string | undefined;
  if (dir === undefined) {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-bench-sampling-'));
    dir = path.join(tmp, 'model');
    await writeTinyModel(dir, { layout: 'optimum', io: 'fp32', size: 'micro', mmdit: 'medium' });
  }
  const graphsDir = path.join(tmp ?? os.tmpdir(), 'graphs');
  const model = await LoadedModel.load(dir, { ...options, graphsDir });
  const cpus = os.cpus();
  console.log(`machine: ${cpus.length} CPUs (${cpus[0]?.model ?? '?'}), load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, Node ${process.versions.node}, onnxruntime-node ${ort.env.versions.common}`);
  console.log(`model: ${dir} (tiny Medium-shaped MMDiT), ${width}×${height}, ${steps} steps, CFG 4.5, threads ${threadsArg ?? 'ORT default'}; ${runs} runs, medians`);
  try {
    const tok = await PromptTokenizers.load(dir);
    const cond = await encodePrompts(model, [tok.encode('blurry'), tok.encode('a lighthouse at dusk')], true);
    const base: DenoiseParams = { seed: '1234', steps, guidance: 4.5, width, height };

    // 1. Samplers.
    console.log('\n1. per-step cost of each sampler beyond session.run (normal schedule):');
    console.log('   sampler            calls  session.run/call  loop cost/step');
    for (const sampler of SAMPLERS) {
      await timedDenoise(model, cond, { ...base, sampler }); // warm
      const own: number[] = [];
      const perCall: number[] = [];
      let calls = 0;
      for (let r = 0; r < runs; r++) {
        const t = await timedDenoise(model, cond, { ...base, sampler, seed: String(1234 + r) });
        calls = t.calls;
        own.push((t.wall - t.inRun) / steps);
        perCall.push(t.inRun / t.calls);
      }
      console.log(`   ${sampler.padEnd(18)} ${String(calls).padStart(5)}  ${ms(median(perCall)).padStart(16)}  ${ms(median(own)).padStart(14)}`);
    }

    // 2. SLG's extra pass (the model now runs the switch graph for every pass).
    const slg: Slg = { layers: [1, 2], scale: 2.8, start: 0, end: 1 };
    await timedDenoise(model, cond, { ...base, slg }); // enables the switch graph, warms it
    const plain: number[] = [];
    const withSlg: number[] = [];
    const b1: number[] = [];
    const b2: number[] = [];
    let slgCalls = 0;
    for (let r = 0; r < runs; r++) {
      plain.push((await timedDenoise(model, cond, { ...base, seed: String(1234 + r) })).wall);
      const t = await timedDenoise(model, cond, { ...base, slg, seed: String(1234 + r) });
      withSlg.push(t.wall);
      slgCalls = t.batch1.length;
      b1.push(median(t.batch1));
      b2.push(median(t.batch2));
    }
    console.log(`\n2. SLG (layers 1,2, window 0–1 → ${slgCalls} of ${steps} steps take the extra pass):`);
    console.log(`   denoise without SLG ${ms(median(plain))}, with SLG ${ms(median(withSlg))}: +${ms((median(withSlg) - median(plain)) / slgCalls)} per SLG step`);
    console.log(`   session.run: batch-2 CFG pass ${ms(median(b2))}, batch-1 skip-layer pass ${ms(median(b1))} (${((100 * median(b1)) / median(b2)).toFixed(0)} % of a CFG pass)`);

    // 3. Switch graph (every block on) against the original graph, raw sessions, alternated.
    const original = path.join(dir, 'transformer', 'model.onnx');
    const switched = path.join(graphsDir, 'bench-switch.onnx');
    fs.mkdirSync(graphsDir, { recursive: true });
    fs.writeFileSync(switched, slgSwitchModel(fs.readFileSync(original)).bytes);
    const sessionOptions = ortSessionOptions(options, 'cpu');
    const a = await createSession({ path: original }, sessionOptions);
    const b = await createSession({ path: switched, externalDataDir: path.dirname(original) }, sessionOptions);
    const graph = readOnnxGraph(original);
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of graph.inputs) {
      const dims = input.dims.length === 4 ? [2, 16, height / 8, width / 8] : input.dims.length === 3 ? [2, 333, Number(input.dims[2])] : input.dims.length === 2 ? [2, Number(input.dims[1])] : [2];
      const data = Float32Array.from({ length: dims.reduce((x, y) => x * y, 1) }, (_, k) => Math.sin(k * 0.37) * (dims.length === 1 ? 500 : 1));
      feeds[input.name] = input.type === 'float16' ? new ort.Tensor('float16', float32ToFloat16(data), dims) : new ort.Tensor('float32', data, dims);
    }
    const blocks = Number(readOnnxGraph(switched).inputs.find((i) => i.name === SLG_INPUT)?.dims[0]);
    const switchFeeds = { ...feeds, [SLG_INPUT]: new ort.Tensor('bool', new Uint8Array(blocks), [blocks]) };
    const ta: number[] = [];
    const tb: number[] = [];
    const rounds = Math.max(20, runs * 8);
    for (let r = 0; r < rounds + 3; r++) {
      let t0 = performance.now();
      await a.run(feeds);
      const da = performance.now() - t0;
      t0 = performance.now();
      await b.run(switchFeeds);
      const db = performance.now() - t0;
      if (r >= 3) {
        ta.push(da);
        tb.push(db);
      }
    }
    await a.release();
    await b.release();
    const band = (v: number[]): string => `${ms(median(v))} (p10 ${ms(quantile(v, 0.1))}, p90 ${ms(quantile(v, 0.9))})`;
    console.log(`\n3. transformer session.run, batch 2 at ${width}×${height}, ${rounds} alternated runs each:`);
    console.log(`   original graph         ${band(ta)}`);
    console.log(`   switch graph, all on   ${band(tb)}   ratio of medians ${(median(tb) / median(ta)).toFixed(3)}`);
  } finally {
    await model.release();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
