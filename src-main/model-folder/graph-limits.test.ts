// Hostile graphs cost bounded work (issue 18 §3): nodes, distinct ops and opset imports are capped where a graph
// is read, and the portability pass cannot amplify a graph past the same node cap or twice its bytes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder, encodeModel } from '../../e2e/support/onnx-builder';
import { StudioError } from '../../src-shared/errors';
import { GRAPH_LIMITS, readOnnxGraph, readOnnxGraphBuffer } from './onnx-graph';
import { listOps } from './ops';
import { REWRITABLE, rewriteModel } from './portable';
import { Message } from './protobuf';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-limits-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A chain of `n` nodes named as an export names them. */
function chain(n: number, opType = 'Identity', domain?: string): GraphBuilder {
  const g = new GraphBuilder('transformer');
  let x = g.input('hidden_states', 'float32', [1, 4]);
  for (let i = 0; i < n; i++) {
    const name = `/transformer_blocks.${i}/attn/to_q/${opType}`;
    x = (domain ? g.contrib(opType, [x], {}, [name]) : g.node(opType, [x], {}, [name]))[0] as string;
  }
  g.output(x, 'float32', [1, 4]);
  return g;
}

describe('graph limits', () => {
  it(`a graph of more than ${GRAPH_LIMITS.nodes} nodes is refused where it is read (the limit itself is read)`, () => {
    const at = Buffer.from(encodeModel(chain(GRAPH_LIMITS.nodes)));
    expect(readOnnxGraphBuffer(at, 'unet/model.onnx', { nodes: true }).nodes).toHaveLength(GRAPH_LIMITS.nodes);
    const over = Buffer.from(encodeModel(chain(GRAPH_LIMITS.nodes + 1)));
    // Without nodes too (the import check reads no nodes).
    expect(() => readOnnxGraphBuffer(over, 'unet/model.onnx')).toThrow(/unet\/model\.onnx has more than 60,000 nodes/);
  });

  it(`more than ${GRAPH_LIMITS.distinctOps} distinct operators are refused before any probe`, () => {
    const g = new GraphBuilder('vae');
    let x = g.input('latent_sample', 'float32', [1, 4]);
    for (let i = 0; i <= GRAPH_LIMITS.distinctOps; i++) x = g.contrib(`Op${i}`, [x])[0] as string;
    g.output(x, 'float32', [1, 4]);
    const graph = readOnnxGraphBuffer(Buffer.from(encodeModel(g)), 'vae_decoder/model.onnx', { nodes: true });
    let err: unknown;
    try {
      listOps(graph);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StudioError);
    expect((err as StudioError).code).toBe('invalid_input');
    expect((err as StudioError).message).toContain(`more than ${GRAPH_LIMITS.distinctOps} distinct operators`);
  });

  it(`more than ${GRAPH_LIMITS.opsetImports} opset imports are refused`, () => {
    const base = Buffer.from(encodeModel(chain(2)));
    const extra = new Message();
    for (let i = 0; i < GRAPH_LIMITS.opsetImports; i++) extra.bytes(8, new Message().string(1, `ai.hostile.${i}`).varint(2, 1));
    const file = path.join(tmp, 'opsets.onnx');
    fs.writeFileSync(file, Buffer.concat([base, extra.finish()]));
    expect(() => readOnnxGraph(file)).toThrow(/imports more than 16 operator sets/);
  });

  it('the portability pass refuses to amplify a graph past the node cap', () => {
    // 3,000 fused GroupNorms (an SD3.5 VAE has about 30): each becomes ~25 standard nodes.
    const g = new GraphBuilder('vae');
    let x = g.input('latent_sample', 'float32', [1, 4, 2, 2]);
    const gamma = g.init('gamma', { type: 'float32', dims: [4], data: new Float32Array(4).fill(1) });
    const beta = g.init('beta', { type: 'float32', dims: [4], data: new Float32Array(4) });
    for (let i = 0; i < 3000; i++) {
      x = g.contrib('GroupNorm', [x, gamma, beta], { groups: { i: 2 }, activation: { i: 1 }, epsilon: { f: 1e-5 }, channels_last: { i: 0 } }, [`/decoder/up_blocks.${i}/resnets.0/norm1/GroupNorm`])[0] as string;
    }
    g.output(x, 'float32', [1, 4, 2, 2]);
    const model = Buffer.from(encodeModel(g));
    expect(() => rewriteModel(model, new Set(REWRITABLE), 'vae_decoder/model.onnx')).toThrow(/would turn vae_decoder\/model\.onnx into more than 60,000 nodes/);
    // A real-sized VAE (30 GroupNorms) is rewritten.
    const small = new GraphBuilder('vae');
    let y = small.input('latent_sample', 'float32', [1, 4, 2, 2]);
    const gm = small.init('gamma', { type: 'float32', dims: [4], data: new Float32Array(4).fill(1) });
    const bt = small.init('beta', { type: 'float32', dims: [4], data: new Float32Array(4) });
    for (let i = 0; i < 30; i++) y = small.contrib('GroupNorm', [y, gm, bt], { groups: { i: 2 }, activation: { i: 1 }, epsilon: { f: 1e-5 }, channels_last: { i: 0 } }, [`/decoder/up_blocks.${i}/norm/GroupNorm`])[0] as string;
    small.output(y, 'float32', [1, 4, 2, 2]);
    expect(rewriteModel(Buffer.from(encodeModel(small)), new Set(REWRITABLE)).rewritten).toEqual([{ op: 'com.microsoft.GroupNorm', count: 30 }]);
  });

  it('a hostile node name is not copied into every node the pass emits (byte amplification)', () => {
    const g = new GraphBuilder('vae');
    const x = g.input('latent_sample', 'float32', [1, 4, 2, 2]);
    const gamma = g.init('gamma', { type: 'float32', dims: [4], data: new Float32Array(4).fill(1) });
    const beta = g.init('beta', { type: 'float32', dims: [4], data: new Float32Array(4) });
    const out = g.named(`/decoder/${'n'.repeat(100_000)}/GroupNorm`, 'GroupNorm', [x, gamma, beta], { groups: { i: 2 }, activation: { i: 1 }, epsilon: { f: 1e-5 }, channels_last: { i: 0 } });
    (g as unknown as { nodes: { domain?: string }[] }).nodes.at(-1)!.domain = 'com.microsoft';
    g.output(out, 'float32', [1, 4, 2, 2]);
    const source = Buffer.from(encodeModel(g, { opset: 17 }));
    const rewritten = rewriteModel(source, new Set(['com.microsoft.GroupNorm']), 'vae_decoder/model.onnx');
    expect(rewritten.rewritten).toEqual([{ op: 'com.microsoft.GroupNorm', count: 1 }]);
    // The name survives only where the graph needs it (its output); the ~25 emitted nodes carry 64 characters of it.
    expect(rewritten.bytes.length).toBeLessThan(source.length + 16 * 1024);
  });
});
