// The LoRA pass on the tiny diffusers-named SD3.5 graphs (e2e/support/tiny-mmdit.ts), both layouts, fp32 and
// fp16: every key style applies, strength 0 is the original bit for bit, kohya's fused qkv equals the same LoRA
// written with separate keys, SAI-named adaLN equals its diffusers twin with scale/shift swapped, text-encoder
// LoRAs go into the encoders, and the derived graph lives outside the model folder.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAYOUT_FILES, writeTinyModel, type TinyLayout } from '../../e2e/support/tiny-model';
import { TINY_MMDIT } from '../../e2e/support/tiny-mmdit';
import { ort } from '../inference/ort';
import { float16ToFloat32, float32ToFloat16 } from '../formats/float16';
import { qkvAsSeparate, writeTestLora, type FusedQkv, type TestLayer, type TestLoraStyle } from '../testing/lora/lora-files';
import type { LoraComponent } from './keys';
import { readLoraFactors } from './lora-file';
import { applyLoraPass, strengthInputName } from './lora-pass';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-lora-model-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const sessionOptions: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, logSeverityLevel: 3 };
const D = TINY_MMDIT.hidden;

interface Case {
  layout: TinyLayout;
  io: 'fp32' | 'fp16';
  mmdit: 'large' | 'medium';
}
const CASES: Case[] = [
  { layout: 'optimum', io: 'fp32', mmdit: 'large' },
  { layout: 'tensorstack', io: 'fp16', mmdit: 'medium' },
];

const models = new Map<string, Promise<string>>();
function tiny(c: Case): Promise<string> {
  const key = `${c.layout}-${c.io}-${c.mmdit}`;
  let p = models.get(key);
  if (!p) {
    const dir = path.join(tmp, key);
    p = writeTinyModel(dir, { ...c, size: 'micro' }).then(() => dir);
    models.set(key, p);
  }
  return p;
}

let n = 0;
const folders = new Map<string, string>();
function options(graph: string): ort.InferenceSession.SessionOptions {
  const folder = folders.get(graph);
  return folder ? { ...sessionOptions, extra: { session: { model_external_initializers_file_folder_path: folder } } } : sessionOptions;
}
/** Applies the LoRA files to one component and writes the derived graph into a studio-like folder outside the model. */
function derive(modelDir: string, componentDir: string, component: LoraComponent, files: string[]): { graph: string; applied: number; unmatched: string[][] } {
  const original = path.join(modelDir, componentDir, 'model.onnx');
  const out = path.join(tmp, 'graphs', `g${n++}`);
  fs.mkdirSync(out, { recursive: true });
  const loras = files.map((f, index) => ({ index, layers: readLoraFactors(f).factors.get(component) ?? [] }));
  const r = applyLoraPass(fs.readFileSync(original), loras);
  folders.set(path.join(out, 'model.onnx'), path.join(modelDir, componentDir));
  fs.writeFileSync(path.join(out, 'model.onnx'), r.model);
  return { graph: path.join(out, 'model.onnx'), applied: r.applied.length, unmatched: [...r.unmatched.values()] };
}

async function runTransformer(c: Case, graph: string, strengths: number[]): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(graph, options(graph));
  const type = c.io === 'fp16' ? 'float16' : 'float32';
  const t = (a: Float32Array, dims: number[]): ort.Tensor => new ort.Tensor(type, c.io === 'fp16' ? float32ToFloat16(a) : a, dims);
  const feeds: Record<string, ort.Tensor> = {
    hidden_states: t(Float32Array.from({ length: 16 * 8 * 8 }, (_, i) => Math.sin(i * 0.3)), [1, 16, 8, 8]),
    timestep: t(Float32Array.from([700]), [1]),
    encoder_hidden_states: t(Float32Array.from({ length: 5 * 4096 }, (_, i) => Math.cos(i * 0.07)), [1, 5, 4096]),
    pooled_projections: t(Float32Array.from({ length: 2048 }, (_, i) => Math.sin(i * 0.11)), [1, 2048]),
  };
  strengths.forEach((v, k) => (feeds[strengthInputName(k)] = new ort.Tensor('float32', Float32Array.from([v]), [1])));
  const out = await s.run(feeds);
  await s.release();
  const o = out[s.outputNames[0] as string] as ort.Tensor;
  return c.io === 'fp16' ? float16ToFloat32(o.data as Uint16Array) : Float32Array.from(o.data as Float32Array);
}

function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** Attention and feed-forward layers of joint blocks 0 and 1 (the non-fused ones every style can name). */
function layers(seed: number, medium: boolean): TestLayer[] {
  return [
    { module: 'transformer_blocks.0.attn.to_out.0', rank: 4, in: D, out: D, alpha: 2, seed },
    { module: 'transformer_blocks.1.attn.to_add_out', rank: 4, in: D, out: D, alpha: 8, seed: seed + 1 },
    { module: 'transformer_blocks.1.ff.net.0.proj', rank: 2, in: D, out: 4 * D, seed: seed + 2 },
    { module: 'transformer_blocks.2.ff_context.net.2', rank: 3, in: 4 * D, out: D, alpha: 3, seed: seed + 3 },
    { module: 'transformer_blocks.0.norm1.linear', rank: 2, in: D, out: (medium ? 9 : 6) * D, alpha: 1, seed: seed + 4 },
  ];
}

describe('LoRA pass on SD3.5-shaped graphs', { timeout: 120_000 }, () => {
  for (const c of CASES) {
    describe(`${c.layout} ${c.io} ${c.mmdit}`, () => {
      const styles: TestLoraStyle[] = ['diffusers', 'kohya', 'comfyui', 'onetrainer', 'lycoris'];
      it('applies every key style; strength 0 is the original bit for bit; strength 1 changes the output', async () => {
        const dir = await tiny(c);
        const tdir = LAYOUT_FILES[c.layout].transformerDir;
        const base = await runTransformer(c, path.join(dir, tdir, 'model.onnx'), []);
        for (const style of styles) {
          const file = path.join(tmp, `${c.layout}-${style}.safetensors`);
          const medium = c.mmdit === 'medium';
          const ls = layers(3, medium);
          if (medium && style !== 'kohya' && style !== 'comfyui') ls.push({ module: 'transformer_blocks.1.attn2.to_q', rank: 2, in: D, out: D, seed: 9 });
          writeTestLora(file, style, ls, style === 'kohya' || style === 'comfyui' ? { fused: [{ block: 1, part: 'x_block.attn', rank: 4, in: D, out: D, alpha: 4, seed: 5 }] } : {});
          const d = derive(dir, tdir, 'transformer', [file]);
          expect(d.unmatched, style).toEqual([[]]);
          expect(d.applied, style).toBe(ls.length + (style === 'kohya' || style === 'comfyui' ? 3 : 0));
          const off = await runTransformer(c, d.graph, [0]);
          expect(bitsEqual(off, base), `${style}: strength 0`).toBe(true);
          const on = await runTransformer(c, d.graph, [1]);
          expect(maxDiff(on, base), `${style}: strength 1`).toBeGreaterThan(1e-3);
        }
      });

      it("kohya's fused qkv equals the same LoRA with separate to_q/to_k/to_v keys (and ComfyUI's equals kohya's)", async () => {
        const dir = await tiny(c);
        const tdir = LAYOUT_FILES[c.layout].transformerDir;
        const fused: FusedQkv[] = [
          { block: 0, part: 'x_block.attn', rank: 4, in: D, out: D, alpha: 2, seed: 1 },
          { block: 2, part: 'context_block.attn', rank: 2, in: D, out: D, seed: 2 },
          ...(c.mmdit === 'medium' ? [{ block: 1, part: 'x_block.attn2' as const, rank: 3, in: D, out: D, alpha: 6, seed: 3 }] : []),
        ];
        const kohya = path.join(tmp, `${c.layout}-fused-kohya.safetensors`);
        const comfy = path.join(tmp, `${c.layout}-fused-comfy.safetensors`);
        const separate = path.join(tmp, `${c.layout}-fused-separate.safetensors`);
        writeTestLora(kohya, 'kohya', [], { fused });
        writeTestLora(comfy, 'comfyui', [], { fused });
        writeTestLora(separate, 'diffusers', fused.flatMap(qkvAsSeparate));
        const a = await runTransformer(c, derive(dir, tdir, 'transformer', [kohya]).graph, [0.9]);
        const b = await runTransformer(c, derive(dir, tdir, 'transformer', [separate]).graph, [0.9]);
        const k = await runTransformer(c, derive(dir, tdir, 'transformer', [comfy]).graph, [0.9]);
        const base = await runTransformer(c, path.join(dir, tdir, 'model.onnx'), []);
        expect(maxDiff(a, base)).toBeGreaterThan(1e-3);
        expect(bitsEqual(a, b)).toBe(true);
        expect(bitsEqual(a, k)).toBe(true);
      });

      it('stacked LoRAs equal one LoRA holding both (ranks concatenated): the branches sum', async () => {
        const dir = await tiny(c);
        const tdir = LAYOUT_FILES[c.layout].transformerDir;
        const module = 'transformer_blocks.1.attn.to_q';
        const l1: TestLayer = { module, rank: 2, in: D, out: D, alpha: 2, seed: 11 };
        const l2: TestLayer = { module, rank: 3, in: D, out: D, alpha: 3, seed: 12 };
        const f1 = path.join(tmp, `${c.layout}-s1.safetensors`);
        const f2 = path.join(tmp, `${c.layout}-s2.safetensors`);
        writeTestLora(f1, 'diffusers', [l1]);
        writeTestLora(f2, 'diffusers', [l2]);
        // One rank-5 LoRA whose A stacks A1, A2 and whose B puts B1, B2 side by side: Δ = B1·A1 + B2·A2 (α/r = 1 for all).
        const { testFactors } = await import('../testing/lora/lora-files');
        const a1 = testFactors(l1);
        const a2 = testFactors(l2);
        const down = new Float32Array(5 * D);
        down.set(a1.down, 0);
        down.set(a2.down, 2 * D);
        const up = new Float32Array(D * 5);
        for (let o = 0; o < D; o++) {
          for (let r = 0; r < 2; r++) up[o * 5 + r] = a1.up[o * 2 + r] as number;
          for (let r = 0; r < 3; r++) up[o * 5 + 2 + r] = a2.up[o * 3 + r] as number;
        }
        const both = path.join(tmp, `${c.layout}-s12.safetensors`);
        writeTestLora(both, 'diffusers', [{ module, rank: 5, in: D, out: D, alpha: 5, seed: 0, down, up }]);
        const stacked = await runTransformer(c, derive(dir, tdir, 'transformer', [f1, f2]).graph, [1, 1]);
        const single = await runTransformer(c, derive(dir, tdir, 'transformer', [both]).graph, [1]);
        const base = await runTransformer(c, path.join(dir, tdir, 'model.onnx'), []);
        expect(maxDiff(stacked, base)).toBeGreaterThan(1e-3);
        expect(maxDiff(stacked, single)).toBeLessThan(c.io === 'fp16' ? 2e-2 : 1e-5);
      });

      it("SAI-named final adaLN (kohya) equals diffusers' norm_out.linear with (shift, scale) → (scale, shift)", async () => {
        const dir = await tiny(c);
        const tdir = LAYOUT_FILES[c.layout].transformerDir;
        const rank = 2;
        const kohya = path.join(tmp, `${c.layout}-final-kohya.safetensors`);
        const diff = path.join(tmp, `${c.layout}-final-diffusers.safetensors`);
        const layer: TestLayer = { module: 'proj_out', rank, in: D, out: 2 * D, seed: 21 };
        const { testFactors } = await import('../testing/lora/lora-files');
        const { down, up } = testFactors(layer);
        writeTestLora(kohya, 'kohya', [], { extra: {
          'lora_unet_final_layer_adaLN_modulation_1.lora_down.weight': { dtype: 'F32', shape: [rank, D], data: down },
          'lora_unet_final_layer_adaLN_modulation_1.lora_up.weight': { dtype: 'F32', shape: [2 * D, rank], data: up },
        } });
        const swapped = new Float32Array(up.length);
        swapped.set(up.subarray(D * rank), 0);
        swapped.set(up.subarray(0, D * rank), D * rank);
        writeTestLora(diff, 'diffusers', [{ module: 'norm_out.linear', rank, in: D, out: 2 * D, seed: 0, down, up: swapped }]);
        const a = await runTransformer(c, derive(dir, tdir, 'transformer', [kohya]).graph, [1]);
        const b = await runTransformer(c, derive(dir, tdir, 'transformer', [diff]).graph, [1]);
        const base = await runTransformer(c, path.join(dir, tdir, 'model.onnx'), []);
        expect(maxDiff(a, base)).toBeGreaterThan(1e-3);
        expect(bitsEqual(a, b)).toBe(true);
      });

      it('text-encoder LoRAs (lora_te1_, lora_te2_) go into the CLIP encoders', async () => {
        const dir = await tiny(c);
        const inner = TINY_MMDIT.clipInner;
        const file = path.join(tmp, `${c.layout}-te.safetensors`);
        writeTestLora(file, 'kohya', [
          { module: 'te1:text_model.encoder.layers.3.self_attn.q_proj', rank: 2, in: inner, out: inner, seed: 31 },
          { module: 'te1:text_model.encoder.layers.5.mlp.fc1', rank: 2, in: inner, out: 4 * inner, seed: 32 },
          { module: 'te2:text_model.encoder.layers.20.self_attn.v_proj', rank: 2, in: inner, out: inner, seed: 33 },
        ]);
        for (const [component, count] of [['text_encoder', 2], ['text_encoder_2', 1]] as const) {
          const d = derive(dir, component, component, [file]);
          expect(d.applied).toBe(count);
          const run = async (graph: string, strengths: number[]): Promise<Float32Array> => {
            const s = await ort.InferenceSession.create(graph, options(graph));
            const idsType = s.inputMetadata[0] && 'type' in s.inputMetadata[0] ? (s.inputMetadata[0].type as string) : 'int64';
            const ids = [49406, 320, 1125, 539, 49407];
            const feeds: Record<string, ort.Tensor> = {
              input_ids: idsType === 'int32' ? new ort.Tensor('int32', Int32Array.from(ids), [1, 5]) : new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, 5]),
            };
            strengths.forEach((v, k) => (feeds[strengthInputName(k)] = new ort.Tensor('float32', Float32Array.from([v]), [1])));
            const out = await s.run(feeds);
            await s.release();
            const o = out.last_hidden_state as ort.Tensor;
            return c.io === 'fp16' ? float16ToFloat32(o.data as Uint16Array) : Float32Array.from(o.data as Float32Array);
          };
          const base = await run(path.join(dir, component, 'model.onnx'), []);
          expect(bitsEqual(await run(d.graph, [0]), base)).toBe(true);
          expect(maxDiff(await run(d.graph, [1]), base)).toBeGreaterThan(1e-4);
        }
      });
    });
  }
});
