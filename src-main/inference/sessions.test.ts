import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel, type TinyModelOptions } from '../../e2e/support/tiny-model';
import { StudioError } from '../../src-shared/errors';
import { LoadedModel } from './sessions';
import { ortSessionOptions, type SessionOptions } from './ort-session';

describe('ortSessionOptions', () => {
  it('configures DirectML for sequential execution without memory pattern', () => {
    const o = ortSessionOptions({ ep: 'dml', memory: 'balanced' }, 'dml');
    expect(o.executionProviders).toEqual(['dml']);
    expect(o.executionMode).toBe('sequential');
    expect(o.enableMemPattern).toBe(false);
  });
  it('passes threads and turns the CPU arena off in low memory mode', () => {
    const o = ortSessionOptions({ ep: 'cpu', memory: 'low', threads: 1 }, 'cpu');
    expect(o.intraOpNumThreads).toBe(1);
    expect(o.enableCpuMemArena).toBe(false);
    expect(ortSessionOptions({ ep: 'cpu', memory: 'fast' }, 'cpu').intraOpNumThreads).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------

let tmp: string;
const models: Record<string, string> = {};

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-sessions-'));
  const make = async (name: string, options: TinyModelOptions): Promise<void> => {
    models[name] = path.join(tmp, name);
    await writeTinyModel(models[name] as string, options);
  };
  await make('optimum', { layout: 'optimum', io: 'fp32', size: 'micro' });
  await make('optimum16', { layout: 'optimum', io: 'fp16', size: 'micro' });
  await make('tensorstack16', { layout: 'tensorstack', io: 'fp16', size: 'micro' });
  await make('noT5', { layout: 'tensorstack', io: 'fp32', size: 'micro', t5: false });
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const cpu = (memory: SessionOptions['memory']): SessionOptions => ({ ep: 'cpu', threads: 1, memory });

describe('LoadedModel', () => {
  it('memory modes: fast keeps all, balanced frees the text encoders after encoding, low frees each after use', async () => {
    const ids = [Array.from({ length: 77 }, (_, i) => (i === 0 ? 49406 : 49407))];
    const fast = await LoadedModel.load(models.optimum as string, cpu('fast'));
    expect(fast.residentComponents()).toEqual(['text_encoder', 'text_encoder_2', 'text_encoder_3', 'transformer', 'vae_decoder']);
    await fast.encodeClip('text_encoder', ids);
    await fast.endPhase('encode');
    await fast.endPhase('denoise');
    expect(fast.residentComponents()).toHaveLength(5);
    await fast.release();
    expect(fast.residentComponents()).toEqual([]);

    const balanced = await LoadedModel.load(models.optimum as string, cpu('balanced'));
    expect(balanced.residentComponents()).toEqual(['transformer', 'vae_decoder']);
    await balanced.encodeClip('text_encoder', ids);
    await balanced.encodeClip('text_encoder_2', ids);
    expect(balanced.residentComponents()).toEqual(['text_encoder', 'text_encoder_2', 'transformer', 'vae_decoder']);
    await balanced.endPhase('encode');
    expect(balanced.residentComponents()).toEqual(['transformer', 'vae_decoder']);
    await balanced.endPhase('denoise');
    await balanced.endPhase('decode');
    expect(balanced.residentComponents()).toEqual(['transformer', 'vae_decoder']);
    await balanced.release();

    const low = await LoadedModel.load(models.optimum as string, cpu('low'));
    expect(low.residentComponents()).toEqual([]);
    // Each text encoder is freed as soon as its run is read: never two resident together.
    await low.encodeClip('text_encoder', ids);
    expect(low.residentComponents()).toEqual([]);
    await low.encodeClip('text_encoder_2', ids);
    expect(low.residentComponents()).toEqual([]);
    await low.encodeT5([[3, 9, 1]]);
    expect(low.residentComponents()).toEqual([]);
    await low.endPhase('encode');
    expect(low.residentComponents()).toEqual([]);
    const out = await low.decodeLatents(new Float32Array(16 * 2 * 2), [1, 16, 2, 2]);
    expect(out.dims).toEqual([1, 3, 16, 16]);
    expect(low.residentComponents()).toEqual(['vae_decoder']);
    await low.endPhase('decode');
    expect(low.residentComponents()).toEqual([]);
    await low.release();
  });

  it('converts fp16 I/O: an fp16 export gives the fp32 export’s values within half precision', async () => {
    const a = await LoadedModel.load(models.optimum as string, cpu('fast'));
    const b = await LoadedModel.load(models.optimum16 as string, cpu('fast'));
    const ids = [Array.from({ length: 77 }, (_, i) => (i === 0 ? 49406 : i < 5 ? 320 + i : 49407))];
    const ra = await a.encodeClip('text_encoder_2', ids);
    const rb = await b.encodeClip('text_encoder_2', ids);
    expect(rb.hidden).toBeInstanceOf(Float32Array);
    expect(rb.hiddenDims).toEqual([1, 77, 1280]);
    expect(rb.pooledDims).toEqual([1, 1280]);
    let maxErr = 0;
    for (let i = 0; i < ra.hidden.length; i++) maxErr = Math.max(maxErr, Math.abs((ra.hidden[i] as number) - (rb.hidden[i] as number)));
    expect(maxErr).toBeGreaterThan(0); // really went through float16
    expect(maxErr).toBeLessThan(0.01);
    // The transformer too: fp16 inputs converted, fp16 output converted back.
    const context = Float32Array.from({ length: 333 * 4096 }, (_, i) => Math.sin(i * 0.01) * 0.5);
    const pooled = Float32Array.from({ length: 2048 }, (_, i) => Math.cos(i * 0.1));
    const sample = Float32Array.from({ length: 16 * 4 * 4 }, (_, i) => Math.sin(i));
    const va = await a.runTransformer(await a.transformerConditioning(context, [1, 333, 4096], pooled, [1, 2048]), sample, [1, 16, 4, 4], Float32Array.from([500]));
    const vb = await b.runTransformer(await b.transformerConditioning(context, [1, 333, 4096], pooled, [1, 2048]), sample, [1, 16, 4, 4], Float32Array.from([500]));
    expect(vb).toHaveLength(16 * 16);
    for (let i = 0; i < va.length; i++) expect(Math.abs((va[i] as number) - (vb[i] as number))).toBeLessThan(0.02);
    await a.release();
    await b.release();
  });

  it('resolves the TensorStack roles: CLIP-L last_hidden_state with int32 ids', async () => {
    const m = await LoadedModel.load(models.tensorstack16 as string, cpu('balanced'));
    expect(m.layout).toBe('tensorstack');
    expect(m.clipHidden).toBe('last');
    const ids = [Array.from({ length: 77 }, () => 49407)];
    const l = await m.encodeClip('text_encoder', ids);
    expect(l.hiddenKind).toBe('last');
    expect(l.hiddenDims).toEqual([1, 77, 768]);
    const g = await m.encodeClip('text_encoder_2', ids);
    expect(g.hiddenKind).toBe('penultimate');
    await m.release();
  });

  it('skips T5 automatically when text_encoder_3 is absent', async () => {
    const m = await LoadedModel.load(models.noT5 as string, cpu('fast'));
    expect(m.hasT5).toBe(false);
    expect(m.residentComponents()).not.toContain('text_encoder_3');
    await m.release();
  });

  it('auto on this machine: a GPU provider that cannot start falls back to the CPU with the reason kept', async () => {
    const m = await LoadedModel.load(models.optimum as string, { ep: 'auto', threads: 1, memory: 'balanced' });
    if (m.ep === 'cpu') {
      expect(m.epFallbackReason).toMatch(/CUDA|DirectML|CoreML|GPU/);
      expect(m.epFallbackReason).toContain('CPU');
    } else {
      expect(['cuda', 'dml', 'coreml']).toContain(m.ep);
    }
    await m.release();
  });

  it('an explicit provider that cannot start is refused, not silently replaced', async () => {
    // WebGPU is in this build; without a usable adapter it must fail as unavailable.
    let loaded: LoadedModel | undefined;
    try {
      loaded = await LoadedModel.load(models.optimum as string, { ep: 'webgpu', threads: 1, memory: 'balanced' });
    } catch (err) {
      expect(err).toBeInstanceOf(StudioError);
      expect((err as StudioError).code).toBe('unavailable');
      expect((err as StudioError).message).toContain('WebGPU');
      // Without an adapter the message says so plainly, not ORT's assertion text.
      if (/adapter/i.test((err as StudioError).message)) {
        expect((err as StudioError).message).toMatch(/^No WebGPU adapter was found on this computer \(WebGPU needs/);
      }
    }
    if (loaded) {
      expect(loaded.ep).toBe('webgpu');
      await loaded.release();
    }
    await expect(
      LoadedModel.load(models.optimum as string, { ep: 'coreml', memory: 'balanced' }, { platform: 'linux' }),
    ).rejects.toMatchObject({ code: 'unavailable' });
  });

  it('a renamed tensor fails at load, naming the folder, file and tensor', async () => {
    const dir = path.join(tmp, 'renamed');
    fs.cpSync(models.optimum as string, dir, { recursive: true });
    const file = path.join(dir, 'transformer', 'model.onnx');
    const bytes = fs.readFileSync(file);
    // Same length, so the protobuf stays valid: the graph input and its uses are renamed.
    const renamed = Buffer.from(bytes.toString('latin1').split('pooled_projections').join('pooled_projectionz'), 'latin1');
    expect(renamed.equals(bytes)).toBe(false);
    fs.writeFileSync(file, renamed);
    const err = await LoadedModel.load(dir, cpu('low')).then(
      () => undefined,
      (e: unknown) => e as StudioError,
    );
    expect(err).toBeInstanceOf(StudioError);
    expect(err?.code).toBe('invalid_input');
    expect(err?.message).toContain(dir);
    expect(err?.message).toContain('transformer/model.onnx');
    expect(err?.message).toContain('pooled_projections');
  });

  it('a missing file fails at load with not_found naming it', async () => {
    const dir = path.join(tmp, 'missing');
    fs.cpSync(models.optimum as string, dir, { recursive: true });
    fs.rmSync(path.join(dir, 'text_encoder', 'model.onnx_data'));
    await expect(LoadedModel.load(dir, cpu('balanced'))).rejects.toMatchObject({
      code: 'not_found',
      message: expect.stringContaining('text_encoder/model.onnx_data'),
    });
  });
});
