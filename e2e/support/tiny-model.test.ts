import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ort } from '../../src-main/inference/ort';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOnnxGraphInfo, type TensorMeta } from '../../src-main/model-folder/onnx-graph';
import { PromptTokenizers } from '../../src-main/inference/tokenizers/index';
import { fixtureFor, missingFixturesReason } from './fixtures';
import { LAYOUT_FILES, TINY_ANALYTIC, writeTinyModel, type TinyLayout, type TinyModelOptions } from './tiny-model';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-tiny-model-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const built = new Map<string, Promise<string>>();
function tinyModel(name: string, options: TinyModelOptions): Promise<string> {
  let p = built.get(name);
  if (!p) {
    const dir = path.join(tmp, name);
    p = writeTinyModel(dir, options).then(() => dir);
    built.set(name, p);
  }
  return p;
}

const sessionOptions: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, logSeverityLevel: 3 };

interface IoSpec {
  name: string;
  type?: string;
  dims?: (number | string)[];
}

/** "hidden_states.0 … hidden_states.12" → the 13 names. */
function expandNames(spec: IoSpec): IoSpec[] {
  const m = /^([\w]+)\.(\d+) … \1\.(\d+)$/u.exec(spec.name);
  if (!m) return [spec];
  const out: IoSpec[] = [];
  for (let k = Number(m[2]); k <= Number(m[3]); k++) out.push({ ...spec, name: `${m[1]}.${k}` });
  return out;
}

function checkAgainstSpec(actual: TensorMeta[], specs: IoSpec[], io: 'fp32' | 'fp16', where: string): void {
  const expected = specs.flatMap(expandNames);
  expect(actual.map((a) => a.name).sort(), where).toEqual(expected.map((e) => e.name).sort());
  for (const spec of expected) {
    const got = actual.find((a) => a.name === spec.name) as TensorMeta;
    if (spec.type === 'int32' || spec.type === 'int64') expect(got.type, `${where} ${spec.name}`).toBe(spec.type);
    else if (spec.type !== undefined || got.type.startsWith('float')) {
      expect(got.type, `${where} ${spec.name}`).toBe(io === 'fp16' ? 'float16' : 'float32');
    }
    if (spec.dims) expect(got.dims, `${where} ${spec.name}`).toEqual(spec.dims);
  }
}

const modelIoPath = fixtureFor('tiny-model.test', 'the model-io.json layout checks', 'model-io.json');

describe('tiny model folders match model-io.json', () => {
  for (const layout of ['optimum', 'tensorstack'] as const) {
    for (const io of ['fp32', 'fp16'] as const) {
      it.skipIf(!modelIoPath)(`${layout} ${io}`, async () => {
        const dir = await tinyModel(`${layout}-${io}`, { layout, io, size: 'micro' });
        const spec = JSON.parse(fs.readFileSync(modelIoPath as string, 'utf8')) as {
          layouts: Record<TinyLayout, { externalDataFile: string; components: Record<string, { inputs: IoSpec[]; outputs: IoSpec[] }> }>;
        };
        const layoutSpec = spec.layouts[layout];
        expect(LAYOUT_FILES[layout].externalData).toBe(layoutSpec.externalDataFile);
        for (const [component, c] of Object.entries(layoutSpec.components)) {
          const model = path.join(dir, component, 'model.onnx');
          expect(fs.existsSync(model), model).toBe(true);
          const info = await readOnnxGraphInfo(model);
          checkAgainstSpec(info.inputs, c.inputs, io, `${layout}/${component} inputs`);
          checkAgainstSpec(info.outputs, c.outputs, io, `${layout}/${component} outputs`);
          // Weights live in the layout's external-data file, beside model.onnx.
          expect([...info.externalData.keys()]).toEqual([layoutSpec.externalDataFile]);
          expect(fs.statSync(path.join(dir, component, layoutSpec.externalDataFile)).size).toBeGreaterThan(0);
        }
      });
    }
  }
  if (!modelIoPath) it.skip(missingFixturesReason('model-io.json'), () => undefined);
});

describe('writeTinyModel', () => {
  it('writes the whole folder: index, scheduler (shift 3), tokenizers, components', async () => {
    const dir = await tinyModel('optimum-fp32', { layout: 'optimum', io: 'fp32', size: 'micro' });
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'model_index.json'), 'utf8')) as Record<string, unknown>;
    expect(index._class_name).toBe('StableDiffusion3Pipeline');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'scheduler', 'scheduler_config.json'), 'utf8')).shift).toBe(3);
    for (const f of ['tokenizer/vocab.json', 'tokenizer/merges.txt', 'tokenizer_2/vocab.json', 'tokenizer_3/tokenizer.json']) {
      expect(fs.existsSync(path.join(dir, f)), f).toBe(true);
    }
    for (const c of ['text_encoder', 'text_encoder_2', 'text_encoder_3', 'transformer', 'vae_decoder']) {
      expect(fs.existsSync(path.join(dir, c, 'model.onnx_data')), c).toBe(true);
    }
    // Small files: the whole micro model (tokenizers aside) stays well under 2 MB.
    let bytes = 0;
    for (const c of ['text_encoder', 'text_encoder_2', 'text_encoder_3', 'transformer', 'vae_decoder']) {
      for (const f of fs.readdirSync(path.join(dir, c))) bytes += fs.statSync(path.join(dir, c, f)).size;
    }
    expect(bytes).toBeLessThan(2_000_000);
  });

  it('is deterministic: the same options give the same bytes', async () => {
    const a = await tinyModel('det-a', { layout: 'tensorstack', io: 'fp16', size: 'micro' });
    const b = await tinyModel('det-b', { layout: 'tensorstack', io: 'fp16', size: 'micro' });
    const files = (root: string): string[] =>
      fs
        .readdirSync(root, { recursive: true, encoding: 'utf8' })
        .filter((f) => fs.statSync(path.join(root, f)).isFile())
        .sort();
    expect(files(a)).toEqual(files(b));
    for (const f of files(a)) {
      expect(fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))), f).toBe(true);
    }
  });

  it('leaves out text_encoder_3 when t5 is false', async () => {
    const dir = await tinyModel('no-t5', { layout: 'optimum', io: 'fp32', size: 'micro', t5: false });
    expect(fs.existsSync(path.join(dir, 'text_encoder_3'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'transformer', 'model.onnx'))).toBe(true);
  });

  it('puts the tensorstack transformer in unet/ with model.onnx.data', async () => {
    const dir = await tinyModel('tensorstack-fp32', { layout: 'tensorstack', io: 'fp32', size: 'micro' });
    expect(fs.existsSync(path.join(dir, 'unet', 'model.onnx'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'unet', 'model.onnx.data'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'transformer'))).toBe(false);
  });

  it('streams a T5 of at least t5Bytes that really uses every row', async () => {
    const t5Bytes = 12 * 1024 * 1024;
    const dir = await tinyModel('t5-bytes', { layout: 'optimum', io: 'fp32', size: 'micro', t5Bytes });
    const data = path.join(dir, 'text_encoder_3', 'model.onnx_data');
    expect(fs.statSync(data).size).toBeGreaterThanOrEqual(t5Bytes);
    const s = await ort.InferenceSession.create(path.join(dir, 'text_encoder_3', 'model.onnx'), sessionOptions);
    const run = async (ids: number[]): Promise<Float32Array> => {
      const out = await s.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]) });
      expect(out.last_hidden_state?.dims).toEqual([1, ids.length, 4096]);
      return out.last_hidden_state?.data as Float32Array;
    };
    const a = await run([3, 9, 1]);
    const b = await run([3, 10, 1]);
    expect(Array.from(a.subarray(0, 4096))).toEqual(Array.from(b.subarray(0, 4096))); // same first token
    expect(Array.from(a.subarray(4096, 8192))).not.toEqual(Array.from(b.subarray(4096, 8192)));
    await s.release();
  });

  it('streams a transformer of at least transformerBytes whose outputs equal the light one\'s', async () => {
    const transformerBytes = 12 * 1024 * 1024;
    const heavy = await tinyModel('transformer-bytes', { layout: 'optimum', io: 'fp32', size: 'micro', transformerBytes });
    const light = await tinyModel('transformer-light', { layout: 'optimum', io: 'fp32', size: 'micro' });
    expect(fs.statSync(path.join(heavy, 'transformer', 'model.onnx_data')).size).toBeGreaterThanOrEqual(transformerBytes);
    expect(fs.statSync(path.join(light, 'transformer', 'model.onnx_data')).size).toBeLessThan(1024 * 1024);
    const feeds = {
      hidden_states: new ort.Tensor('float32', Float32Array.from({ length: 16 * 4 * 4 }, (_, i) => Math.sin(i)), [1, 16, 4, 4]),
      encoder_hidden_states: new ort.Tensor('float32', Float32Array.from({ length: 3 * 4096 }, (_, i) => Math.cos(i * 0.01)), [1, 3, 4096]),
      pooled_projections: new ort.Tensor('float32', Float32Array.from({ length: 2048 }, (_, i) => Math.sin(i * 0.1)), [1, 2048]),
      timestep: new ort.Tensor('float32', Float32Array.from([500]), [1]),
    };
    const out = async (dir: string): Promise<number[]> => {
      const s = await ort.InferenceSession.create(path.join(dir, 'transformer', 'model.onnx'), sessionOptions);
      const r = await s.run(feeds);
      await s.release();
      return Array.from(r.out_hidden_states?.data as Float32Array);
    };
    expect(await out(heavy)).toEqual(await out(light));
  });

  it('the analytic transformer computes v = a·x + b·(t/1000 + mean(context) + mean(pooled))', async () => {
    const dir = await tinyModel('analytic', { layout: 'optimum', io: 'fp32', size: 'micro', analytic: true });
    const s = await ort.InferenceSession.create(path.join(dir, 'transformer', 'model.onnx'), sessionOptions);
    const B = 2;
    const x = Float32Array.from({ length: B * 16 * 4 * 6 }, (_, i) => Math.sin(i * 0.37));
    const ctx = Float32Array.from({ length: B * 5 * 4096 }, (_, i) => Math.cos(i * 0.011) * 0.3 + (i < 5 * 4096 ? 0.2 : -0.1));
    const pooled = Float32Array.from({ length: B * 2048 }, (_, i) => (i < 2048 ? 0.05 : 0.4) + Math.sin(i) * 0.1);
    const t = Float32Array.from([857.692, 8.929]);
    const out = await s.run({
      hidden_states: new ort.Tensor('float32', x, [B, 16, 4, 6]),
      encoder_hidden_states: new ort.Tensor('float32', ctx, [B, 5, 4096]),
      pooled_projections: new ort.Tensor('float32', pooled, [B, 2048]),
      timestep: new ort.Tensor('float32', t, [B]),
    });
    const v = out.out_hidden_states?.data as Float32Array;
    const mean = (a: Float32Array): number => a.reduce((s2, e) => s2 + e, 0) / a.length;
    const per = x.length / B;
    for (let b = 0; b < B; b++) {
      const c =
        (t[b] as number) / 1000 +
        mean(ctx.subarray(b * 5 * 4096, (b + 1) * 5 * 4096)) +
        mean(pooled.subarray(b * 2048, (b + 1) * 2048));
      for (let i = b * per; i < (b + 1) * per; i++) {
        expect(v[i]).toBeCloseTo(TINY_ANALYTIC.a * (x[i] as number) + TINY_ANALYTIC.b * c, 5);
      }
    }
    // The analytic VAE passes latent channels 0..2 through, ×8 nearest.
    const vae = await ort.InferenceSession.create(path.join(dir, 'vae_decoder', 'model.onnx'), sessionOptions);
    const z = Float32Array.from({ length: 16 * 2 * 3 }, (_, i) => i / 10);
    const img = await vae.run({ latent_sample: new ort.Tensor('float32', z, [1, 16, 2, 3]) });
    expect(img.sample?.dims).toEqual([1, 3, 16, 24]);
    const d = img.sample?.data as Float32Array;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 16; y++) {
        for (let xx = 0; xx < 24; xx++) {
          expect(d[c * 16 * 24 + y * 24 + xx]).toBeCloseTo(z[c * 6 + Math.floor(y / 8) * 3 + Math.floor(xx / 8)] as number, 6);
        }
      }
    }
    await s.release();
    await vae.release();
  });

  it('the default transformer depends on latents, timestep, context and pooled input', async () => {
    const dir = await tinyModel('tensorstack-fp32', { layout: 'tensorstack', io: 'fp32', size: 'micro' });
    const s = await ort.InferenceSession.create(path.join(dir, 'unet', 'model.onnx'), sessionOptions);
    interface Inputs {
      x: Float32Array;
      ctx: Float32Array;
      pooled: Float32Array;
      t: Float32Array;
    }
    const base: Inputs = {
      x: Float32Array.from({ length: 16 * 4 * 4 }, (_, i) => Math.sin(i)),
      ctx: Float32Array.from({ length: 7 * 4096 }, (_, i) => Math.cos(i * 0.3)),
      pooled: Float32Array.from({ length: 2048 }, (_, i) => Math.sin(i * 0.7)),
      t: Float32Array.from([500]),
    };
    const run = async (p: Inputs): Promise<number[]> => {
      const out = await s.run({
        hidden_states: new ort.Tensor('float32', p.x, [1, 16, 4, 4]),
        timestep: new ort.Tensor('float32', p.t, [1]),
        encoder_hidden_states: new ort.Tensor('float32', p.ctx, [1, 7, 4096]),
        pooled_projections: new ort.Tensor('float32', p.pooled, [1, 2048]),
      });
      return Array.from(out.out_sample?.data as Float32Array);
    };
    const ref = await run(base);
    const bump = (a: Float32Array): Float32Array => a.map((v, i) => (i % 3 === 0 ? v + 0.5 : v));
    expect(await run({ ...base, x: bump(base.x) })).not.toEqual(ref);
    expect(await run({ ...base, t: Float32Array.from([250]) })).not.toEqual(ref);
    expect(await run({ ...base, ctx: bump(base.ctx) })).not.toEqual(ref);
    expect(await run({ ...base, pooled: bump(base.pooled) })).not.toEqual(ref);
    expect(await run(base)).toEqual(ref);
    await s.release();
  });

  it('fp16 I/O: float inputs and outputs are float16, ids stay integers', async () => {
    const dir = await tinyModel('optimum-fp16', { layout: 'optimum', io: 'fp16', size: 'micro' });
    const s = await ort.InferenceSession.create(path.join(dir, 'text_encoder', 'model.onnx'), sessionOptions);
    const ids = BigInt64Array.from([49406n, 320n, 1125n, 49407n]);
    const out = await s.run({ input_ids: new ort.Tensor('int64', ids, [1, 4]) });
    expect(out.text_embeds?.type).toBe('float16');
    expect(out.text_embeds?.dims).toEqual([1, 768]);
    expect(out['hidden_states.11']?.dims).toEqual([1, 4, 768]);
    await s.release();
  });

  it('writes generated tokenizers that load and encode when asked (or when fixtures are absent)', async () => {
    const dir = await tinyModel('gen-tok', { layout: 'optimum', io: 'fp32', size: 'micro', generatedTokenizers: true });
    const vocab = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer', 'vocab.json'), 'utf8')) as Record<string, number>;
    expect(Object.keys(vocab).length).toBeLessThan(1000);
    expect(vocab['<|endoftext|>']).toBe(49407);
    expect(vocab['!']).toBe(0);
    const tok = await PromptTokenizers.load(dir);
    const ids = tok.encode('a photo of a cat');
    expect(ids.clipL).toHaveLength(77);
    expect(ids.clipL[0]).toBe(49406);
    expect(ids.clipL.slice(1, 6)).toEqual([vocab['a</w>'], vocab['photo</w>'], vocab['of</w>'], vocab['a</w>'], vocab['cat</w>']]);
    expect(ids.clipL[6]).toBe(49407);
    expect(ids.clipL[76]).toBe(49407); // CLIP-L pads with <|endoftext|>
    expect(ids.clipG[76]).toBe(0); // CLIP-G pads with "!"
    expect(ids.t5).toHaveLength(256);
    const t5 = ids.t5 as number[];
    const end = t5.indexOf(1);
    expect(end).toBeGreaterThan(0);
    expect(t5.slice(end + 1).every((v) => v === 0)).toBe(true);
    expect(t5.slice(0, end).every((v) => v > 2)).toBe(true); // known pieces, no <unk>
  });
});

describe('npm run fixtures:tiny-model -- --help', () => {
  it('prints the usage and every option the parser accepts, and exits 0', async () => {
    const { spawnSync } = await import('node:child_process');
    const script = path.join(__dirname, 'tiny-model.ts');
    const r = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'node_modules', 'tsx', 'dist', 'cli.mjs'), script, '--help'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const source = fs.readFileSync(script, 'utf8');
    const accepted = [...new Set([...source.matchAll(/arg === '(--[a-z0-9-]+)'/g)].map((m) => m[1]!))];
    expect(accepted.length).toBeGreaterThan(5);
    for (const option of [...accepted, '--help']) expect(r.stdout, option).toContain(option);
  }, 60_000);
});
