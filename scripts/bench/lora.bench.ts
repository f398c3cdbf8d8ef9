// LoRA benchmark (issue #20 §2): what applying a LoRA as low-rank branches costs against the same model without it.
// Run: npm run bench -- lora   (or npx tsx scripts/bench/lora.bench.ts [--layers 8] [--heads 12] [--size 256x256]
//      [--seq 154] [--rank 16] [--runs 5] [--threads 1])
//
// Method. A mid-size SD3 MMDiT transformer is generated with the real-scale builder (e2e/support/real-scale-model.ts:
// TensorStack layout, fp16 weights in model.onnx.data, fp32 io, diffusers node names `/transformer_blocks.i/attn/to_q/
// MatMul`, qk RMS norm) but with --layers joint blocks of --heads × 64 (default 8 × 768: ~180 M weights, about a tenth
// of SD3.5 Medium's 2.5 B and a fifteenth of its per-step cost, so it runs in minutes on a busy 2-core box). A
// diffusers/PEFT LoRA of rank --rank (fp16, α = rank) is written on every attention Linear of every block (to_q, to_k,
// to_v, to_out.0, add_q_proj, add_k_proj, add_v_proj, to_add_out: 8 per block, 7 on the last). Then:
//   - prepare: prepareLoraGraphs (read the factors, the graph pass, write the derived graph) cold, then from the cache;
//   - disk: the derived graph's bytes against the base graph's (the model's weights are never copied);
//   - session creation for the base and the LoRA'd graph (graph optimization 'all', as the app does) and the process's
//     RSS after each;
//   - one transformer step at --size (latents size/8, --seq text tokens: 154 = CLIP-L + CLIP-G, no T5), alternating
//     base and LoRA (strength 1) after one warm-up each, --runs times; medians and the LoRA/base ratio;
//   - a strength change: steps each fed another `lora_strength_0` (no session is created).
// Merging the LoRA into a copy of the weights is not measured: it would mean a second copy of the transformer's weights
// per LoRA set (5 GB for Medium, 16 GB for Large) written before the first step, and a new merge + session for every
// strength, which is exactly what the strength axis must avoid; the branch is what the studio uses.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeRealComponent, type TransformerDims } from '../../e2e/support/real-scale-model';
import { ort } from '../../src-main/inference/ort';
import { createSession } from '../../src-main/inference/ort-session';
import { prepareLoraGraphs } from '../../src-main/lora/lora-graphs';
import { writeTestLora, type TestLayer } from '../../src-main/testing/lora/lora-files';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}
const layers = Number(arg('layers', '8'));
const heads = Number(arg('heads', '12'));
const [width, height] = arg('size', '256x256').split('x').map(Number) as [number, number];
const seq = Number(arg('seq', '154'));
const rank = Number(arg('rank', '16'));
const runs = Math.max(1, Number(arg('runs', '5')));
const threads = Number(arg('threads', '1'));

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] as number;
const mb = (b: number): string => `${(b / 1e6).toFixed(1)} MB`;
const ms = (v: number): string => `${v.toFixed(1)} ms`;
function fill(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sin(i * 12.9898 + seed) * 0.8;
  return out;
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-bench-lora-'));
  try {
    const H = heads * 64;
    const dims: TransformerDims = { headDim: 64, heads, layers, dualAttentionLayers: 0, qkNorm: true, captionProjection: H, posEmbedMax: 96 };
    const modelDir = path.join(tmp, 'model');
    let t = performance.now();
    const manifest = writeRealComponent(modelDir, 'medium', 'unet', dims);
    console.log(`transformer: ${layers} joint blocks × ${H} (${heads} heads), ${(manifest.weights / 1e6).toFixed(0)} M weights fp16, ${mb(manifest.dataBytes)} of weights, graph ${mb(manifest.graphBytes)} (written in ${ms(performance.now() - t)})`);

    const loraLayers: TestLayer[] = [];
    for (let b = 0; b < layers; b++) {
      const mods = ['to_q', 'to_k', 'to_v', 'to_out.0', 'add_q_proj', 'add_k_proj', 'add_v_proj', ...(b < layers - 1 ? ['to_add_out'] : [])];
      for (const m of mods) loraLayers.push({ module: `transformer_blocks.${b}.attn.${m}`, rank, in: H, out: H, alpha: rank, seed: loraLayers.length + 1 });
    }
    const loraFile = path.join(tmp, 'bench-lora.safetensors');
    writeTestLora(loraFile, 'diffusers', loraLayers, { dtype: 'F16' });
    const sha256 = crypto.createHash('sha256').update(fs.readFileSync(loraFile)).digest('hex');
    console.log(`LoRA: rank ${rank} on ${loraLayers.length} attention Linears, ${mb(fs.statSync(loraFile).size)} (fp16)`);

    const graphsDir = path.join(tmp, 'graphs');
    const base = { files: { component: 'transformer' as const, dir: 'unet', model: path.join(modelDir, 'unet', 'model.onnx'), file: 'unet/model.onnx' }, rewrittenOps: [] };
    const use = [{ path: loraFile, sha256, strength: 1 }];
    t = performance.now();
    const prepared = await prepareLoraGraphs(graphsDir, modelDir, { transformer: base }, use);
    const coldMs = performance.now() - t;
    t = performance.now();
    await prepareLoraGraphs(graphsDir, modelDir, { transformer: base }, use);
    const cachedMs = performance.now() - t;
    const derived = prepared.graphs.get('transformer')!;
    console.log(`applied: ${JSON.stringify(prepared.reports[0]?.applied)}, unmatched ${prepared.reports[0]?.unmatched.length}`);
    console.log(`prepare the LoRA'd graph: ${ms(coldMs)} cold (read factors + pass + write), ${ms(cachedMs)} from the cache`);
    const baseGraph = fs.statSync(base.files.model).size;
    const derivedGraph = fs.statSync(derived.file).size;
    console.log(`disk: derived graph ${mb(derivedGraph)} against the base graph ${mb(baseGraph)}: +${mb(derivedGraph - baseGraph)} (the ${mb(manifest.dataBytes)} of weights are shared, not copied)`);

    const options: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: threads, logSeverityLevel: 3 };
    const rss0 = process.memoryUsage().rss;
    t = performance.now();
    const plain = await createSession({ path: base.files.model }, options);
    const plainCreate = performance.now() - t;
    const rss1 = process.memoryUsage().rss;
    t = performance.now();
    const lora = await createSession({ path: derived.file, externalDataDir: derived.externalDataDir }, options);
    const loraCreate = performance.now() - t;
    const rss2 = process.memoryUsage().rss;
    console.log(`session creation: base ${ms(plainCreate)}, LoRA'd ${ms(loraCreate)}; RSS +${mb(rss1 - rss0)} (base), +${mb(rss2 - rss1)} (LoRA'd, a second session)`);

    const h = height / 8;
    const w = width / 8;
    const feeds: Record<string, ort.Tensor> = {
      hidden_states: new ort.Tensor('float32', fill(16 * h * w, 1), [1, 16, h, w]),
      timestep: new ort.Tensor('float32', Float32Array.from([500]), [1]),
      encoder_hidden_states: new ort.Tensor('float32', fill(seq * 4096, 2), [1, seq, 4096]),
      pooled_projections: new ort.Tensor('float32', fill(2048, 3), [1, 2048]),
    };
    const strength = (s: number) => new ort.Tensor('float32', Float32Array.from([s]), [1]);
    const times: Record<'base' | 'lora', number[]> = { base: [], lora: [] };
    for (let i = 0; i <= runs; i++) {
      for (const kind of ['base', 'lora'] as const) {
        const r0 = performance.now();
        if (kind === 'base') await plain.run(feeds);
        else await lora.run({ ...feeds, lora_strength_0: strength(1) });
        if (i > 0) times[kind].push(performance.now() - r0);
      }
    }
    const b = median(times.base);
    const l = median(times.lora);
    console.log(`one step at ${width}×${height} (${h * w / 4} image + ${seq} text tokens), ${threads} thread(s), median of ${runs}: base ${ms(b)}, LoRA ${ms(l)} → ×${(l / b).toFixed(3)}`);
    console.log(`  all runs: base ${times.base.map((v) => v.toFixed(0)).join(', ')}; LoRA ${times.lora.map((v) => v.toFixed(0)).join(', ')}`);
    // A strength change is one more float input of the next run (no session, no graph): the same step cost.
    const other: number[] = [];
    for (let i = 0; i < Math.min(runs, 3); i++) {
      const r0 = performance.now();
      await lora.run({ ...feeds, lora_strength_0: strength(0.5 + i / 10) });
      other.push(performance.now() - r0);
    }
    console.log(`  LoRA step with a new strength each run: median ${ms(median(other))} (no session created)`);
    await plain.release();
    await lora.release();
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

void main();
