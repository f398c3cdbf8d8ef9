// The portability pass: ONNX Runtime contrib operators that the DirectML/CUDA optimizers fuse (Olive,
// onnxruntime.transformers) rewritten into standard ONNX ops, for a provider that has no kernel for
// them. The rewritten graph is a derived graph (derived-graphs.ts: `<data>/graphs/<model id>/<component>/
// portable-<hash>.onnx`, never inside the model folder): every field of the model is copied byte for byte
// except the rewritten nodes, so the initializers keep their external-data locations (resolved against the
// original component folder) and the weights are never read, copied or changed. Semantics from ONNX Runtime's contrib-operator documentation (com.microsoft domain):
//   GroupNorm(X, gamma, beta): per-group mean and biased variance over C/groups channels × spatial,
//     per-channel gamma/beta, `activation` 1 = SiLU after the affine; X is NHWC when channels_last = 1.
//   SkipGroupNorm(X, gamma, beta, skip, bias?) → (Y, S?): S = X + skip (+ bias), Y = GroupNorm(S), NHWC.
//   NhwcConv(X, W, B?): Conv with X as NHWC and W as [M, kH, kW, C/group]; Y NHWC.
//   BiasAdd(X, bias, skip) = X + bias + skip.
//   BiasSplitGelu(X, bias): (X + bias) halved on the last axis, left · Gelu(right), exact (erf) Gelu.
//   MatMulNBits(A, B, scales, zero_points?, g_idx?, bias?) → Y = A · dequant(B)ᵀ (+ bias): B is [N, k_blocks,
//     blob] uint8, `bits` per value packed low bits first, blocks of `block_size` along K; dequant = (q − zp)·scale
//     per block, zp 2^(bits−1) when absent, uint8 zero points packed like B, float ones as they are. Reference:
//     onnx/onnx onnx/reference/ops/op_matmulnbits.py (matmulnbits_unpack_b, matmulnbits_dequantize_b,
//     MatMulNBits._run). Rewritten exactly in float32 (as ONNX Runtime's CPU kernel computes, A converted to
//     float32): the dequantized weights are exact, the product is one float32 MatMul; accuracy_level 4 (A
//     quantized to int8 by the kernel) is rewritten as the float product too.
import { derivedGraph, type DerivedGraph } from './derived-graphs';
import type { ComponentFiles } from './layouts';
import { StudioError } from '../../src-shared/errors';
import { GRAPH, GRAPH_LIMITS, NODE, onnxTypeNumber, readOnnxGraphBuffer, type OnnxGraph, type OnnxNode } from './onnx-graph';
import { valueTypes } from './ops';
import { Message } from './protobuf';
import { editGraph } from './graph-edit';

/** The pass name of derived-graphs.ts (`portable-<hash>.onnx`). */
export const PORTABLE_PASS = 'portable';

/** The ops the pass can rewrite, as 'domain.OpType'. */
export const REWRITABLE = [
  'com.microsoft.GroupNorm',
  'com.microsoft.SkipGroupNorm',
  'com.microsoft.NhwcConv',
  'com.microsoft.BiasAdd',
  'com.microsoft.BiasSplitGelu',
  'com.microsoft.MatMulNBits',
] as const;

export function canRewrite(domain: string, opType: string): boolean {
  return (REWRITABLE as readonly string[]).includes(`${domain}.${opType}`);
}

type AttrValue = { i: number } | { f: number } | { ints: number[] } | { s: string } | { t: { type: number; dims: number[]; raw: Buffer } };

function encodeAttr(name: string, value: AttrValue): Message {
  const a = new Message().string(1, name);
  if ('i' in value) a.varint(3, value.i).varint(20, 2);
  else if ('f' in value) a.float(2, value.f).varint(20, 1);
  else if ('ints' in value) {
    for (const v of value.ints) a.varint(8, v);
    a.varint(20, 7);
  } else if ('s' in value) a.string(4, value.s).varint(20, 3);
  else {
    const t = new Message();
    for (const d of value.t.dims) t.varint(1, d);
    t.varint(2, value.t.type).bytes(9, value.t.raw);
    a.bytes(5, t).varint(20, 4);
  }
  return a;
}

/** Emits the standard-op nodes that replace one contrib node. */
class Emitter {
  readonly nodes: Message[] = [];
  private n = 0;

  constructor(
    private readonly prefix: string,
    /** Default-domain opset of the graph. */
    readonly opset: number,
  ) {}

  fresh(what: string): string {
    return `${this.prefix}/${what}_${this.n++}`;
  }

  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs?: string[], raw: Buffer[] = []): string[] {
    const outs = outputs ?? [this.fresh(opType)];
    const node = new Message();
    for (const i of inputs) node.string(NODE.input, i);
    for (const o of outs) node.string(NODE.output, o);
    node.string(NODE.name, this.fresh(`${opType}_node`)).string(NODE.opType, opType);
    for (const [name, value] of Object.entries(attrs)) node.bytes(NODE.attribute, encodeAttr(name, value));
    for (const r of raw) node.bytes(NODE.attribute, r);
    this.nodes.push(node);
    return outs;
  }

  one(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, output?: string): string {
    return this.op(opType, inputs, attrs, output ? [output] : undefined)[0] as string;
  }

  ints(values: number[]): string {
    const raw = Buffer.alloc(8 * values.length);
    values.forEach((v, i) => raw.writeBigInt64LE(BigInt(v), 8 * i));
    return this.one('Constant', [], { value: { t: { type: 7, dims: [values.length], raw } } });
  }

  /** A float32 scalar constant. */
  scalar(value: number): string {
    return this.one('Constant', [], { value: { t: { type: 1, dims: [], raw: Buffer.from(new Float32Array([value]).buffer) } } });
  }

  /** An int32 scalar constant. */
  int32(value: number): string {
    return this.one('Constant', [], { value: { t: { type: 6, dims: [], raw: Buffer.from(new Int32Array([value]).buffer) } } });
  }

  /** x with a new last axis of size 1. */
  unsqueezeLast(x: string): string {
    return this.opset >= 13 ? this.one('Unsqueeze', [x, this.ints([-1])]) : this.one('Unsqueeze', [x], { axes: { ints: [-1] } });
  }

  cast(x: string, to: number): string {
    return this.one('Cast', [x], { to: { i: to } });
  }

  reduceMean(x: string, axes: number[]): string {
    return this.opset >= 18 ? this.one('ReduceMean', [x, this.ints(axes)], { keepdims: { i: 1 } }) : this.one('ReduceMean', [x], { axes: { ints: axes }, keepdims: { i: 1 } });
  }

  transpose(x: string, perm: number[], output?: string): string {
    return this.one('Transpose', [x], { perm: { ints: perm } }, output);
  }
}

interface RewriteContext {
  e: Emitter;
  node: OnnxNode;
  types: Map<string, string>;
  ranks: Map<string, number>;
}

function attrI(node: OnnxNode, name: string, fallback: number): number {
  return node.attributes.find((a) => a.name === name)?.i ?? fallback;
}

function attrF(node: OnnxNode, name: string, fallback: number): number {
  return node.attributes.find((a) => a.name === name)?.f ?? fallback;
}

/** GroupNorm in standard ops, computed in float32 (as ONNX Runtime's kernels accumulate); returns Y. */
function groupNorm(ctx: RewriteContext, x: string, gamma: string, beta: string, output: string): void {
  const { e, node, types } = ctx;
  const groups = attrI(node, 'groups', 0);
  if (groups <= 0) throw new Error(`${node.opType} node '${node.name}' has no groups attribute`);
  const channelsLast = attrI(node, 'channels_last', 1) === 1;
  const eps = attrF(node, 'epsilon', 1e-5);
  const silu = attrI(node, 'activation', 0) === 1;
  const type = types.get(node.inputs[0] as string) ?? 'float32';
  const typeNo = onnxTypeNumber(type) ?? 1;
  let v = channelsLast ? e.transpose(x, [0, 3, 1, 2]) : x;
  if (typeNo !== 1) v = e.cast(v, 1);
  const shape = e.one('Shape', [v]);
  const grouped = e.one('Reshape', [v, e.ints([0, groups, -1])]);
  const mean = e.reduceMean(grouped, [2]);
  const centered = e.one('Sub', [grouped, mean]);
  const variance = e.reduceMean(e.one('Mul', [centered, centered]), [2]);
  const std = e.one('Sqrt', [e.one('Add', [variance, e.scalar(eps)])]);
  const normed = e.one('Reshape', [e.one('Div', [centered, std]), shape]);
  const perChannel = (t: string) => e.one('Reshape', [e.cast(t, 1), e.ints([-1, 1, 1])]);
  let y = e.one('Add', [e.one('Mul', [normed, perChannel(gamma)]), perChannel(beta)]);
  if (silu) y = e.one('Mul', [y, e.one('Sigmoid', [y])]);
  const last = !channelsLast && typeNo === 1;
  if (typeNo !== 1) y = e.one('Cast', [y], { to: { i: typeNo } }, channelsLast ? undefined : output);
  if (channelsLast) e.transpose(y, [0, 2, 3, 1], output);
  else if (last) e.one('Identity', [y], {}, output);
}

function rewriteGroupNorm(ctx: RewriteContext): void {
  const [x, gamma, beta] = ctx.node.inputs as [string, string, string];
  groupNorm(ctx, x, gamma, beta, ctx.node.outputs[0] as string);
}

function rewriteSkipGroupNorm(ctx: RewriteContext): void {
  const { e, node, ranks } = ctx;
  const [x, gamma, beta, skipIn, bias] = node.inputs as [string, string, string, string, string | undefined];
  // skip is [N,H,W,C], [N,1,1,C] or [N,C]; the last needs its spatial axes back to broadcast.
  const skip = ranks.get(skipIn) === 2 ? e.one('Reshape', [skipIn, e.ints([0, 1, 1, -1])]) : skipIn;
  const sumOut = node.outputs[1] && node.outputs[1] !== '' ? node.outputs[1] : undefined;
  let s = e.one('Add', [x, skip], {}, bias ? undefined : sumOut);
  if (bias) s = e.one('Add', [s, bias], {}, sumOut);
  groupNorm(ctx, s, gamma, beta, node.outputs[0] as string);
}

function rewriteNhwcConv(ctx: RewriteContext): void {
  const { e, node } = ctx;
  const [x, w, b] = node.inputs;
  const xt = e.transpose(x as string, [0, 3, 1, 2]);
  const wt = e.transpose(w as string, [0, 3, 1, 2]); // [M, kH, kW, C/g] → [M, C/g, kH, kW]
  const inputs = [xt, wt, ...(b ? [b] : [])];
  const [y] = e.op('Conv', inputs, {}, undefined, node.attributes.map((a) => a.encoded));
  e.transpose(y as string, [0, 2, 3, 1], node.outputs[0]);
}

function rewriteBiasAdd(ctx: RewriteContext): void {
  const { e, node } = ctx;
  const [x, bias, skip] = node.inputs as [string, string, string];
  e.one('Add', [e.one('Add', [x, bias]), skip], {}, node.outputs[0]);
}

function rewriteBiasSplitGelu(ctx: RewriteContext): void {
  const { e, node, types } = ctx;
  const [x, bias] = node.inputs as [string, string];
  const typeNo = onnxTypeNumber(types.get(x) ?? 'float32') ?? 1;
  const sum = e.one('Add', [x, bias]);
  const halves = [e.fresh('left'), e.fresh('right')];
  if (e.opset >= 18) e.op('Split', [sum], { axis: { i: -1 }, num_outputs: { i: 2 } }, halves);
  else e.op('Split', [sum], { axis: { i: -1 } }, halves);
  const [left, right] = halves as [string, string];
  // Gelu in float32 (exact erf form); the Gelu op where the opset has it (20+).
  const r = typeNo === 1 ? right : e.cast(right, 1);
  let gelu: string;
  if (e.opset >= 20) gelu = e.one('Gelu', [r]);
  else {
    const erf = e.one('Erf', [e.one('Div', [r, e.scalar(Math.SQRT2)])]);
    gelu = e.one('Mul', [e.one('Mul', [r, e.scalar(0.5)]), e.one('Add', [erf, e.scalar(1)])]);
  }
  if (typeNo !== 1) gelu = e.cast(gelu, typeNo);
  e.one('Mul', [left, gelu], {}, node.outputs[0]);
}

/** The quantized values of packed bytes `x` (int32, last axis bytes) as int32: 4 bits → two per byte, low first. */
function unpackNibbles(e: Emitter, x: string, bits: number): string {
  if (bits === 8) return x;
  const sixteen = e.int32(16);
  const hi = e.one('Div', [x, sixteen]);
  const lo = e.one('Sub', [x, e.one('Mul', [hi, sixteen])]);
  const pair = e.one('Concat', [e.unsqueezeLast(lo), e.unsqueezeLast(hi)], { axis: { i: -1 } });
  return pair;
}

function rewriteMatMulNBits(ctx: RewriteContext): void {
  const { e, node, types } = ctx;
  const [a, b, scales, zp, gIdx, bias] = node.inputs as [string, string, string, string | undefined, string | undefined, string | undefined];
  const K = attrI(node, 'K', 0);
  const N = attrI(node, 'N', 0);
  const bits = attrI(node, 'bits', 4);
  const blockSize = attrI(node, 'block_size', 0);
  if (K <= 0 || N <= 0 || blockSize <= 0) throw new Error(`MatMulNBits node '${node.name}' lacks K, N or block_size`);
  if (bits !== 4 && bits !== 8) throw new Error(`MatMulNBits node '${node.name}' has ${bits}-bit weights; only 4 and 8 are rewritten`);
  if (gIdx) throw new Error(`MatMulNBits node '${node.name}' has g_idx (act-order); not rewritten`);
  const blocks = Math.ceil(K / blockSize);
  const typeNo = onnxTypeNumber(types.get(a) ?? 'float32') ?? 1;
  const toF32 = (t: string) => ((onnxTypeNumber(types.get(t) ?? 'float32') ?? 1) === 1 ? t : e.cast(t, 1));
  // B [N, blocks, blob] uint8 → quantized values [N, blocks, block_size] as float32.
  const packed = e.one('Reshape', [e.cast(b, 6), e.ints([N, blocks, -1])]);
  const q = e.cast(e.one('Reshape', [unpackNibbles(e, packed, bits), e.ints([N, blocks, blockSize])]), 1);
  let zero: string;
  if (!zp) zero = e.scalar(2 ** (bits - 1));
  else if (types.get(zp) === 'uint8') {
    const z = unpackNibbles(e, e.one('Reshape', [e.cast(zp, 6), e.ints([N, -1])]), bits);
    const row = e.one('Slice', [e.one('Reshape', [z, e.ints([N, -1])]), e.ints([0]), e.ints([blocks]), e.ints([1])]);
    zero = e.cast(e.one('Reshape', [row, e.ints([N, blocks, 1])]), 1);
  } else zero = e.one('Reshape', [toF32(zp), e.ints([N, blocks, 1])]);
  const scale = e.one('Reshape', [toF32(scales), e.ints([N, blocks, 1])]);
  let w = e.one('Reshape', [e.one('Mul', [e.one('Sub', [q, zero]), scale]), e.ints([N, blocks * blockSize])]);
  if (blocks * blockSize !== K) w = e.one('Slice', [w, e.ints([0]), e.ints([K]), e.ints([1])]);
  let y = e.one('MatMul', [typeNo === 1 ? a : e.cast(a, 1), e.transpose(w, [1, 0])]);
  if (bias) y = e.one('Add', [y, toF32(bias)]);
  if (typeNo === 1) e.one('Identity', [y], {}, node.outputs[0]);
  else e.one('Cast', [y], { to: { i: typeNo } }, node.outputs[0]);
}

const REWRITERS: Record<string, (ctx: RewriteContext) => void> = {
  'com.microsoft.MatMulNBits': rewriteMatMulNBits,
  'com.microsoft.GroupNorm': rewriteGroupNorm,
  'com.microsoft.SkipGroupNorm': rewriteSkipGroupNorm,
  'com.microsoft.NhwcConv': rewriteNhwcConv,
  'com.microsoft.BiasAdd': rewriteBiasAdd,
  'com.microsoft.BiasSplitGelu': rewriteBiasSplitGelu,
};

/**
 * The pass's amplification bound (issue 18 §3): the rewritten graph has at most GRAPH_LIMITS.nodes nodes and at
 * most 2× the original's bytes + 16 MB (a real VAE's ~30 GroupNorms add ~100 kB).
 */
export const PORTABLE_GROWTH = 2;
export const PORTABLE_SLACK_BYTES = 16 * 1024 * 1024;

function amplified(label: string, what: string): StudioError {
  return new StudioError('invalid_input', `The portability pass would turn ${label} into ${what}; a real export never grows that much, so it is not rewritten.`, { file: label });
}

export interface RewrittenOp {
  /** 'com.microsoft.GroupNorm' */
  op: string;
  count: number;
}

export interface PortableGraph {
  bytes: Buffer;
  rewritten: RewrittenOp[];
}

/**
 * The model with every node whose 'domain.OpType' is in `ops` (and rewritable) replaced by standard ops.
 * Every other byte of the model is kept as it was.
 */
export function rewriteModel(model: Buffer, ops: ReadonlySet<string>, label = 'model.onnx'): PortableGraph {
  const graph: OnnxGraph = readOnnxGraphBuffer(model, label, { nodes: true });
  const types = valueTypes(graph);
  const ranks = new Map<string, number>();
  for (const v of [...graph.inputs, ...graph.valueInfo, ...graph.outputs]) if (v.dims.length > 0) ranks.set(v.name, v.dims.length);
  for (const i of graph.initializers) ranks.set(i.name, i.dims.length);
  const opset = graph.opsets.get('') ?? 17;
  const counts = new Map<string, number>();
  let emitted = 0;
  const bytes = editGraph(model, {
    node(g, k) {
      const node = graph.nodes[k] as OnnxNode;
      const key = `${node.domain}.${node.opType}`;
      const rewrite = ops.has(key) ? REWRITERS[key] : undefined;
      if (!rewrite) return false;
      // The node's own name only as a hint (bounded): k keeps the names unique.
      const e = new Emitter(`portable/${k}_${(node.name || node.opType).slice(0, 64)}`, opset);
      rewrite({ e, node, types, ranks });
      emitted += e.nodes.length - 1;
      if (graph.nodes.length + emitted > GRAPH_LIMITS.nodes) throw amplified(label, `more than ${GRAPH_LIMITS.nodes.toLocaleString('en-US')} nodes`);
      for (const n of e.nodes) g.bytes(GRAPH.node, n);
      counts.set(key, (counts.get(key) ?? 0) + 1);
      return true;
    },
  });
  if (bytes.length > model.length * PORTABLE_GROWTH + PORTABLE_SLACK_BYTES) {
    throw amplified(label, `${bytes.length} bytes from ${model.length}`);
  }
  return { bytes, rewritten: [...counts].map(([op, count]) => ({ op, count })).sort((a, b) => a.op.localeCompare(b.op)) };
}

/** How many nodes of each op in `ops` the pass rewrites in a graph (read with nodes). */
export function rewriteCounts(graph: OnnxGraph, ops: ReadonlySet<string>): RewrittenOp[] {
  const counts = new Map<string, number>();
  for (const node of graph.nodes) {
    const key = `${node.domain}.${node.opType}`;
    if (ops.has(key) && REWRITERS[key]) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([op, count]) => ({ op, count })).sort((a, b) => a.op.localeCompare(b.op));
}

export interface PortableFile {
  /** The derived graph to load (derived-graphs.ts). */
  graph: DerivedGraph;
  rewritten: RewrittenOp[];
}

/**
 * The portable graph of a component with `ops` rewritten, from the studio's folder of derived graphs
 * (`root`, made there once and reused), and what was rewritten. `graph` is the component's graph as read
 * with nodes. The model folder is only read.
 */
export async function portableGraph(root: string, modelFolder: string, component: ComponentFiles, graph: OnnxGraph, ops: ReadonlySet<string>): Promise<PortableFile> {
  const sorted = [...ops].sort();
  const derived = await derivedGraph({
    root,
    modelFolder,
    component,
    pass: PORTABLE_PASS,
    key: { ops: sorted },
    produce: (source) => rewriteModel(source, ops, component.file).bytes,
  });
  return { graph: derived, rewritten: rewriteCounts(graph, ops) };
}
