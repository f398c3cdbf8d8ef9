// The SLG switch pass on the tiny diffusers-named MMDiT (e2e/support/tiny-mmdit.ts: joint blocks named
// /transformer_blocks.{i}/…, Medium-shaped with attn2), both layouts, fp32 and fp16: all switches off gives the
// original graph's output bit for bit; switching block i on gives exactly the output of the graph without block i
// — that graph is made here another way (block i's boundary Identity nodes fed the block's inputs); the weights stay
// in the external data, untouched. A graph without diffusers' block names is refused with the reason.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAYOUT_FILES, writeTinyModel } from '../../e2e/support/tiny-model';
import { TINY_MMDIT, tinyBlockTensors } from '../../e2e/support/tiny-mmdit';
import { withoutBlock } from '../testing/model-folder/without-block';
import { ort } from '../inference/ort';
import { float32ToFloat16 } from '../formats/float16';
import { readOnnxGraphBuffer } from './onnx-graph';
import { SLG_INPUT, findJointBlocks, slgSwitchModel } from './slg-switch';

let tmp = '';
const variants = [
  { name: 'optimum-fp32', layout: 'optimum', io: 'fp32' },
  { name: 'tensorstack-fp16', layout: 'tensorstack', io: 'fp16' },
  { name: 'optimum-fp16', layout: 'optimum', io: 'fp16' },
] as const;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-slg-'));
  for (const v of variants) await writeTinyModel(path.join(tmp, v.name), { layout: v.layout, io: v.io, size: 'micro', mmdit: 'medium' });
  await writeTinyModel(path.join(tmp, 'plain'), { layout: 'optimum', io: 'fp32', size: 'micro' });
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const transformerDir = (v: (typeof variants)[number]): string => path.join(tmp, v.name, LAYOUT_FILES[v.layout].transformerDir);

async function session(bytes: Buffer, dir: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, extra: { 'session.model_external_initializers_file_folder_path': dir } });
}

function feeds(model: Buffer): Record<string, ort.Tensor> {
  const g = readOnnxGraphBuffer(model, 'model.onnx');
  const out: Record<string, ort.Tensor> = {};
  let seed = 1;
  for (const i of g.inputs) {
    const last = i.dims.at(-1);
    const dims = i.dims.length === 4 ? [1, 16, 8, 8] : i.dims.length === 3 ? [1, 10, Number(last)] : i.dims.length === 2 ? [1, Number(last)] : [1];
    const n = dims.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, (_, k) => Math.sin(k * 0.7 + seed) * (i.dims.length === 1 ? 500 : 1));
    seed++;
    out[i.name] = i.type === 'float16' ? new ort.Tensor('float16', float32ToFloat16(data), dims) : new ort.Tensor('float32', data, dims);
  }
  return out;
}

async function run(s: ort.InferenceSession, f: Record<string, ort.Tensor>): Promise<number[]> {
  const r = await s.run(f);
  return Array.from(r[s.outputNames[0]!]!.data as ArrayLike<number>);
}

describe('findJointBlocks', () => {
  it('finds the 4 joint blocks and pairs each output with the input it continues (the last block: hidden only)', () => {
    const model = fs.readFileSync(path.join(transformerDir(variants[0]), 'model.onnx'));
    const found = findJointBlocks(readOnnxGraphBuffer(model, 'model.onnx', { nodes: true }));
    expect(found.ok).toBe(true);
    if (!found.ok) return;
    expect(found.count).toBe(TINY_MMDIT.blocks);
    for (let i = 0; i < TINY_MMDIT.blocks; i++) {
      const t = tinyBlockTensors(i);
      const expected = [{ output: t.output.hidden, input: t.input.hidden }];
      if (i < TINY_MMDIT.blocks - 1) expected.push({ output: t.output.context, input: t.input.context });
      expect([...found.pairs[i]!].sort((a, b) => a.output.localeCompare(b.output))).toEqual(expected.sort((a, b) => a.output.localeCompare(b.output)));
    }
  });
  it('a graph without diffusers block names is refused with the reason', () => {
    const model = fs.readFileSync(path.join(tmp, 'plain', 'transformer', 'model.onnx'));
    expect(findJointBlocks(readOnnxGraphBuffer(model, 'model.onnx', { nodes: true }))).toEqual({ ok: false, reason: expect.stringMatching(/no nodes named \/transformer_blocks\.N\//) });
    expect(() => slgSwitchModel(model)).toThrow(/Skip-Layer Guidance is not available for this model/);
  });
});

describe('the switch graph', () => {
  for (const v of variants) {
    it(`${v.name}: all off = the original bit for bit; block i on = the graph without block i; weights untouched`, async () => {
      const dir = transformerDir(v);
      const model = fs.readFileSync(path.join(dir, 'model.onnx'));
      const switched = slgSwitchModel(model);
      expect(switched.blocks).toBe(TINY_MMDIT.blocks);
      // The weights stay where they were: the same external-data references, the graph only a few nodes larger.
      const before = readOnnxGraphBuffer(model, 'a');
      const after = readOnnxGraphBuffer(switched.bytes, 'b');
      expect([...after.externalData]).toEqual([...before.externalData]);
      expect(after.initializers).toEqual(before.initializers);
      expect(switched.bytes.length - model.length).toBeLessThan(4096);
      expect(after.inputs.find((i) => i.name === SLG_INPUT)).toEqual({ name: SLG_INPUT, type: 'bool', dims: [TINY_MMDIT.blocks] });

      const f = feeds(model);
      const original = await run(await session(model, dir), f);
      const sw = await session(switched.bytes, dir);
      const flags = (on: number[]): ort.Tensor => new ort.Tensor('bool', Uint8Array.from({ length: TINY_MMDIT.blocks }, (_, k) => (on.includes(k) ? 1 : 0)), [TINY_MMDIT.blocks]);
      expect(await run(sw, { ...f, [SLG_INPUT]: flags([]) })).toEqual(original);
      for (const i of [0, 1, 3]) {
        const reference = await run(await session(withoutBlock(model, i), dir), f);
        expect(reference).not.toEqual(original);
        expect(await run(sw, { ...f, [SLG_INPUT]: flags([i]) })).toEqual(reference);
      }
      // Two blocks at once = the graph without both.
      const both = await run(await session(withoutBlock(withoutBlock(model, 1), 2), dir), f);
      expect(await run(sw, { ...f, [SLG_INPUT]: flags([1, 2]) })).toEqual(both);
    });
  }
});
