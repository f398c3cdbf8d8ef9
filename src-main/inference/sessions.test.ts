import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel, type TinyModelOptions } from '../../e2e/support/tiny-model';
import { StudioError } from '../../src-shared/errors';
import {
  LoadedModel,
  inspectModel,
  ortSessionOptions,
  planExecutionProviders,
  supportedBackends,
  type EpChoice,
  type SessionOptions,
  type SupportedBackend,
} from './sessions';

// What onnxruntime-node 1.30 reports on each platform (Linux as measured here; the others from its bundles).
const SUPPORTED: Record<string, SupportedBackend[]> = {
  linux: [
    { name: 'cpu', bundled: true },
    { name: 'webgpu', bundled: true },
    { name: 'cuda', bundled: false },
    { name: 'tensorrt', bundled: false },
  ],
  win32: [
    { name: 'cpu', bundled: true },
    { name: 'dml', bundled: true },
    { name: 'webgpu', bundled: true },
    { name: 'cuda', bundled: false },
  ],
  darwin: [
    { name: 'cpu', bundled: true },
    { name: 'coreml', bundled: true },
    { name: 'webgpu', bundled: true },
  ],
  freebsd: [{ name: 'cpu', bundled: true }],
};

function refusal(fn: () => unknown): StudioError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StudioError);
    return err as StudioError;
  }
  throw new Error('expected a refusal');
}

describe('planExecutionProviders', () => {
  // [platform, choice] → providers, or 'refused'
  const table: [NodeJS.Platform, EpChoice, string[] | 'refused'][] = [
    ['linux', 'auto', ['cuda', 'cpu']],
    ['linux', 'cpu', ['cpu']],
    ['linux', 'cuda', ['cuda']],
    ['linux', 'dml', 'refused'],
    ['linux', 'coreml', 'refused'],
    ['linux', 'webgpu', ['webgpu']],
    ['win32', 'auto', ['dml', 'cpu']],
    ['win32', 'cpu', ['cpu']],
    ['win32', 'cuda', ['cuda']],
    ['win32', 'dml', ['dml']],
    ['win32', 'coreml', 'refused'],
    ['win32', 'webgpu', ['webgpu']],
    ['darwin', 'auto', ['coreml', 'cpu']],
    ['darwin', 'cpu', ['cpu']],
    ['darwin', 'cuda', 'refused'],
    ['darwin', 'dml', 'refused'],
    ['darwin', 'coreml', ['coreml']],
    ['darwin', 'webgpu', ['webgpu']],
    ['freebsd', 'auto', ['cpu']],
    ['freebsd', 'cpu', ['cpu']],
    ['freebsd', 'cuda', 'refused'],
    ['freebsd', 'dml', 'refused'],
    ['freebsd', 'coreml', 'refused'],
    ['freebsd', 'webgpu', 'refused'],
  ];
  for (const [platform, choice, expected] of table) {
    it(`${platform} ${choice} → ${expected === 'refused' ? 'refused' : expected.join(', ')}`, () => {
      const supported = SUPPORTED[platform] as SupportedBackend[];
      if (expected === 'refused') {
        const err = refusal(() => planExecutionProviders(choice, platform, supported));
        expect(err.code).toBe('unavailable');
        expect(err.message).toMatch(/auto|cpu/);
      } else {
        const plan = planExecutionProviders(choice, platform, supported);
        expect(plan.providers).toEqual(expected);
        if (choice !== 'auto') expect(plan.fallbackReason).toBeUndefined();
      }
    });
  }

  it('never puts WebGPU in auto', () => {
    for (const platform of ['linux', 'win32', 'darwin', 'freebsd'] as const) {
      expect(planExecutionProviders('auto', platform, SUPPORTED[platform] as SupportedBackend[]).providers).not.toContain('webgpu');
    }
  });

  it('falls back to the CPU with a reason when the GPU provider is not in the build', () => {
    const cpuOnly = [{ name: 'cpu', bundled: true }];
    for (const [platform, label] of [
      ['linux', 'CUDA'],
      ['win32', 'DirectML'],
      ['darwin', 'CoreML'],
    ] as const) {
      const plan = planExecutionProviders('auto', platform, cpuOnly);
      expect(plan.providers).toEqual(['cpu']);
      expect(plan.fallbackReason).toContain(label);
      expect(plan.fallbackReason).toContain('CPU');
    }
    expect(planExecutionProviders('auto', 'freebsd', cpuOnly).fallbackReason).toMatch(/CPU/);
  });

  it('refuses an explicit provider the build lacks, naming it', () => {
    const err = refusal(() => planExecutionProviders('webgpu', 'linux', [{ name: 'cpu', bundled: true }]));
    expect(err.code).toBe('unavailable');
    expect(err.message).toContain('WebGPU');
    const err2 = refusal(() => planExecutionProviders('dml', 'linux', SUPPORTED.linux as SupportedBackend[]));
    expect(err2.message).toContain('DirectML');
    expect(err2.message).toContain('Linux');
  });
});

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
    await low.encodeT5([[3, 9, 1]]);
    expect(low.residentComponents()).toEqual(['text_encoder_3']);
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

describe('providers whose library is not installed', () => {
  const withMissingCuda = [
    { name: 'cpu', bundled: true },
    { name: 'webgpu', bundled: true },
    { name: 'cuda', bundled: false, installed: false },
  ];
  it('auto on Linux falls back to the CPU without trying CUDA, and says why', () => {
    const plan = planExecutionProviders('auto', 'linux', withMissingCuda);
    expect(plan.providers).toEqual(['cpu']);
    expect(plan.fallbackReason).toMatch(/CUDA support is not installed/);
  });
  it('an explicit --ep cuda is refused with the reason', () => {
    expect(() => planExecutionProviders('cuda', 'linux', withMissingCuda)).toThrow(/not installed/);
  });
  it('this machine reports whether the CUDA library is present', () => {
    const cuda = supportedBackends().find((b) => b.name === 'cuda');
    if (cuda) expect(typeof cuda.installed).toBe('boolean');
  });
});
