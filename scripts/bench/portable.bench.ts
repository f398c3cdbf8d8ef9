// Portability pass benchmark: what a rewritten graph costs against its standard twin.
// Run: npx tsx scripts/bench/portable.bench.ts [--runs N] [--size WxH] [--threads N]
//
// Method. The tiny model is written twice to a temporary folder (optimum layout, fp32, micro): the
// "olive" flavor (com.microsoft NhwcConv, BiasSplitGelu, BiasAdd in the transformer; a channels-last
// GroupNorm between Transposes in the VAE decoder) and its standard twin (the same functions from
// standard ops, the same weights). The olive graphs are rewritten by the portability pass into
// the portable derived graph (timed: the pass itself), and the CPU probes of every op are timed cold (memory
// cache cleared, no disk cache). Then for the transformer and the VAE decoder, alternating twin and
// portable: session creation on the CPU (graph optimization 'all', as the app does) and one
// session.run on the same fixed inputs at the latent size of --size (default 512x512 → 64×64 latents),
// each measured --runs times after one warm-up; the medians are reported with the portable/twin ratio.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ort } from '../../src-main/inference/ort';
import { writeTinyModel } from '../../e2e/support/tiny-model';
import { readOnnxGraph } from '../../src-main/model-folder/onnx-graph';
import { listOps, opKey } from '../../src-main/model-folder/ops';
import { REWRITABLE, portableGraph } from '../../src-main/model-folder/portable';
import { createSession } from '../../src-main/inference/ort-session';
import { clearProbeMemory, probeOps } from '../../src-main/inference/ort-probe';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const runs = Math.max(1, Number(arg('runs') ?? 7));
const [width, height] = (arg('size') ?? '512x512').split('x').map(Number) as [number, number];
const threads = Number(arg('threads') ?? 1);

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function fill(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sin(i * 12.9898 + seed) * 0.8;
  return out;
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-bench-portable-'));
  try {
    const olive = path.join(tmp, 'olive');
    const twin = path.join(tmp, 'twin');
    await writeTinyModel(olive, { layout: 'optimum', io: 'fp32', size: 'micro', flavor: 'olive' });
    await writeTinyModel(twin, { layout: 'optimum', io: 'fp32', size: 'micro', flavor: 'olive-twin' });
    const h = height / 8;
    const w = width / 8;
    const feeds: Record<string, Record<string, ort.Tensor>> = {
      transformer: {
        hidden_states: new ort.Tensor('float32', fill(16 * h * w, 1), [1, 16, h, w]),
        encoder_hidden_states: new ort.Tensor('float32', fill(333 * 4096, 2), [1, 333, 4096]),
        pooled_projections: new ort.Tensor('float32', fill(2048, 3), [1, 2048]),
        timestep: new ort.Tensor('float32', Float32Array.from([500]), [1]),
      },
      vae_decoder: { latent_sample: new ort.Tensor('float32', fill(16 * h * w, 4), [1, 16, h, w]) },
    };
    console.log(`portable pass vs standard twin — CPU, ${threads} thread(s), ${width}×${height} (latents ${w}×${h}), median of ${runs}`);
    for (const component of ['transformer', 'vae_decoder'] as const) {
      const original = path.join(olive, component, 'model.onnx');
      const graph = readOnnxGraph(original, { nodes: true });
      const ops = listOps(graph);
      clearProbeMemory();
      let t = performance.now();
      const answers = await probeOps(ops, graph.opsets, 'cpu');
      const probeMs = performance.now() - t;
      const missing = ops.filter((o) => answers.get(opKey(o))?.supported === false);
      t = performance.now();
      const dir = component; // optimum layout
      const portable = await portableGraph(path.join(tmp, 'graphs'), olive, { component, dir, model: original, file: `${dir}/model.onnx` }, graph, new Set(REWRITABLE));
      const passMs = performance.now() - t;
      const files = { twin: { path: path.join(twin, component, 'model.onnx') }, portable: { path: portable.graph.file, externalDataDir: portable.graph.externalDataDir } };
      const create: Record<string, number[]> = { twin: [], portable: [] };
      const run: Record<string, number[]> = { twin: [], portable: [] };
      const options: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: threads, logSeverityLevel: 3 };
      for (let i = 0; i <= runs; i++) {
        for (const kind of ['twin', 'portable'] as const) {
          const c0 = performance.now();
          const session = await createSession(files[kind], options);
          const c1 = performance.now();
          await session.run(feeds[component]!);
          const r0 = performance.now();
          await session.run(feeds[component]!);
          const r1 = performance.now();
          await session.release();
          if (i > 0) {
            create[kind]!.push(c1 - c0);
            run[kind]!.push(r1 - r0);
          }
        }
      }
      const fmt = (v: number) => `${v.toFixed(2)} ms`;
      const ratio = (a: number[], b: number[]) => (median(a) / median(b)).toFixed(3);
      console.log(`\n${component}: ${ops.length} distinct ops, ${missing.length} without a CPU kernel (${portable.rewritten.map((r) => `${r.op}×${r.count}`).join(', ')})`);
      console.log(`  probes (cold, ${ops.length} one-node sessions): ${fmt(probeMs)}; portability pass: ${fmt(passMs)}`);
      console.log(`  session creation: twin ${fmt(median(create.twin!))}, portable ${fmt(median(create.portable!))} (×${ratio(create.portable!, create.twin!)})`);
      console.log(`  run (one step):   twin ${fmt(median(run.twin!))}, portable ${fmt(median(run.portable!))} (×${ratio(run.portable!, run.twin!)})`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

void main();
