import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../../e2e/support/tiny-model';
import { inspectModel } from './inspect-model';

let tmp: string;
const models: Record<string, string> = {};

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-inspect-'));
  models.optimum = path.join(tmp, 'optimum');
  await writeTinyModel(models.optimum, { layout: 'optimum', io: 'fp32', size: 'micro' });
  models.tensorstack16 = path.join(tmp, 'tensorstack16');
  await writeTinyModel(models.tensorstack16, { layout: 'tensorstack', io: 'fp16', size: 'micro' });
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('inspectModel', () => {
  it('lists every component with its tensors and resolved roles (optimum)', async () => {
    const r = await inspectModel(models.optimum as string);
    expect(r.layout).toBe('optimum');
    expect(r.hasT5).toBe(true);
    expect(r.clipHidden).toBe('penultimate');
    expect(r.components.map((c) => c.component)).toEqual(['text_encoder', 'text_encoder_2', 'text_encoder_3', 'transformer', 'vae_decoder']);
    const l = r.components[0];
    expect(l?.file).toBe('text_encoder/model.onnx');
    expect(l?.inputs).toEqual([{ name: 'input_ids', type: 'int64', dims: ['batch_size', 'sequence_length'] }]);
    expect(l?.outputs).toHaveLength(15);
    expect(l?.roles).toEqual({ ids: 'input_ids (int64)', hidden: 'hidden_states.11 (float32)', pooled: 'text_embeds (float32)', hiddenKind: 'penultimate' });
    expect(r.components[1]?.roles?.hidden).toBe('hidden_states.31 (float32)');
    const t = r.components[3];
    expect(t?.roles).toEqual({
      sample: 'hidden_states (float32)',
      timestep: 'timestep (float32)',
      context: 'encoder_hidden_states (float32)',
      pooled: 'pooled_projections (float32)',
      output: 'out_hidden_states (float32)',
    });
    expect(t?.externalData).toEqual([{ file: 'transformer/model.onnx_data', bytes: expect.any(Number) }]);
    expect(t?.externalData[0]?.bytes).toBeLessThanOrEqual(fs.statSync(path.join(models.optimum as string, 'transformer', 'model.onnx_data')).size);
  });

  it('reports TensorStack fp16 types, unet/ and the last-layer CLIP-L', async () => {
    const r = await inspectModel(models.tensorstack16 as string);
    expect(r.layout).toBe('tensorstack');
    expect(r.clipHidden).toBe('last');
    expect(r.components[0]?.roles).toMatchObject({ ids: 'input_ids (int32)', hidden: 'last_hidden_state (float16)', pooled: 'pooler_output (float16)' });
    const unet = r.components.find((c) => c.component === 'transformer');
    expect(unet?.file).toBe('unet/model.onnx');
    expect(unet?.roles?.output).toBe('out_sample (float16)');
    expect(unet?.externalData[0]?.file).toBe('unet/model.onnx.data');
  });

  it('reports a component whose roles do not resolve instead of failing', async () => {
    const dir = path.join(tmp, 'renamed-inspect');
    fs.cpSync(models.optimum as string, dir, { recursive: true });
    const file = path.join(dir, 'vae_decoder', 'model.onnx');
    fs.writeFileSync(file, Buffer.from(fs.readFileSync(file).toString('latin1').split('latent_sample').join('latent_sampl3'), 'latin1'));
    const r = await inspectModel(dir);
    // A single-input VAE still resolves (the only input is the latent); the name is reported as is.
    const vae = r.components.find((c) => c.component === 'vae_decoder');
    expect(vae?.inputs[0]?.name).toBe('latent_sampl3');
    expect(vae?.roles?.latent).toBe('latent_sampl3 (float32)');
    const t = path.join(dir, 'transformer', 'model.onnx');
    fs.writeFileSync(t, Buffer.from(fs.readFileSync(t).toString('latin1').split('encoder_hidden_states').join('encoder_hidden_statez'), 'latin1'));
    const r2 = await inspectModel(dir);
    const tr = r2.components.find((c) => c.component === 'transformer');
    expect(tr?.roles).toBeUndefined();
    expect(tr?.error).toContain("'encoder_hidden_states'");
  });
});
