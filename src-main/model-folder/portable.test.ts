// Each rewrite of the portability pass against an independent TypeScript implementation of the
// operator (test-support/contrib-reference.ts) on random inputs, fp32 and fp16: the raw contrib graph
// fails at session creation on the CPU (so the test is real), the rewritten one loads and agrees.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ort } from '../inference/ort';
import { afterAll, describe, expect, it } from 'vitest';
import { ExternalDataWriter, GraphBuilder, encodeModel, type Attr, type ElemType } from '../../e2e/support/onnx-builder';
import { float16ToFloat32, float32ToFloat16 } from '../formats/float16';
import { readOnnxGraph, readOnnxGraphBuffer } from './onnx-graph';
import { listOps } from './ops';
import { PORTABLE_PASS, REWRITABLE, portableGraph, rewriteModel } from './portable';
import { biasAddRef, biasSplitGeluRef, groupNormRef, nhwcConvRef, skipGroupNormRef, type Tensor } from '../testing/model-folder/contrib-reference';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-portable-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Deterministic normal-ish numbers. */
function random(seed: number, count: number, scale = 1, offset = 0): Float64Array {
  let s = seed >>> 0 || 1;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return Float64Array.from({ length: count }, () => offset + scale * (next() + next() + next() - 1.5) * 2);
}

type Precision = 'fp32' | 'fp16';
const elem = (p: Precision): ElemType => (p === 'fp16' ? 'float16' : 'float32');

/** The values as the graph sees them (rounded to half precision for fp16) and the ORT tensor. */
function feed(p: Precision, data: Float64Array, dims: number[]): { values: Float64Array; tensor: ort.Tensor } {
  const f32 = Float32Array.from(data);
  if (p === 'fp32') return { values: Float64Array.from(f32), tensor: new ort.Tensor('float32', f32, dims) };
  const half = float32ToFloat16(f32);
  return { values: Float64Array.from(float16ToFloat32(half)), tensor: new ort.Tensor('float16', half, dims) };
}

function read(t: ort.Tensor): Float64Array {
  if (t.type === 'float16') return t.data instanceof Uint16Array ? Float64Array.from(float16ToFloat32(t.data)) : Float64Array.from(t.data as ArrayLike<number>);
  return Float64Array.from(t.data as Float32Array);
}

function expectClose(actual: Float64Array, expected: Tensor, p: Precision, what: string): void {
  expect(actual.length, what).toBe(expected.data.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const ref = expected.data[i]!;
    const err = Math.abs(actual[i]! - ref) / (p === 'fp16' ? 1e-2 * Math.max(1, Math.abs(ref)) : 1e-4 * Math.max(1, Math.abs(ref)));
    worst = Math.max(worst, err);
  }
  expect(worst, `${what}: worst error in tolerance units`).toBeLessThanOrEqual(1);
}

interface Case {
  /** Builds the one contrib node; returns the inputs to feed and the outputs to compare. */
  build(g: GraphBuilder, p: Precision): { feeds: Record<string, ort.Tensor>; expected: Record<string, Tensor> };
}

async function runCase(name: string, p: Precision, c: Case, opset = 17): Promise<void> {
  const g = new GraphBuilder(name);
  const { feeds, expected } = c.build(g, p);
  const raw = Buffer.from(encodeModel(g, { opset }));
  const contrib = listOps(readOnnxGraphBuffer(raw, name, { nodes: true })).filter((o) => o.domain === 'com.microsoft');
  expect(contrib.length, 'the raw graph has the contrib op').toBe(1);
  // The raw graph does not load on the CPU provider: ONNX Runtime has no kernel for the op there.
  await expect(ort.InferenceSession.create(raw, { executionProviders: ['cpu'], logSeverityLevel: 4 })).rejects.toThrow(
    /Could not find an implementation|Failed to find kernel|not implemented/i,
  );
  const { bytes, rewritten } = rewriteModel(raw, new Set(REWRITABLE), name);
  expect(rewritten).toEqual([{ op: `com.microsoft.${contrib[0]!.opType}`, count: 1 }]);
  expect(listOps(readOnnxGraphBuffer(bytes, name, { nodes: true })).filter((o) => o.domain !== '')).toEqual([]);
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], logSeverityLevel: 3, intraOpNumThreads: 1 });
  try {
    const out = await session.run(feeds);
    for (const [output, ref] of Object.entries(expected)) expectClose(read(out[output] as ort.Tensor), ref, p, `${name} ${p} ${output}`);
  } finally {
    await session.release();
  }
}

/** `channelsLast: 'unset'` writes no `channels_last` attribute: ONNX Runtime's default is 1, NHWC (its contrib op
 *  schema: "1 if the input and output are in the NHWC layout, 0 if it is in the NCHW layout. Defaults to 1."). */
function groupNormCase(o: { channelsLast: boolean | 'unset'; silu: boolean; groups: number; epsilon: number }): Case {
  return {
    build(g, p) {
      const [N, C, H, W] = [2, 8, 3, 5];
      const nhwc = o.channelsLast !== false;
      const dims = nhwc ? [N, H, W, C] : [N, C, H, W];
      const x = feed(p, random(1, N * C * H * W, 2, 0.5), dims);
      const gamma = feed(p, random(2, C, 1, 1), [C]);
      const beta = feed(p, random(3, C, 0.5), [C]);
      g.input('X', elem(p), dims);
      g.input('gamma', elem(p), [C]);
      g.input('beta', elem(p), [C]);
      const attrs: Record<string, Attr> = { groups: { i: o.groups }, activation: { i: o.silu ? 1 : 0 }, epsilon: { f: o.epsilon } };
      if (o.channelsLast !== 'unset') attrs.channels_last = { i: o.channelsLast ? 1 : 0 };
      g.contrib('GroupNorm', ['X', 'gamma', 'beta'], attrs, ['Y']);
      g.output('Y', elem(p), dims);
      const ref = groupNormRef({ data: x.values, dims }, gamma.values, beta.values, { ...o, channelsLast: nhwc });
      return { feeds: { X: x.tensor, gamma: gamma.tensor, beta: beta.tensor }, expected: { Y: ref } };
    },
  };
}

const nhwcConvCase = (o: { group: number; strides: [number, number]; pads: [number, number, number, number]; bias: boolean }): Case => ({
  build(g, p) {
    const [N, H, W, C, M, k] = [1, 6, 7, 4, 6, 3];
    const xDims = [N, H, W, C];
    const wDims = [M, k, k, C / o.group];
    const x = feed(p, random(4, N * H * W * C), xDims);
    const w = feed(p, random(5, M * k * k * (C / o.group), 0.3), wDims);
    const b = feed(p, random(6, M, 0.2), [M]);
    g.input('X', elem(p), xDims);
    g.input('W', elem(p), wDims);
    if (o.bias) g.input('B', elem(p), [M]);
    const attrs: Record<string, Attr> = { kernel_shape: { ints: [k, k] }, strides: { ints: o.strides }, pads: { ints: o.pads }, group: { i: o.group }, dilations: { ints: [1, 1] } };
    g.contrib('NhwcConv', o.bias ? ['X', 'W', 'B'] : ['X', 'W'], attrs, ['Y']);
    const ref = nhwcConvRef({ data: x.values, dims: xDims }, { data: w.values, dims: wDims }, o.bias ? b.values : undefined, { ...o, dilations: [1, 1] });
    g.output('Y', elem(p), ref.dims);
    return { feeds: { X: x.tensor, W: w.tensor, ...(o.bias ? { B: b.tensor } : {}) }, expected: { Y: ref } };
  },
});

const biasAddCase: Case = {
  build(g, p) {
    const dims = [2, 5, 8];
    const x = feed(p, random(7, 80), dims);
    const bias = feed(p, random(8, 8), [8]);
    const skip = feed(p, random(9, 80), dims);
    g.input('X', elem(p), dims);
    g.input('bias', elem(p), [8]);
    g.input('skip', elem(p), dims);
    g.contrib('BiasAdd', ['X', 'bias', 'skip'], {}, ['Y']);
    g.output('Y', elem(p), dims);
    return { feeds: { X: x.tensor, bias: bias.tensor, skip: skip.tensor }, expected: { Y: biasAddRef({ data: x.values, dims }, bias.values, { data: skip.values, dims }) } };
  },
};

const biasSplitGeluCase: Case = {
  build(g, p) {
    const dims = [2, 5, 12];
    const x = feed(p, random(10, 120, 2), dims);
    const bias = feed(p, random(11, 12), [12]);
    g.input('X', elem(p), dims);
    g.input('bias', elem(p), [12]);
    g.contrib('BiasSplitGelu', ['X', 'bias'], {}, ['Y']);
    g.output('Y', elem(p), [2, 5, 6]);
    return { feeds: { X: x.tensor, bias: bias.tensor }, expected: { Y: biasSplitGeluRef({ data: x.values, dims }, bias.values) } };
  },
};

const skipGroupNormCase = (o: { skip2d: boolean; bias: boolean }): Case => ({
  build(g, p) {
    const [N, H, W, C] = [2, 3, 4, 8];
    const dims = [N, H, W, C];
    const skipDims = o.skip2d ? [N, C] : dims;
    const x = feed(p, random(12, N * H * W * C, 1.5), dims);
    const skip = feed(p, random(13, skipDims.reduce((a, b) => a * b, 1)), skipDims);
    const gamma = feed(p, random(14, C, 1, 1), [C]);
    const beta = feed(p, random(15, C, 0.5), [C]);
    const bias = feed(p, random(16, C, 0.5), [C]);
    g.input('X', elem(p), dims);
    g.input('gamma', elem(p), [C]);
    g.input('beta', elem(p), [C]);
    g.input('skip', elem(p), skipDims);
    if (o.bias) g.input('bias', elem(p), [C]);
    const attrs: Record<string, Attr> = { groups: { i: 4 }, activation: { i: 1 }, epsilon: { f: 1e-5 }, channels_last: { i: 1 } };
    g.contrib('SkipGroupNorm', ['X', 'gamma', 'beta', 'skip', ...(o.bias ? ['bias'] : [])], attrs, ['Y', 'S']);
    g.output('Y', elem(p), dims);
    g.output('S', elem(p), dims);
    const ref = skipGroupNormRef({ data: x.values, dims }, gamma.values, beta.values, { data: skip.values, dims: skipDims }, o.bias ? bias.values : undefined, {
      groups: 4,
      epsilon: 1e-5,
      silu: true,
    });
    return {
      feeds: { X: x.tensor, gamma: gamma.tensor, beta: beta.tensor, skip: skip.tensor, ...(o.bias ? { bias: bias.tensor } : {}) },
      expected: { Y: ref.y, S: ref.s },
    };
  },
});

describe('portability rewrites against the reference implementations', () => {
  for (const p of ['fp32', 'fp16'] as const) {
    it(`GroupNorm channels-last with SiLU (${p})`, () => runCase('groupnorm-nhwc', p, groupNormCase({ channelsLast: true, silu: true, groups: 4, epsilon: 1e-5 })));
    it(`GroupNorm channels-first without activation, epsilon 1e-2, 2 groups (${p})`, () =>
      runCase('groupnorm-nchw', p, groupNormCase({ channelsLast: false, silu: false, groups: 2, epsilon: 1e-2 })));
    it(`GroupNorm without a channels_last attribute is NHWC, ORT's default (${p})`, () =>
      runCase('groupnorm-default', p, groupNormCase({ channelsLast: 'unset', silu: true, groups: 4, epsilon: 1e-5 })));
    it(`GroupNorm at opset 18 (ReduceMean axes as an input) (${p})`, () =>
      runCase('groupnorm-18', p, groupNormCase({ channelsLast: true, silu: true, groups: 8, epsilon: 1e-6 }), 18));
    it(`NhwcConv with bias, padding (${p})`, () => runCase('nhwcconv', p, nhwcConvCase({ group: 1, strides: [1, 1], pads: [1, 1, 1, 1], bias: true })));
    it(`NhwcConv grouped, strided, no bias (${p})`, () => runCase('nhwcconv-g', p, nhwcConvCase({ group: 2, strides: [2, 2], pads: [0, 1, 1, 0], bias: false })));
    it(`BiasAdd (${p})`, () => runCase('biasadd', p, biasAddCase));
    it(`BiasSplitGelu with the erf formula (opset 17) (${p})`, () => runCase('bsg', p, biasSplitGeluCase));
    it(`BiasSplitGelu with Split num_outputs and the Gelu op (opset 20) (${p})`, () => runCase('bsg-20', p, biasSplitGeluCase, 20));
    it(`SkipGroupNorm with bias and a full skip (${p})`, () => runCase('sgn', p, skipGroupNormCase({ skip2d: false, bias: true })));
    it(`SkipGroupNorm without bias, skip [N,C] (${p})`, () => runCase('sgn-2d', p, skipGroupNormCase({ skip2d: true, bias: false })));
  }
});

describe('the portable derived graph', () => {
  it('is written to the studio\'s folder (never the model folder), keeps the external data where it is, and leaves the weights untouched', async () => {
    const folder = path.join(tmp, 'ext-model');
    const dir = path.join(folder, 'vae_decoder');
    const graphsRoot = path.join(tmp, 'ext-graphs');
    fs.mkdirSync(dir, { recursive: true });
    const writer = new ExternalDataWriter(path.join(dir, 'model.onnx.data'), 'model.onnx.data');
    const g = new GraphBuilder('ext', writer, 64);
    const [N, H, W, C, M] = [1, 4, 4, 8, 8];
    g.input('X', 'float32', [N, H, W, C]);
    const w = g.init('conv.weight', { type: 'float32', dims: [M, 3, 3, C], data: Float32Array.from(random(20, M * 9 * C, 0.2)) });
    const gamma = g.init('norm.gamma', { type: 'float32', dims: [M], data: Float32Array.from(random(21, M, 0.1, 1)) });
    const beta = g.init('norm.beta', { type: 'float32', dims: [M], data: Float32Array.from(random(22, M, 0.1)) });
    const conv = g.contrib('NhwcConv', ['X', w], { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } })[0] as string;
    g.contrib('GroupNorm', [conv, gamma, beta], { groups: { i: 2 }, activation: { i: 1 }, epsilon: { f: 1e-5 }, channels_last: { i: 1 } }, ['Y']);
    g.output('Y', 'float32', [N, H, W, M]);
    writer.close();
    const model = path.join(dir, 'model.onnx');
    fs.writeFileSync(model, encodeModel(g));
    const hash = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');
    const before = hash(path.join(dir, 'model.onnx.data'));
    const originalGraph = hash(model);

    const component = { component: 'vae_decoder' as const, dir: 'vae_decoder', model, file: 'vae_decoder/model.onnx' };
    const result = await portableGraph(graphsRoot, folder, component, readOnnxGraph(model, { nodes: true }), new Set(REWRITABLE));
    expect(path.relative(graphsRoot, result.graph.file).split(path.sep)).toEqual([
      expect.stringMatching(/^[0-9a-f]{24}$/),
      'vae_decoder',
      expect.stringMatching(new RegExp(`^${PORTABLE_PASS}-[0-9a-f]{32}\\.onnx$`)),
    ]);
    expect(result.graph.externalDataDir).toBe(fs.realpathSync(dir));
    expect(result.rewritten).toEqual([
      { op: 'com.microsoft.GroupNorm', count: 1 },
      { op: 'com.microsoft.NhwcConv', count: 1 },
    ]);
    expect(hash(path.join(dir, 'model.onnx.data'))).toBe(before);
    expect(hash(model)).toBe(originalGraph);
    expect(fs.readdirSync(dir).sort()).toEqual(['model.onnx', 'model.onnx.data']);
    const portable = readOnnxGraph(result.graph.file, { nodes: true });
    expect([...portable.externalData.keys()]).toEqual(['model.onnx.data']);
    expect(portable.initializers.map((i) => i.name).sort()).toEqual(['conv.weight', 'norm.beta', 'norm.gamma']);

    await expect(ort.InferenceSession.create(model, { logSeverityLevel: 4 })).rejects.toThrow();
    // ORT refuses external data outside the graph's own folder: the derived graph is loaded as bytes with
    // the original component folder as the external-data folder (sessions.ts createSession).
    await expect(ort.InferenceSession.create(result.graph.file, { logSeverityLevel: 4 })).rejects.toThrow(/external data/i);
    const session = await ort.InferenceSession.create(fs.readFileSync(result.graph.file), {
      logSeverityLevel: 3,
      intraOpNumThreads: 1,
      extra: { 'session.model_external_initializers_file_folder_path': result.graph.externalDataDir },
    });
    const x = Float32Array.from(random(23, N * H * W * C));
    const out = (await session.run({ X: new ort.Tensor('float32', x, [N, H, W, C]) })).Y as ort.Tensor;
    await session.release();
    const convRef = nhwcConvRef(
      { data: Float64Array.from(x), dims: [N, H, W, C] },
      { data: Float64Array.from(random(20, M * 9 * C, 0.2).map((v) => Math.fround(v))), dims: [M, 3, 3, C] },
      undefined,
      { pads: [1, 1, 1, 1], strides: [1, 1], dilations: [1, 1], group: 1 },
    );
    const ref = groupNormRef(convRef, random(21, M, 0.1, 1).map((v) => Math.fround(v)), random(22, M, 0.1).map((v) => Math.fround(v)), {
      groups: 2,
      epsilon: 1e-5,
      silu: true,
      channelsLast: true,
    });
    expectClose(read(out), ref, 'fp32', 'conv + groupnorm');
  });
});
