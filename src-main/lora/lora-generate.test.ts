// LoRAs through the pipeline (LoadedModel.useLoras + generate) on the tiny diffusers-named model: strength 0 is
// today's image bit for bit, strengths sweep without creating sessions again, several LoRAs stack, a LoRA
// that does not fit is refused naming the layer, one where nothing matches is refused, and the derived
// graphs go to the studio's graphs folder (never the model folder) and are reused from there.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { writeTinyModel } from '../../e2e/support/tiny-model';
import { TINY_MMDIT } from '../../e2e/support/tiny-mmdit';
import { ort } from '../inference/ort';
import { generate, type GenerateRequest } from '../inference/pipeline';
import { LoadedModel } from '../inference/sessions';
import { writeTestLora } from '../testing/lora/lora-files';
import { removeGraphsOfLora } from './lora-graphs';

let tmp: string;
let modelDir: string;
let graphsDir: string;
let model: LoadedModel;
const D = TINY_MMDIT.hidden;

function sha(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-lora-generate-'));
  modelDir = path.join(tmp, 'model');
  graphsDir = path.join(tmp, 'data', 'graphs');
  await writeTinyModel(modelDir, { layout: 'tensorstack', io: 'fp16', size: 'micro', mmdit: 'large', generatedTokenizers: true });
  model = await LoadedModel.load(modelDir, { ep: 'cpu', memory: 'fast', threads: 1, graphsDir });
}, 120_000);
afterAll(async () => {
  await model?.release();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const request: GenerateRequest = { prompt: 'a red cat', negativePrompt: '', seed: '7', steps: 3, guidance: 4, width: 64, height: 64, t5: true };

function lora(name: string, layers: Parameters<typeof writeTestLora>[2], style: Parameters<typeof writeTestLora>[1] = 'diffusers', options: Parameters<typeof writeTestLora>[3] = {}): { path: string; sha256: string; name: string } {
  const file = path.join(tmp, `${name}.safetensors`);
  writeTestLora(file, style, layers, options);
  return { path: file, sha256: sha(file), name };
}

describe('LoRAs in the pipeline', { timeout: 180_000 }, () => {
  it('strength 0 = the image without LoRA bit for bit; 0.5 and 1 differ; no session is created for a new strength', async () => {
    const plain = await generate(model, request);
    const a = lora('style-a', [
      { module: 'transformer_blocks.1.ff.net.0.proj', rank: 4, in: D, out: 4 * D, alpha: 4, seed: 1 },
      { module: 'transformer_blocks.2.attn.to_out.0', rank: 4, in: D, out: D, alpha: 4, seed: 2 },
      { module: 'te1:text_model.encoder.layers.4.self_attn.v_proj', rank: 2, in: TINY_MMDIT.clipInner, out: TINY_MMDIT.clipInner, seed: 3 },
    ], 'kohya', { fused: [{ block: 0, part: 'context_block.attn', rank: 2, in: D, out: D, seed: 4 }] });
    const reports = await model.useLoras([{ ...a, strength: 0 }], [a.name]);
    expect(reports[0]?.applied).toEqual({ text_encoder: 1, transformer: 2 + 3 });
    expect(reports[0]?.unmatched).toEqual([]);
    const create = vi.spyOn(ort.InferenceSession, 'create');
    try {
      const off = await generate(model, request);
      expect(Buffer.from(off.rgb).equals(Buffer.from(plain.rgb))).toBe(true);
      await model.useLoras([{ ...a, strength: 0.5 }], [a.name]);
      const half = await generate(model, request);
      await model.useLoras([{ ...a, strength: 1 }], [a.name]);
      const full = await generate(model, request);
      expect(Buffer.from(half.rgb).equals(Buffer.from(plain.rgb))).toBe(false);
      expect(Buffer.from(full.rgb).equals(Buffer.from(half.rgb))).toBe(false);
      expect(create).not.toHaveBeenCalled();
    } finally {
      create.mockRestore();
    }
    // Derived graphs live in the studio's graphs folder; the model folder gained nothing.
    const made = fs.readdirSync(graphsDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.onnx'));
    expect(made).toHaveLength(2);
    expect(fs.readdirSync(path.join(modelDir, 'unet')).sort()).toEqual(['model.onnx', 'model.onnx.data']);
    // Back to no LoRA: the model's own graphs, the same image as before.
    await model.useLoras([]);
    expect(Buffer.from((await generate(model, request)).rgb).equals(Buffer.from(plain.rgb))).toBe(true);
    // A second use finds the cached graphs (no new files), and removing the LoRA removes them.
    await model.useLoras([{ ...a, strength: 1 }], [a.name]);
    expect(fs.readdirSync(graphsDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.onnx'))).toHaveLength(2);
    await model.useLoras([]);
    expect(removeGraphsOfLora(graphsDir, a.sha256)).toBe(2);
  });

  it('stacks two LoRAs (each with its own strength input)', async () => {
    const a = lora('stack-a', [{ module: 'transformer_blocks.1.attn.to_k', rank: 2, in: D, out: D, seed: 5 }]);
    const b = lora('stack-b', [{ module: 'transformer_blocks.2.ff.net.2', rank: 2, in: 4 * D, out: D, seed: 6 }]);
    await model.useLoras([{ ...a, strength: 1 }, { ...b, strength: 0 }], [a.name, b.name]);
    const onlyA = await generate(model, request);
    await model.useLoras([{ ...a, strength: 1 }, { ...b, strength: 1 }], [a.name, b.name]);
    const both = await generate(model, request);
    await model.useLoras([{ ...a, strength: 1 }], [a.name]);
    const aAlone = await generate(model, request);
    expect(Buffer.from(onlyA.rgb).equals(Buffer.from(aAlone.rgb))).toBe(true);
    expect(Buffer.from(both.rgb).equals(Buffer.from(aAlone.rgb))).toBe(false);
    await model.useLoras([]);
  });

  it('refuses a LoRA that does not fit (naming the LoRA and the layer) and one where nothing matches', async () => {
    const wide = lora('sd35-large-style', [{ module: 'transformer_blocks.1.attn.to_q', rank: 4, in: 2432, out: 2432, seed: 1 }]);
    await expect(model.useLoras([{ ...wide, strength: 1 }], [wide.name])).rejects.toThrow(/sd35-large-style: LoRA layer transformer\.transformer_blocks\.1\.attn\.to_q .*does not fit.*2432 → 2432.*32 → 32/u);
    const elsewhere = lora('elsewhere', [{ module: 'transformer_blocks.30.attn.to_q', rank: 4, in: D, out: D, seed: 1 }]);
    await expect(model.useLoras([{ ...elsewhere, strength: 1 }], [elsewhere.name])).rejects.toThrow(/elsewhere: nothing in it matched a layer of this model/u);
    // The model still works without LoRAs afterwards.
    await model.useLoras([]);
    expect((await generate(model, request)).rgb.length).toBe(64 * 64 * 3);
  });
});
