import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StudioError } from './errors';
import {
  formatParameters,
  parseA1111,
  parseA1111ParamsLine,
  parseComfyPrompt,
  parseInvokeAI,
  parseInvokeDream,
  parseStudioJson,
  parseTextChunks,
  studioImageMetaSchema,
  studioJson,
  type StudioImageMeta,
} from './metadata';

const base: StudioImageMeta = {
  prompt: 'a lighthouse at dusk, oil painting',
  negativePrompt: 'blurry',
  seed: '42',
  steps: 28,
  guidance: 4.5,
  width: 1024,
  height: 1024,
  shift: 3,
  scheduler: 'flow-match-euler',
  model: { id: 'sd3.5-medium', repo: 'TensorStack/stable-diffusion-3.5-medium-onnx', commit: 'abc123', modelHash: '0123456789' },
  ep: 'cpu',
  precision: 'fp16',
  rng: 'torch-cpu-mt19937',
  clipHidden: 'penultimate',
  t5: true,
  appVersion: '0.1.0',
};

// ---------------------------------------------------------------------------------------------
// Generators

const fragments = fc.constantFrom(
  'cat',
  'a',
  ' ',
  ', ',
  ',',
  ':',
  ': ',
  '"',
  '\\',
  "'",
  '\n',
  '\r\n',
  '\t',
  'Negative prompt:',
  ' Negative prompt: x',
  'Steps: 3, Sampler: x, CFG scale: 2',
  'Seed: 1',
  '(masterpiece:1.2)',
  '[neg]',
  '{json}',
  '<lora:x:0.7>',
  '😀',
  '👩‍👩‍👧',
  'テスト',
  'é',
  'Ã©',
  '\u200b',
  '\u00a0',
  'x=1',
);
const freeText = fc.oneof(
  fc.array(fc.oneof(fragments, fc.string({ unit: 'grapheme', maxLength: 8 })), { maxLength: 30 }).map((a) => a.join('')),
  fc.string({ unit: 'binary', maxLength: 60 }),
);

/**
 * Text that A1111's format can carry exactly: no whitespace at either end (every A1111 reader trims
 * prompts) and no line that begins with "Negative prompt:" (that line starts the negative prompt).
 * Our sd35studio chunk carries every other text exactly; the PNG tests cover that.
 */
function a1111Representable(s: string): string {
  return s.trim().replace(/(^|\n)Negative prompt:/g, '$1x Negative prompt:');
}
const promptArb = freeText.map(a1111Representable);

const nameArb = fc
  .oneof(
    fc.constantFrom('sd3.5-medium', 'sd3.5-large-turbo', 'my, model: v2', '"quoted"', '{brace', 'ünï', 'a\nb'),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
  )
  .filter((s) => s.length > 0);

const metaArb: fc.Arbitrary<StudioImageMeta> = fc.record(
  {
    prompt: promptArb,
    negativePrompt: promptArb,
    seed: fc.bigInt(0n, 2n ** 64n - 1n).map(String),
    steps: fc.integer({ min: 1, max: 150 }),
    guidance: fc.oneof(fc.integer({ min: 0, max: 300 }).map((n) => n / 10), fc.double({ min: 0, max: 30, noNaN: true, noDefaultInfinity: true }).map((x) => x + 0)),
    width: fc.integer({ min: 1, max: 4096 }),
    height: fc.integer({ min: 1, max: 4096 }),
    shift: fc.constantFrom(3, 1, 2.5),
    scheduler: fc.constant('flow-match-euler'),
    model: fc.record(
      {
        id: nameArb,
        repo: nameArb,
        commit: fc.stringMatching(/^[0-9a-f]{40}$/),
        modelHash: fc.stringMatching(/^[0-9a-f]{10}$/),
      },
      { requiredKeys: ['id'] },
    ),
    ep: fc.constantFrom('cpu', 'cuda', 'dml'),
    precision: fc.constantFrom('fp16', 'fp32'),
    rng: fc.constant('torch-cpu-mt19937'),
    clipHidden: fc.constantFrom<'penultimate' | 'last'>('penultimate', 'last'),
    t5: fc.boolean(),
    appVersion: fc.constantFrom('0.1.0', '1.2.3-beta.1', '2.0.0+build:7'),
  },
  { requiredKeys: ['prompt', 'negativePrompt', 'seed', 'steps', 'guidance', 'width', 'height', 'shift', 'scheduler', 'model', 'ep', 'precision', 'rng', 't5', 'appVersion'] },
);

function expectA1111RoundTrip(meta: StudioImageMeta): void {
  const text = formatParameters(meta);
  const p = parseA1111(text);
  expect(p.prompt).toBe(meta.prompt);
  expect(p.negativePrompt ?? '').toBe(meta.negativePrompt);
  expect(p.seed).toBe(meta.seed);
  expect(p.steps).toBe(meta.steps);
  expect(p.guidance).toBe(meta.guidance);
  expect(p.width).toBe(meta.width);
  expect(p.height).toBe(meta.height);
  expect(p.model).toBe(meta.model.id);
  expect(p.modelHash).toBe(meta.model.modelHash);
  expect(p.extra.Version).toBe(`sd35-studio ${meta.appVersion}`);
}

// ---------------------------------------------------------------------------------------------

describe('formatParameters', () => {
  it('writes the A1111 layout the issue specifies', () => {
    expect(formatParameters(base)).toBe(
      'a lighthouse at dusk, oil painting\n' +
        'Negative prompt: blurry\n' +
        'Steps: 28, Sampler: Euler, Schedule type: Normal, CFG scale: 4.5, Seed: 42, Size: 1024x1024, Shift: 3, ' +
        'Model hash: 0123456789, Model: sd3.5-medium, RNG: CPU, Version: sd35-studio 0.1.0',
    );
  });

  it('omits the negative line when the negative is empty and Model hash when unknown', () => {
    const text = formatParameters({ ...base, negativePrompt: '', model: { id: 'sd3.5-medium' } });
    expect(text).not.toContain('Negative prompt');
    expect(text).not.toContain('Model hash');
    expect(text.split('\n')).toHaveLength(2);
  });

  it('JSON-quotes values with commas, colons or newlines, as A1111 does', () => {
    const text = formatParameters({ ...base, model: { id: 'my, model: v2\nx' } });
    expect(text).toContain('Model: "my, model: v2\\nx", RNG: CPU');
    expect(parseA1111(text).model).toBe('my, model: v2\nx');
  });

  it('writes a prompt-less image as the negative line first', () => {
    const text = formatParameters({ ...base, prompt: '' });
    expect(text.startsWith('Negative prompt: blurry\nSteps: 28')).toBe(true);
    expect(parseA1111(text).prompt).toBe('');
  });
});

describe('formatParameters → parseA1111 round trip (property)', () => {
  it('returns the same prompt, negative, seed, steps, guidance, size and model', () => {
    fc.assert(fc.property(metaArb, (meta) => expectA1111RoundTrip(meta)), { numRuns: 600 });
  }, 60_000);

  it('holds for the awkward cases by name', () => {
    for (const prompt of [
      'say "hi", then: go\nline two: "quoted, value"',
      'a cat, Negative prompt: not a negative here',
      'line\nx Negative prompt: inside a line',
      '😀👩‍👩‍👧 テスト\u200b',
      'ends in zero width\u200b\u200b',
      'Steps: 1, Sampler: Fake, CFG scale: 1, Seed: 9\nreal prompt',
      'crlf\r\nlines\r\nhere',
    ]) {
      expectA1111RoundTrip({ ...base, prompt, negativePrompt: prompt });
    }
  });

  it('holds for 10,000-character prompts', () => {
    const longText = fc
      .array(fc.oneof(fragments, fc.string({ unit: 'grapheme', maxLength: 12 })), { minLength: 1500, maxLength: 2500 })
      .map((a) => a.join(''))
      .filter((s) => s.length >= 10_000)
      .map(a1111Representable);
    fc.assert(
      fc.property(longText, longText, (prompt, negativePrompt) => {
        expect(prompt.length).toBeGreaterThan(9_000);
        expectA1111RoundTrip({ ...base, prompt, negativePrompt });
      }),
      { numRuns: 20 },
    );
  }, 60_000);

  it('keeps seeds above 2^53 exact', () => {
    const seed = '18446744073709551615';
    expect(parseA1111(formatParameters({ ...base, seed })).seed).toBe(seed);
  });
});

describe('parseA1111 on hand-written infotexts', () => {
  it('reads a hires-fix infotext with quoted values, Hashes JSON and a multi-line prompt', () => {
    const text = [
      'masterpiece, best quality,',
      '1girl, (silver hair:1.2), <lora:detail_tweaker:0.6>',
      'Negative prompt: lowres, bad anatomy,',
      'extra fingers',
      'Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 1234567890, Size: 832x1216, ' +
        'Model hash: 1a2b3c4d5e, Model: animagineXL_v31, VAE hash: 235745af8d, VAE: sdxl_vae.safetensors, ' +
        'Denoising strength: 0.4, Clip skip: 2, Hires upscale: 1.5, Hires steps: 15, Hires upscaler: R-ESRGAN 4x+ Anime6B, ' +
        'Lora hashes: "detail_tweaker: e3cbb1f2a4f9", Hashes: {"vae": "235745af8d", "lora:detail_tweaker": "e3cbb1f2a4"}, ' +
        'TI hashes: "easynegative: c74b4e810b03, badhand: 2b6f8a7e", Version: v1.9.4',
    ].join('\n');
    const p = parseA1111(text);
    expect(p).toMatchObject({
      source: 'a1111',
      prompt: 'masterpiece, best quality,\n1girl, (silver hair:1.2), <lora:detail_tweaker:0.6>',
      negativePrompt: 'lowres, bad anatomy,\nextra fingers',
      seed: '1234567890',
      steps: 28,
      guidance: 6.5,
      width: 832,
      height: 1216,
      model: 'animagineXL_v31',
      modelHash: '1a2b3c4d5e',
      sampler: 'DPM++ 2M',
      scheduler: 'Karras',
    });
    expect(p.extra).toEqual({
      'VAE hash': '235745af8d',
      VAE: 'sdxl_vae.safetensors',
      'Denoising strength': '0.4',
      'Clip skip': '2',
      'Hires upscale': '1.5',
      'Hires steps': '15',
      'Hires upscaler': 'R-ESRGAN 4x+ Anime6B',
      'Lora hashes': 'detail_tweaker: e3cbb1f2a4f9',
      Hashes: '{"vae": "235745af8d", "lora:detail_tweaker": "e3cbb1f2a4"}',
      'TI hashes': 'easynegative: c74b4e810b03, badhand: 2b6f8a7e',
      Version: 'v1.9.4',
    });
  });

  it('has no negative prompt when the line is missing, and trims like A1111 readers', () => {
    const p = parseA1111('  a cat  \n\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x768');
    expect(p.prompt).toBe('a cat');
    expect(p.negativePrompt).toBeUndefined();
    expect([p.width, p.height]).toEqual([512, 768]);
  });

  it('takes text without a parameters line as all prompt', () => {
    const p = parseA1111('just a prompt, with: a colon\nand a second line');
    expect(p.prompt).toBe('just a prompt, with: a colon\nand a second line');
    expect(p.steps).toBeUndefined();
    expect(p.extra).toEqual({});
  });

  it('keeps a non-integer seed (a grid of seeds) in extra', () => {
    const p = parseA1111('x\nSteps: 4, Sampler: Euler, CFG scale: 1, Seed: "42, 43, 44, 45", Size: 1024x1024');
    expect(p.seed).toBeUndefined();
    expect(p.extra.Seed).toBe('42, 43, 44, 45');
  });

  it('reads Dynamic Prompts template lines after the parameters line', () => {
    const p = parseA1111('a red cat\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 3\nTemplate: a {red|blue} cat\nNegative Template: ugly');
    expect(p).toMatchObject({ prompt: 'a red cat', steps: 20, seed: '3' });
    expect(p.extra).toMatchObject({ Template: 'a {red|blue} cat', 'Negative Template': 'ugly' });
  });

  it('reads hostile 8 MB texts (a 2000-field params line, unclosed quotes and braces) to the end (speed: npm run bench -- parsers)', () => {
    const params = 'Steps: 1, Sampler: a, CFG scale: 2';
    for (const prompt of ['word, '.repeat(1_400_000), 'k: {, '.repeat(1_400_000), 'k: "x, '.repeat(1_200_000)]) {
      expect(parseA1111(prompt).prompt).toBe(prompt.trim()); // too long for a parameters line: all prompt
      expect(parseA1111(`${prompt}\n${params}`).steps).toBe(1);
    }
    const hostile = parseA1111ParamsLine('k: {, '.repeat(40_000) + 'k: "x, '.repeat(40_000));
    expect(hostile).toHaveLength(2000);
  });

  it('splits a params line with quoted escapes and skips junk pieces', () => {
    expect(parseA1111ParamsLine('A: "x, \\"y\\": z", junk without colon, B: 2, C:3')).toEqual([
      ['A', 'x, "y": z'],
      ['B', '2'],
      ['C', '3'],
    ]);
  });
});

describe('studioJson', () => {
  it('writes a fixed key order whatever order the object was built in', () => {
    const shuffled = Object.fromEntries(Object.entries(base).reverse()) as unknown as StudioImageMeta;
    shuffled.model = Object.fromEntries(Object.entries(base.model).reverse()) as StudioImageMeta['model'];
    expect(studioJson(shuffled)).toBe(studioJson(base));
    expect(Object.keys(JSON.parse(studioJson(shuffled)) as object)).toEqual([
      'prompt',
      'negativePrompt',
      'seed',
      'steps',
      'guidance',
      'width',
      'height',
      'shift',
      'scheduler',
      'model',
      'ep',
      'precision',
      'rng',
      'clipHidden',
      't5',
      'appVersion',
    ]);
  });

  it('round-trips through parseStudioJson for any valid metadata (property)', () => {
    const anyText = fc.string({ unit: 'binary', maxLength: 80 });
    fc.assert(
      fc.property(metaArb, anyText, anyText, (meta, prompt, negativePrompt) => {
        const m = { ...meta, prompt, negativePrompt };
        expect(parseStudioJson(studioJson(m))).toEqual(m);
      }),
      { numRuns: 300 },
    );
  }, 60_000);

  it('rejects invalid metadata with a StudioError naming the field', () => {
    const bad = { ...base, seed: '-1' };
    expect(() => studioJson(bad)).toThrow(StudioError);
    expect(() => studioJson(bad)).toThrow(/seed/);
    expect(() => studioJson({ ...base, prompt: 'lone \ud800 surrogate' })).toThrow(/surrogate/);
    expect(studioImageMetaSchema.safeParse({ ...base, extraField: 1 }).success).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// ComfyUI API graphs, written by hand from ComfyUI's documented node inputs.

/** The SD3.5 example workflow: ModelSamplingSD3, a negative split over timestep ranges with ConditioningZeroOut. */
const sd35Graph = {
  '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sd3.5_medium.safetensors' } },
  '11': { class_type: 'TripleCLIPLoader', inputs: { clip_name1: 'clip_g.safetensors', clip_name2: 'clip_l.safetensors', clip_name3: 't5xxl_fp16.safetensors' } },
  '13': { class_type: 'ModelSamplingSD3', inputs: { shift: 3, model: ['4', 0] } },
  '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a red fox in snow, "cinematic"', clip: ['11', 0] } },
  '71': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry, lowres', clip: ['11', 0] } },
  '67': { class_type: 'ConditioningZeroOut', inputs: { conditioning: ['71', 0] } },
  '68': { class_type: 'ConditioningSetTimestepRange', inputs: { start: 0.1, end: 1, conditioning: ['67', 0] } },
  '70': { class_type: 'ConditioningSetTimestepRange', inputs: { start: 0, end: 0.1, conditioning: ['71', 0] } },
  '69': { class_type: 'ConditioningCombine', inputs: { conditioning_1: ['68', 0], conditioning_2: ['70', 0] } },
  '135': { class_type: 'EmptySD3LatentImage', inputs: { width: 1216, height: 832, batch_size: 1 } },
  '3': {
    class_type: 'KSampler',
    inputs: {
      seed: '__SEED__',
      steps: 40,
      cfg: 4.5,
      sampler_name: 'euler',
      scheduler: 'sgm_uniform',
      denoise: 1,
      model: ['13', 0],
      positive: ['6', 0],
      negative: ['69', 0],
      latent_image: ['135', 0],
    },
  },
  '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
  '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'ComfyUI', images: ['8', 0] } },
};

/** The graph as JSON with the seed's digits written as a JSON number (a JS number would round 2^53 + 1). */
function graphJson(graph: object, seedDigits: string): string {
  return JSON.stringify(graph).replace('"__SEED__"', seedDigits);
}

describe('parseComfyPrompt', () => {
  it('reads the SD3.5 example graph: prompt, zeroed negative branch, seed > 2^53, size, model', () => {
    const p = parseComfyPrompt(graphJson(sd35Graph, '9007199254740993'));
    expect(p).toMatchObject({
      source: 'comfyui',
      prompt: 'a red fox in snow, "cinematic"',
      negativePrompt: 'blurry, lowres',
      seed: '9007199254740993',
      steps: 40,
      guidance: 4.5,
      width: 1216,
      height: 832,
      model: 'sd3.5_medium.safetensors',
      sampler: 'euler',
      scheduler: 'sgm_uniform',
    });
    expect(p.prompts).toBeUndefined();
  });

  it('follows SamplerCustomAdvanced through guider, noise, sampler select and scheduler, with string ids', () => {
    const graph = {
      unet: { class_type: 'UNETLoader', inputs: { unet_name: 'sd3.5_large.safetensors', weight_dtype: 'default' } },
      lora: { class_type: 'LoraLoaderModelOnly', inputs: { lora_name: 'style.safetensors', strength_model: 0.8, model: ['unet', 0] } },
      text: { class_type: 'PrimitiveStringMultiline', inputs: { value: 'prompt from a primitive' } },
      pos: { class_type: 'CLIPTextEncode', inputs: { text: ['text', 0], clip: ['clip', 0] } },
      neg: { class_type: 'CLIPTextEncode', inputs: { text: 'ugly', clip: ['clip', 0] } },
      cn: { class_type: 'ControlNetLoader', inputs: { control_net_name: 'canny.safetensors' } },
      apply: {
        class_type: 'ControlNetApplyAdvanced',
        inputs: { positive: ['pos', 0], negative: ['neg', 0], control_net: ['cn', 0], image: ['img', 0], strength: 0.6 },
      },
      guider: { class_type: 'CFGGuider', inputs: { model: ['lora', 0], positive: ['apply', 0], negative: ['apply', 1], cfg: 3.5 } },
      seedNode: { class_type: 'PrimitiveInt', inputs: { value: 123456789012 } },
      noise: { class_type: 'RandomNoise', inputs: { noise_seed: ['seedNode', 0] } },
      select: { class_type: 'KSamplerSelect', inputs: { sampler_name: 'dpmpp_2m' } },
      sched: { class_type: 'BasicScheduler', inputs: { scheduler: 'beta', steps: 30, denoise: 1, model: ['lora', 0] } },
      latent: { class_type: 'EmptySD3LatentImage', inputs: { width: 1024, height: 1536, batch_size: 1 } },
      sampler: {
        class_type: 'SamplerCustomAdvanced',
        inputs: { noise: ['noise', 0], guider: ['guider', 0], sampler: ['select', 0], sigmas: ['sched', 0], latent_image: ['latent', 0] },
      },
    };
    const p = parseComfyPrompt(JSON.stringify(graph));
    expect(p).toMatchObject({
      prompt: 'prompt from a primitive',
      negativePrompt: 'ugly',
      seed: '123456789012',
      steps: 30,
      guidance: 3.5,
      sampler: 'dpmpp_2m',
      scheduler: 'beta',
      width: 1024,
      height: 1536,
      model: 'sd3.5_large.safetensors',
    });
  });

  it('picks the first pass of a two-sampler (hires) graph and lists area prompts', () => {
    const graph = {
      '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'base.safetensors' } },
      '2': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'refiner.safetensors' } },
      '10': { class_type: 'CLIPTextEncode', inputs: { text: 'sky', clip: ['1', 1] } },
      '11': { class_type: 'CLIPTextEncode', inputs: { text: 'forest', clip: ['1', 1] } },
      '12': { class_type: 'ConditioningSetArea', inputs: { conditioning: ['11', 0], width: 512, height: 256, x: 0, y: 256, strength: 1 } },
      '13': { class_type: 'ConditioningCombine', inputs: { conditioning_1: ['10', 0], conditioning_2: ['12', 0] } },
      '14': { class_type: 'CLIPTextEncode', inputs: { text: 'bad', clip: ['1', 1] } },
      '20': { class_type: 'EmptyLatentImage', inputs: { width: 512, height: 512, batch_size: 1 } },
      '21': { class_type: 'LatentUpscale', inputs: { samples: ['30', 0], width: 1024, height: 1024, upscale_method: 'nearest-exact', crop: 'disabled' } },
      '31': { class_type: 'KSampler', inputs: { seed: 2, steps: 10, cfg: 5, sampler_name: 'euler', scheduler: 'simple', denoise: 0.5, model: ['2', 0], positive: ['13', 0], negative: ['14', 0], latent_image: ['21', 0] } },
      '30': { class_type: 'KSampler', inputs: { seed: 1, steps: 20, cfg: 7, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['1', 0], positive: ['13', 0], negative: ['14', 0], latent_image: ['20', 0] } },
    };
    const p = parseComfyPrompt(JSON.stringify(graph));
    expect(p).toMatchObject({ seed: '1', steps: 20, guidance: 7, model: 'base.safetensors', width: 512, height: 512 });
    expect(p.prompts).toEqual(['sky', 'forest']);
    expect(p.prompt).toBe('sky\nforest');
    expect(p.extra.Samplers).toBe('2');
  });

  it('rejects UI workflows, graphs without a sampler and non-JSON with a reason', () => {
    expect(() => parseComfyPrompt('{"nodes": [], "links": []}')).toThrow(/UI workflow/);
    expect(() => parseComfyPrompt('{"1": {"class_type": "SaveImage", "inputs": {}}}')).toThrow(/no sampler/);
    expect(() => parseComfyPrompt('not json')).toThrow(StudioError);
  });

  it('survives cyclic links', () => {
    const graph = {
      a: { class_type: 'ConditioningCombine', inputs: { conditioning_1: ['b', 0], conditioning_2: ['a', 0] } },
      b: { class_type: 'ConditioningCombine', inputs: { conditioning_1: ['a', 0] } },
      s: { class_type: 'KSampler', inputs: { seed: 5, positive: ['a', 0], negative: ['b', 0], latent_image: ['s', 0], model: ['s', 0] } },
    };
    const p = parseComfyPrompt(JSON.stringify(graph));
    expect(p.seed).toBe('5');
    expect(p.prompt).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// InvokeAI, written by hand from its metadata schema (core_metadata fields).

describe('parseInvokeAI', () => {
  it('reads a 5.x invokeai_metadata object', () => {
    const json =
      '{"generation_mode":"sd3_txt2img","positive_prompt":"a castle on a hill\\n","negative_prompt":"fog",' +
      '"width":1344,"height":768,"seed":18446744073709551557,"rand_device":"cpu","cfg_scale":3.5,"steps":28,' +
      '"scheduler":"euler","model":{"key":"k","hash":"blake3:abcd","name":"SD3.5 Medium","base":"sd-3","type":"main"},' +
      '"clip_skip":0,"app_version":"5.6.0"}';
    const p = parseInvokeAI(json);
    expect(p).toMatchObject({
      source: 'invokeai',
      prompt: 'a castle on a hill\n',
      negativePrompt: 'fog',
      seed: '18446744073709551557',
      steps: 28,
      guidance: 3.5,
      width: 1344,
      height: 768,
      sampler: 'euler',
      model: 'SD3.5 Medium',
      modelHash: 'blake3:abcd',
    });
    expect(p.extra).toMatchObject({ generation_mode: 'sd3_txt2img', app_version: '5.6.0', base_model: 'sd-3' });
  });

  it('reads a 2.x sd-metadata object with the negative in brackets', () => {
    const p = parseInvokeAI(
      '{"model_weights":"sd-1.5","model_hash":"cc6cb27103","app_id":"invoke-ai/InvokeAI","app_version":"2.2.5",' +
        '"image":{"prompt":[{"prompt":"a dog [cat, mouse] in a park","weight":1}],"steps":30,"cfg_scale":7.5,"height":512,"width":640,"seed":99,"sampler":"k_euler"}}',
    );
    expect(p).toMatchObject({ prompt: 'a dog  in a park', negativePrompt: 'cat, mouse', steps: 30, guidance: 7.5, width: 640, height: 512, seed: '99', model: 'sd-1.5' });
  });

  it('reads a Dream command line', () => {
    const p = parseInvokeDream('"a \\"quoted\\" house [dark]" -s 25 -S 7 -W 768 -H 512 -C 7.5 -A k_euler_a -G 0.5');
    expect(p).toMatchObject({ prompt: 'a "quoted" house', negativePrompt: 'dark', steps: 25, seed: '7', width: 768, height: 512, guidance: 7.5, sampler: 'k_euler_a' });
    expect(p.extra['-G']).toBe('0.5');
  });

  it('rejects objects that are not InvokeAI metadata', () => {
    expect(() => parseInvokeAI('{"hello": 1}')).toThrow(StudioError);
    expect(() => parseInvokeAI('[1]')).toThrow(StudioError);
  });
});

describe('parseTextChunks', () => {
  const params = { keyword: 'parameters', text: formatParameters(base) };

  it('prefers our lossless chunk and exposes the metadata', () => {
    const p = parseTextChunks([params, { keyword: 'sd35studio', text: studioJson(base) }]);
    expect(p?.source).toBe('sd35studio');
    expect(p?.studio).toEqual(base);
    expect(p).toMatchObject({ prompt: base.prompt, seed: '42', model: 'sd3.5-medium', modelHash: '0123456789' });
  });

  it('falls back to parameters when the sd35studio chunk is damaged', () => {
    const p = parseTextChunks([{ keyword: 'sd35studio', text: '{"prompt": 1' }, params]);
    expect(p?.source).toBe('a1111');
    expect(p?.prompt).toBe(base.prompt);
  });

  it('reads JSON in parameters as SwarmUI or Fooocus, not as A1111 text', () => {
    const swarm = parseTextChunks([{ keyword: 'parameters', text: '{"sui_image_params": {"prompt": "p", "negativeprompt": "n", "seed": 5, "steps": 3, "cfgscale": 2, "width": 64, "height": 80, "model": "m"}}' }]);
    expect(swarm).toMatchObject({ source: 'swarmui', prompt: 'p', negativePrompt: 'n', seed: '5', steps: 3, guidance: 2, width: 64, height: 80, model: 'm' });
    const fooocus = parseTextChunks([
      { keyword: 'parameters', text: '{"prompt": "fish", "negative_prompt": "", "seed": "12345678901234567890", "steps": 30, "guidance_scale": 4, "resolution": "(896, 1152)", "base_model": "juggernaut", "metadata_scheme": "fooocus"}' },
    ]);
    expect(fooocus).toMatchObject({ source: 'fooocus', prompt: 'fish', negativePrompt: '', seed: '12345678901234567890', width: 896, height: 1152 });
  });

  it('reads NovelAI chunks', () => {
    const p = parseTextChunks([
      { keyword: 'Description', text: 'cat, space' },
      { keyword: 'Software', text: 'NovelAI' },
      { keyword: 'Source', text: 'Stable Diffusion XL C1E1DE52' },
      { keyword: 'Comment', text: '{"steps": 28, "sampler": "k_euler", "seed": 3, "scale": 5.5, "uc": "lowres", "width": 832, "height": 1216}' },
    ]);
    expect(p).toMatchObject({ source: 'novelai', prompt: 'cat, space', negativePrompt: 'lowres', seed: '3', guidance: 5.5, model: 'Stable Diffusion XL', modelHash: 'C1E1DE52', width: 832 });
  });

  it('returns undefined when nothing is understood', () => {
    expect(parseTextChunks([])).toBeUndefined();
    expect(parseTextChunks([{ keyword: 'Software', text: 'GIMP' }, { keyword: 'workflow', text: '{"nodes": []}' }])).toBeUndefined();
    expect(parseTextChunks([{ keyword: 'prompt', text: '{"nodes": []}' }])).toBeUndefined();
  });
});

describe('LoRAs in metadata (issue #20 §3)', () => {
  const sha = (c: string) => c.repeat(64);
  const withLoras: StudioImageMeta = {
    ...base,
    prompt: 'a lighthouse, <lora:ink wash:0.6> at dusk',
    loras: [
      { name: 'ink wash', sha256: sha('a'), a1111Hash: 'a1b2c3d4e5f6', autoV2: '0123456789', strength: 0.6, applied: { transformer: 31 }, unmatched: [] },
      { name: 'tiny-style', sha256: sha('b'), a1111Hash: '0f0e0d0c0b0a', autoV2: 'abcdefabcd', strength: -1.25, applied: { transformer: 4, text_encoder: 2 }, unmatched: ['lora_unet_x.lora_down.weight'] },
    ],
  };

  it('writes the tags A1111 keeps in the prompt (not twice) and a quoted Lora hashes field', () => {
    const text = formatParameters(withLoras);
    const [prompt] = text.split('\n');
    expect(prompt).toBe('a lighthouse, <lora:ink wash:0.6> at dusk <lora:tiny-style:-1.25>');
    expect(text).toContain('Model: sd3.5-medium, Lora hashes: "ink wash: a1b2c3d4e5f6, tiny-style: 0f0e0d0c0b0a", RNG: CPU');
    // No LoRAs: no tags, no field.
    expect(formatParameters(base)).not.toContain('Lora');
  });

  it('round-trips: A1111 text → typed list; sd35studio JSON → everything', () => {
    const a = parseA1111(formatParameters(withLoras));
    expect(a.loras).toEqual([
      { name: 'ink wash', strength: 0.6, a1111Hash: 'a1b2c3d4e5f6' },
      { name: 'tiny-style', strength: -1.25, a1111Hash: '0f0e0d0c0b0a' },
    ]);
    const json = studioJson(withLoras);
    expect(parseStudioJson(json)).toEqual(withLoras);
    const parsed = parseTextChunks([
      { keyword: 'parameters', text: formatParameters(withLoras) },
      { keyword: 'sd35studio', text: json },
    ]);
    expect(parsed?.source).toBe('sd35studio');
    expect(parsed?.prompt).toBe(withLoras.prompt);
    expect(parsed?.loras).toEqual([
      { name: 'ink wash', strength: 0.6, a1111Hash: 'a1b2c3d4e5f6', sha256: sha('a'), autoV2: '0123456789' },
      { name: 'tiny-style', strength: -1.25, a1111Hash: '0f0e0d0c0b0a', sha256: sha('b'), autoV2: 'abcdefabcd' },
    ]);
    // Same bytes whatever order `applied` was built in.
    const swapped = { ...withLoras, loras: [withLoras.loras![0]!, { ...withLoras.loras![1]!, applied: { text_encoder: 2, transformer: 4 } }] };
    expect(studioJson(swapped)).toBe(json);
  });

  it('refuses malformed LoRA hashes in our JSON', () => {
    expect(() => studioJson({ ...withLoras, loras: [{ ...withLoras.loras![0]!, a1111Hash: 'xyz' }] })).toThrow(StudioError);
  });

  it('parses an A1111/Forge infotext with <lora:…> tags and Lora hashes', () => {
    const text = [
      'masterpiece, 1girl <lora:add_detail:0.5>, <lora:Pixel Art XL:1.1:0.8> <LORA:styleA>, <hypernet:foo:1>',
      'Negative prompt: lowres <lora:neg_helper:-1>',
      'Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1234, Size: 832x1216, Model hash: 7f96a1a9ca, ' +
        'Model: sd3.5_large, Lora hashes: "add_detail: 7c6bad76eb54, Pixel Art XL: bbd7a3ea8c4e, neg_helper: 0011AABBCCDD, orphan: 123456789abc", ' +
        'Version: f2.0.1v1.10.1',
    ].join('\n');
    const res = parseA1111(text);
    expect(res.prompt).toBe('masterpiece, 1girl <lora:add_detail:0.5>, <lora:Pixel Art XL:1.1:0.8> <LORA:styleA>, <hypernet:foo:1>');
    expect(res.extra['Lora hashes']).toBe('add_detail: 7c6bad76eb54, Pixel Art XL: bbd7a3ea8c4e, neg_helper: 0011AABBCCDD, orphan: 123456789abc');
    expect(res.loras).toEqual([
      { name: 'add_detail', strength: 0.5, a1111Hash: '7c6bad76eb54' },
      { name: 'Pixel Art XL', strength: 1.1, a1111Hash: 'bbd7a3ea8c4e' },
      { name: 'styleA', strength: 1 },
      // Tagged in the negative prompt only (not read for tags), or never tagged: listed by hash.
      { name: 'neg_helper', a1111Hash: '0011aabbccdd' },
      { name: 'orphan', a1111Hash: '123456789abc' },
    ]);
    expect(parseA1111('Steps: 3, Sampler: Euler, CFG scale: 2').loras).toBeUndefined();
  });
});
