import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CATALOG,
  CATALOG_IDS,
  catalogIdSchema,
  catalogSourceForRepo,
  catalogVariantForRepo,
  CPU_FP16_WEIGHT_FACTOR,
  cpuPhasePeaks,
  cpuTransformerWorkingBytes,
  fitCheck,
  parseRepoRef,
  peakMemoryBytes,
  repoFolderName,
  variantFromSource,
  selectFiles,
} from './catalog';
import { isStudioError } from './errors';

// A TensorStack-style listing with the clutter real repos carry.
const TENSORSTACK_REPO = [
  '.gitattributes',
  'README.md',
  'amuse_template.json',
  'Sample.png',
  'Sample2.png',
  'model_index.json',
  'scheduler/scheduler_config.json',
  'text_encoder/config.json',
  'text_encoder/model.onnx',
  'text_encoder_2/config.json',
  'text_encoder_2/model.onnx',
  'text_encoder_2/model.onnx.data',
  'text_encoder_3/config.json',
  'text_encoder_3/model.onnx',
  'text_encoder_3/model.onnx.data',
  'tokenizer/merges.txt',
  'tokenizer/model.onnx',
  'tokenizer/special_tokens_map.json',
  'tokenizer/tokenizer_config.json',
  'tokenizer/vocab.json',
  'tokenizer_2/merges.txt',
  'tokenizer_2/model.onnx',
  'tokenizer_2/special_tokens_map.json',
  'tokenizer_2/tokenizer_config.json',
  'tokenizer_2/vocab.json',
  'tokenizer_3/model.onnx',
  'tokenizer_3/special_tokens_map.json',
  'tokenizer_3/spiece.model',
  'tokenizer_3/tokenizer.json',
  'tokenizer_3/tokenizer_config.json',
  'unet/config.json',
  'unet/model.onnx',
  'unet/model.onnx.data',
  'vae_decoder/config.json',
  'vae_decoder/model.onnx',
  'vae_encoder/config.json',
  'vae_encoder/model.onnx',
  'vae copy/model.onnx',
  'unet/old/model.onnx',
  'samples/cat.png',
];

describe('catalog', () => {
  it('has the three variants with their TensorStack repos, defaults and licence links', () => {
    expect(Object.keys(CATALOG)).toEqual([...CATALOG_IDS]);
    expect(CATALOG['sd3.5-medium'].repo).toBe('TensorStack/stable-diffusion-3.5-medium-onnx');
    expect(CATALOG['sd3.5-large-turbo'].repo).toBe('TensorStack/stable-diffusion-3.5-large-turbo-onnx');
    expect(CATALOG['sd3.5-large'].repo).toBe('TensorStack/stable-diffusion-3.5-large-onnx');
    expect(CATALOG['sd3.5-medium'].defaults).toEqual({ steps: 40, guidance: 4.5, width: 1024, height: 1024, shift: 3, sampler: 'euler', scheduler: 'normal' });
    expect(CATALOG['sd3.5-large'].defaults).toMatchObject({ steps: 28, guidance: 3.5 });
    expect(CATALOG['sd3.5-large-turbo'].defaults).toMatchObject({ steps: 4, guidance: 0 });
    expect(CATALOG['sd3.5-large'].licence).toEqual({
      name: 'Stability AI Community License',
      url: 'https://huggingface.co/stabilityai/stable-diffusion-3.5-large/blob/main/LICENSE.md',
    });
    for (const v of Object.values(CATALOG)) {
      expect(v.layout).toBe('tensorstack');
      expect(v.pageUrl).toBe(`https://huggingface.co/${v.repo}`);
      // "without T5" saves the 9.52 GB of T5.
      expect(v.downloadBytes.full - v.downloadBytes.withoutT5).toBe(9.52e9);
    }
    expect(CATALOG['sd3.5-medium'].downloadBytes.full).toBeGreaterThan(16e9);
    expect(CATALOG['sd3.5-large'].downloadBytes.full).toBeGreaterThan(27e9);
  });

  it('validates catalog ids and finds variants by repo, case-insensitively', () => {
    expect(catalogIdSchema.parse('sd3.5-medium')).toBe('sd3.5-medium');
    expect(catalogIdSchema.safeParse('sd3-medium').success).toBe(false);
    expect(catalogVariantForRepo('tensorstack/Stable-Diffusion-3.5-Large-ONNX')?.id).toBe('sd3.5-large');
    expect(catalogVariantForRepo('stabilityai/stable-diffusion-3.5-large')).toBeUndefined();
  });

  it("offers Stability AI's AMD GPU exports as a second source: sizes from the Hub's file pages, TensorStack the default", () => {
    for (const v of Object.values(CATALOG)) {
      expect(v.sources.map((s) => s.id)).toEqual(['tensorstack', 'stability']);
      expect(v.sources[0]!.repo).toBe(v.repo);
      expect(v.sources[0]!.downloadBytes).toEqual(v.downloadBytes);
    }
    expect(CATALOG['sd3.5-medium'].sources[1]!.repo).toBe('stabilityai/stable-diffusion-3.5-medium_amdgpu');
    expect(CATALOG['sd3.5-large'].sources[1]!.repo).toBe('stabilityai/stable-diffusion-3.5-large_amdgpu');
    expect(CATALOG['sd3.5-large-turbo'].sources[1]!.repo).toBe('stabilityai/stable-diffusion-3.5-large-turbo_amdgpu');
    // huggingface.co/stabilityai/stable-diffusion-3.5-medium_amdgpu/tree/main/stable-diffusion-3.5-medium_io16/text_encoder_3:
    // model.onnx 454 kB + model.onnx.data 2.65 GB; text_encoder 248 MB; vae_decoder 102 MB; text_encoder_2 (io32) 453 MB + 619 kB.
    const s = CATALOG['sd3.5-large'].sources[1]!;
    expect(s.components).toMatchObject({ t5: 2.65e9, clipL: 248e6, vaeDecoder: 102e6, clipG: 454e6, transformer: 16.3e9 });
    expect(s.downloadBytes.full - s.downloadBytes.withoutT5).toBe(2.65e9);
    expect(catalogSourceForRepo('StabilityAI/Stable-Diffusion-3.5-Large_AMDGPU')).toMatchObject({ variant: { id: 'sd3.5-large' }, source: { id: 'stability' } });
    expect(catalogSourceForRepo('stabilityai/stable-diffusion-3.5-large')).toBeUndefined();
    const viaStability = variantFromSource(CATALOG['sd3.5-large'], 'stability');
    expect(viaStability).toMatchObject({ id: 'sd3.5-large', repo: s.repo, downloadBytes: s.downloadBytes, defaults: CATALOG['sd3.5-large'].defaults });
    // Large with T5 on a 24 GB GPU: TensorStack needs T5 dropped in balanced mode, the quantised T5 does not.
    const gpu = { ramBytes: 64e9, vramBytes: 24e9, provider: 'cuda' };
    expect(peakMemoryBytes(viaStability, 'balanced', true)).toBeLessThan(peakMemoryBytes(CATALOG['sd3.5-large'], 'balanced', true) - 6.8e9);
    expect(fitCheck(viaStability, gpu).withoutT5).toBeUndefined();
  });
});

describe('selectFiles', () => {
  it('keeps exactly the files the pipeline needs', () => {
    expect(selectFiles(TENSORSTACK_REPO, { t5: true }).sort()).toEqual(
      [
        'model_index.json',
        'scheduler/scheduler_config.json',
        'text_encoder/config.json',
        'text_encoder/model.onnx',
        'text_encoder_2/config.json',
        'text_encoder_2/model.onnx',
        'text_encoder_2/model.onnx.data',
        'text_encoder_3/config.json',
        'text_encoder_3/model.onnx',
        'text_encoder_3/model.onnx.data',
        'tokenizer/merges.txt',
        'tokenizer/special_tokens_map.json',
        'tokenizer/tokenizer_config.json',
        'tokenizer/vocab.json',
        'tokenizer_2/merges.txt',
        'tokenizer_2/special_tokens_map.json',
        'tokenizer_2/tokenizer_config.json',
        'tokenizer_2/vocab.json',
        'tokenizer_3/special_tokens_map.json',
        'tokenizer_3/tokenizer.json',
        'tokenizer_3/tokenizer_config.json',
        'unet/config.json',
        'unet/model.onnx',
        'unet/model.onnx.data',
        'vae_decoder/config.json',
        'vae_decoder/model.onnx',
        'vae_encoder/config.json',
        'vae_encoder/model.onnx',
      ].sort(),
    );
  });

  it('without T5 drops text_encoder_3/ and tokenizer_3/ only', () => {
    const full = selectFiles(TENSORSTACK_REPO, { t5: true });
    const noT5 = selectFiles(TENSORSTACK_REPO, { t5: false });
    expect(full.filter((p) => !noT5.includes(p)).sort()).toEqual(
      full.filter((p) => p.startsWith('text_encoder_3/') || p.startsWith('tokenizer_3/')).sort(),
    );
    expect(noT5.some((p) => p.includes('_3/'))).toBe(false);
  });

  it('accepts the optimum layout (transformer/, model.onnx_data)', () => {
    const optimum = ['transformer/model.onnx', 'transformer/model.onnx_data', 'transformer/config.json', 'vae_encoder/model.onnx'];
    expect(selectFiles(optimum, { t5: true })).toEqual(['transformer/model.onnx', 'transformer/model.onnx_data', 'transformer/config.json', 'vae_encoder/model.onnx']);
  });

  it('never selects samples, tokenizer graphs, nested or traversal paths (property)', () => {
    const segment = fc.stringMatching(/^[a-z_ .0-9]{1,12}$/);
    fc.assert(
      fc.property(fc.array(fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/')), { maxLength: 30 }), (paths) => {
        const all = [...paths, ...TENSORSTACK_REPO];
        for (const t5 of [true, false]) {
          const picked = selectFiles(all, { t5 });
          expect(new Set(picked).size).toBe(picked.length);
          for (const p of picked) {
            expect(p.split('/').length).toBeLessThanOrEqual(2);
            expect(p).not.toMatch(/\.png$|^tokenizer(_\d)?\/model\.onnx$|\.\./);
            if (!t5) expect(p).not.toMatch(/^(text_encoder_3|tokenizer_3)\//);
          }
        }
      }),
    );
  });
});

describe('parseRepoRef', () => {
  it('parses owner/name with and without a revision', () => {
    expect(parseRepoRef('TensorStack/stable-diffusion-3.5-medium-onnx')).toEqual({
      repo: 'TensorStack/stable-diffusion-3.5-medium-onnx',
      owner: 'TensorStack',
      name: 'stable-diffusion-3.5-medium-onnx',
      revision: 'main',
      explicitRevision: false,
    });
    expect(parseRepoRef('a/b@refs/pr/3')).toMatchObject({ repo: 'a/b', revision: 'refs/pr/3', explicitRevision: true });
    expect(parseRepoRef(' a/b@0123456789abcdef0123456789abcdef01234567 ').revision).toHaveLength(40);
  });

  it.each(['sd3.5-medium', 'a/b/c', '/b', 'a/', 'a/b@', 'a/b@x y', 'a--x/b', 'a/b..c', '-a/b', 'a/b c'])('rejects %j with invalid_input', (ref) => {
    let err: unknown;
    try {
      parseRepoRef(ref);
    } catch (e) {
      err = e;
    }
    expect(isStudioError(err, 'invalid_input')).toBe(true);
    expect((err as Error).message).toContain('owner/name');
  });

  it('names the folder owner--name', () => {
    expect(repoFolderName('TensorStack/x-onnx')).toBe('TensorStack--x-onnx');
  });
});

describe('fitCheck at real size (measured)', () => {
  // npm run bench -- real-scale, 2026-12-07 (this 2-core 24 GB machine, CPU, one thread), full-size Medium components
  // with random weights (e2e/support/real-scale-model.ts); VmHWM. The VAE alone in a fresh process; the real worker
  // (with its allocator setting, inference/allocator-env.ts) for one image in the low mode without T5.
  const MEASURED = {
    vaeDecode1024: 6.62e9,
    workerLowNoT5At512: 10.7e9,
    workerLowNoT5At896: 14.3e9,
  };
  const medium = CATALOG['sd3.5-medium'];
  const m = medium.components;
  /** The low mode's denoising step on the CPU, written here from the measured terms: the fp32 weights, two score matrices of 2 × 24 heads × tokens² float32, 1.2 GB beside them and the process (1 GB). */
  const step = (side: number, context: number): number => {
    const tokens = (side / 16) ** 2 + context;
    return m.transformer * 2 + 2 * 2 * 24 * tokens * tokens * 4 + 1.2e9 + 1e9;
  };

  it('never under the measured peak of the full-size VAE decoding 1024² on the CPU, and at most 25 % over it', () => {
    const decode = cpuPhasePeaks(medium, 'low', false).decode;
    expect(decode).toBeGreaterThanOrEqual(MEASURED.vaeDecode1024);
    expect(decode / MEASURED.vaeDecode1024).toBeLessThanOrEqual(1.25);
  });

  it("never under the real worker's measured peak (Medium, low mode without T5, one image at 512² and at 896²), and at most 25 % over it", () => {
    for (const [side, measured] of [[512, MEASURED.workerLowNoT5At512], [896, MEASURED.workerLowNoT5At896]] as const) {
      const p = cpuPhasePeaks(medium, 'low', false, CPU_FP16_WEIGHT_FACTOR, side * side);
      const estimate = Math.max(p.encode, p.denoise, p.decode);
      expect(estimate).toBe(Math.round(step(side, 77 + 77)));
      expect(estimate).toBeGreaterThanOrEqual(measured);
      expect(estimate / measured).toBeLessThanOrEqual(1.25);
    }
    // Independently: the score matrices' size, and Large Turbo (no guidance: one batch, 38 heads).
    const tokens = 64 * 64 + 333;
    expect(cpuTransformerWorkingBytes(medium, true)).toBe(2 * 2 * 24 * tokens * tokens * 4);
    expect(cpuTransformerWorkingBytes(CATALOG['sd3.5-large-turbo'], true)).toBe(2 * 1 * 38 * tokens * tokens * 4);
  });

  it('the peak on the CPU is the largest phase: Medium without T5, balanced, is the denoising step', () => {
    const tokens = 64 * 64 + 77 + 77;
    const balancedStep = (m.transformer + m.vaeDecoder) * 2 + 2 * 2 * 24 * tokens * tokens * 4 + 1.2e9 + 1e9;
    const decode = (m.transformer + m.vaeDecoder) * 2 + 6.5e9 + 1e9;
    expect(balancedStep).toBeGreaterThan(decode);
    expect(peakMemoryBytes(medium, 'balanced', false, 2)).toBe(Math.round(balancedStep));
  });

  it('on this 24 GB machine Medium fits at 1024² with T5 in the low mode: T5 alone is the peak', () => {
    const r = fitCheck(medium, { ramBytes: 24 * 1e9 });
    // Worked here: the T5 phase holds T5's fp32 weights alone (one text encoder at a time) with one run's allowance
    // and the process: 21.04 GB; the step at 1024² with T5's context (4,429 tokens): 19.61 GB; the budget 90 %.
    const t5Phase = m.t5 * 2 + 1e9 + 1e9;
    expect(step(1024, 333)).toBeLessThan(t5Phase);
    expect(t5Phase).toBeLessThanOrEqual(24e9 * 0.9);
    expect(r).toMatchObject({ fits: true, memoryMode: 'low', provider: 'cpu' });
    expect(r.withoutT5).toBeUndefined();
    expect(r.peakBytes).toBe(Math.round(t5Phase));
  });

  it('where 1024² does not fit, the card names the largest side that does (a 20 GB machine: without T5)', () => {
    const r = fitCheck(medium, { ramBytes: 20 * 1e9 });
    expect(r.fits).toBe(false);
    expect(r.message).toMatch(/will not fit at 1024 × 1024 in 20\.0 GB of RAM on the CPU/);
    expect(r.message).toContain('smaller images need less');
    // The largest square side (a multiple of 64) at which it fits, worked out here from the measured terms: the low
    // mode, which holds one text encoder at a time, then the transformer with its attention at that size, then the
    // VAE (its 1024² working memory scaled with the pixels); with T5 preferred at each side.
    const budget = 20e9 * 0.9;
    const low = (side: number, t5: boolean): number => {
      const encode = Math.max(m.clipL, m.clipG, t5 ? m.t5 : 0) * 2 + 1e9 + 1e9;
      const decode = m.vaeDecoder * 2 + (6.5e9 * side * side) / (1024 * 1024) + 1e9;
      return Math.max(encode, step(side, 77 + (t5 ? 256 : 77)), decode);
    };
    let found: { side: number; withoutT5: boolean; peakBytes: number } | undefined;
    for (let side = 960; side >= 512 && !found; side -= 64) {
      for (const t5 of [true, false]) {
        if (!found && low(side, t5) <= budget) found = { side, withoutT5: !t5, peakBytes: Math.round(low(side, t5)) };
      }
    }
    expect(r.fitsUpTo).toEqual(found);
    // By hand: T5's phase (21.04 GB) is over 18 GB at every side; without T5 960² needs 17.49 GB (3,754 tokens).
    expect(found).toMatchObject({ side: 960, withoutT5: true });
    expect(r.message).toContain('it fits at up to 960 × 960 with the low memory mode without T5');
  });

  it('names no smaller size where even 512² does not fit, and none on a GPU', () => {
    const tiny = fitCheck(medium, { ramBytes: 8 * 1e9 });
    expect(tiny.fitsUpTo).toBeUndefined();
    expect(tiny.message).toContain('There is no smaller variant');
    expect(fitCheck(CATALOG['sd3.5-large'], { ramBytes: 64 * 1e9, vramBytes: 8 * 1e9, provider: 'cuda' }).fitsUpTo).toBeUndefined();
  });
});

describe('fitCheck', () => {
  const GB = 1e9;
  const medium = CATALOG['sd3.5-medium'];
  const large = CATALOG['sd3.5-large'];

  it('orders modes by peak memory', () => {
    for (const v of [medium, large]) {
      expect(peakMemoryBytes(v, 'fast', true)).toBeGreaterThan(peakMemoryBytes(v, 'balanced', true));
      expect(peakMemoryBytes(v, 'balanced', true)).toBeGreaterThanOrEqual(peakMemoryBytes(v, 'low', true));
      expect(peakMemoryBytes(v, 'low', true)).toBeGreaterThanOrEqual(peakMemoryBytes(v, 'low', false));
    }
  });

  it('follows the worker\'s load and free order, in the order the worker-memory bench measured (fast > balanced > low)', () => {
    // The bench's model (scripts/bench/worker-memory.bench.ts): 600 MB T5 and transformer, small CLIPs and VAE, fp32
    // weights (factor 1). Measured peak worker RSS: fast 2520 MB, balanced 1999 MB, low 1347 MB.
    const MB = 1e6;
    const bench = { ...medium, components: { transformer: 600 * MB, t5: 600 * MB, clipL: 20 * MB, clipG: 20 * MB, vaeDecoder: 10 * MB } };
    const c = bench.components;
    const encoders = c.clipL + c.clipG + c.t5;
    const denoise = c.transformer + c.vaeDecoder;
    const [fast, balanced, low] = (['fast', 'balanced', 'low'] as const).map((m) => peakMemoryBytes(bench, m, true));
    expect(fast).toBeGreaterThan(balanced!);
    expect(balanced).toBeGreaterThan(low!);
    // Balanced: the transformer and the VAE are loaded at load, the encoders join them for encoding (the overlap).
    expect(balanced).toBeGreaterThanOrEqual(encoders + denoise);
    // Low: one text encoder at a time, then the transformer alone: here T5 (600 MB) is no larger than the
    // transformer, so T5 adds nothing to the low peak (the three encoders together would have added 40 MB).
    expect(low).toBe(peakMemoryBytes(bench, 'low', false));
    const bigT5 = { ...bench, components: { ...c, t5: 800 * MB } };
    expect(peakMemoryBytes(bigT5, 'low', true) - peakMemoryBytes(bigT5, 'low', false)).toBe(800 * MB - c.transformer);
    // What balanced holds beyond low is what the bench measured between them (1999 − 1347 MB), within 50 MB.
    expect(Math.abs(balanced! - low! - (1999 - 1347) * MB)).toBeLessThan(50 * MB);
    // The CPU counts the fp16 weights twice and each phase's measured working memory; fast > balanced > low there too.
    const m = medium.components;
    const all = m.clipL + m.clipG + m.t5 + m.transformer + m.vaeDecoder;
    const attention = cpuTransformerWorkingBytes(medium, true);
    expect(peakMemoryBytes(medium, 'fast', true, 2)).toBe(Math.round(all * 2 + 1 * GB + attention + 1.2 * GB + 1 * GB));
    expect(peakMemoryBytes(medium, 'balanced', true, 2)).toBe(Math.round(all * 2 + 1 * GB + 1 * GB));
    // Low with T5 on the CPU: T5 alone while encoding (its fp32 weights, one run's allowance, the process) is larger
    // than the step at 1024².
    expect(peakMemoryBytes(medium, 'low', true, 2)).toBe(Math.round(Math.max(m.t5 * 2 + 1 * GB + 1 * GB, m.transformer * 2 + attention + 1.2 * GB + 1 * GB)));
    expect(m.t5 * 2 + 2 * GB).toBeGreaterThan(m.transformer * 2 + attention + 2.2 * GB);
  });

  it('recommends the fastest mode that fits, on a GPU counting the fp16 weights once', () => {
    const gpu = (vram: number) => ({ ramBytes: 64 * GB, vramBytes: vram, provider: 'cuda' });
    expect(fitCheck(medium, gpu(24 * GB))).toMatchObject({ fits: true, memoryMode: 'fast', provider: 'cuda', weightFactor: 1 });
    // Balanced holds every weight while encoding (the transformer stays loaded), so it fits where fast nearly does.
    expect(fitCheck(medium, gpu(21 * GB))).toMatchObject({ fits: true, memoryMode: 'balanced' });
    expect(fitCheck(medium, gpu(16 * GB))).toMatchObject({ fits: true, memoryMode: 'low' });
    expect(fitCheck(medium, gpu(16 * GB)).withoutT5).toBeUndefined();
    // 14 GB: the low mode holds T5 alone (9.52 GB) while encoding, so T5 fits there; T5 is preferred over a faster
    // mode without it (the fit check tries with T5 first). 12 GB: not even T5 alone; fast without T5 fits.
    expect(fitCheck(medium, gpu(14 * GB))).toMatchObject({ fits: true, memoryMode: 'low' });
    expect(fitCheck(medium, gpu(14 * GB)).withoutT5).toBeUndefined();
    expect(fitCheck(medium, gpu(12 * GB))).toMatchObject({ fits: true, memoryMode: 'fast', withoutT5: true });
    const r = fitCheck(large, gpu(24 * GB));
    expect(r).toMatchObject({ fits: true, memoryMode: 'low' });
    expect(r.message).toContain('24.0 GB of GPU memory with CUDA');
  });

  it('on the CPU counts fp16 weights twice and says so: Medium on 32 GB is the low mode, not "fast"', () => {
    const r = fitCheck(medium, { ramBytes: 32 * GB });
    expect(r).toMatchObject({ fits: true, memoryMode: 'low', provider: 'cpu', weightFactor: CPU_FP16_WEIGHT_FACTOR });
    expect(r.withoutT5).toBeUndefined();
    expect(r.message).toMatch(/^Stable Diffusion 3\.5 Medium fits in 32\.0 GB of RAM on the CPU \(which holds fp16 weights as fp32/);
    expect(r.peakBytes).toBe(peakMemoryBytes(medium, 'low', true, 2));
    // On 34 GB of RAM balanced with T5 does not fit (every weight as fp32 while encoding: 32.4 GB + 2 GB over the
    // 30.6 GB budget); low with T5 does. Without T5 balanced would (its step ≈ 19.2 GB): T5 is preferred to speed.
    expect(fitCheck(medium, { ramBytes: 34 * GB })).toMatchObject({ fits: true, memoryMode: 'low', provider: 'cpu' });
    expect(fitCheck(medium, { ramBytes: 34 * GB }).withoutT5).toBeUndefined();
    expect(fitCheck(medium, { ramBytes: 40 * GB })).toMatchObject({ fits: true, memoryMode: 'balanced', provider: 'cpu' });
    // The same machine with a 24 GB NVIDIA GPU: fast.
    expect(fitCheck(medium, { ramBytes: 24 * GB, vramBytes: 24 * GB, provider: 'cuda' }).memoryMode).toBe('fast');
    expect(fitCheck(medium, { ramBytes: 64 * GB })).toMatchObject({ fits: true, memoryMode: 'fast', provider: 'cpu' });
  });

  it('unified memory is the RAM; a GPU provider with unknown memory says so', () => {
    expect(fitCheck(medium, { ramBytes: 32 * GB, provider: 'coreml', unified: true }).message).toContain('32.0 GB of unified memory with Core ML');
    expect(fitCheck(medium, { ramBytes: 32 * GB, provider: 'dml' }).message).toContain('with DirectML (its GPU memory is unknown)');
  });

  it('falls back to "without T5", then says it will not fit', () => {
    const r = fitCheck(medium, { ramBytes: 16 * GB, vramBytes: 12 * GB, provider: 'cuda' });
    expect(r).toMatchObject({ fits: true, withoutT5: true, provider: 'cuda' });
    expect(r.message).toMatch(/without the T5/);
    const no = fitCheck(large, { ramBytes: 8 * GB });
    expect(no.fits).toBe(false);
    expect(no.message).toMatch(/will not fit at 1024 × 1024 in 8.00 GB of RAM on the CPU/);
  });
});
