// The LoRA graph pass: beside each matched Linear of an exported graph, a low-rank branch
//   y' = y + ((x · Aᵀ) · (α / r) · strength) · Bᵀ
// (diffusers' PEFT LoraLayer forward — `lora_B(lora_A(dropout(x))) * scaling`, scaling = lora_alpha / r — and
// kohya sd-scripts networks/lora.py LoRAModule.forward, `lora_up(lora_down(x)) * multiplier * scale`, scale =
// alpha / dim; the scalar is applied in rank space, which is the same product). The merged equivalent is
// W' = W + strength·(α/r)·B·A (tested against it). Strength is a graph input per LoRA (`lora_strength_<k>`,
// float32 [1]), so a sweep or switching a LoRA off needs no reload; several LoRAs are several branches.
// A layer is found by the node name the exporter gives its Linear (`/transformer_blocks.7/attn/to_q/MatMul`, or
// `/…/Gemm` for a 2-D input); its weight is the initializer that reaches the MatMul/Gemm through
// Transpose/Cast/Identity (fp16 exports), never guessed by position or initializer name; A/B must fit that
// weight's [in, out] or the layer is refused by name. A and B are stored in the weight's own element type inside
// the derived graph (raw data: a rank-16 LoRA on every attention layer of Large is tens of MB); the model's
// weights are never read, copied or changed: their initializers are copied byte for byte and keep naming the
// original external-data file, which ONNX Runtime finds through the session option
// `session.model_external_initializers_file_folder_path` (the original component folder) — a derived graph
// in another folder cannot name it otherwise (ORT refuses absolute locations and any path that resolves,
// symlinks included, outside the folder it reads external data from). The branch is added after the Linear's bias Add when there is one, so the MatMul + bias
// pattern ONNX Runtime fuses stays as it was.
import { StudioError } from '../../src-shared/errors';
import { float32ToFloat16 } from '../formats/float16';
import { ATTR, GRAPH, NODE, TENSOR, readOnnxGraphBuffer, type OnnxGraph, type OnnxNode } from '../model-folder/onnx-graph';
import { Message } from '../model-folder/protobuf';
import { editGraph } from '../model-folder/graph-edit';

/** One layer's LoRA factors as read from the file (float32; the pass converts to the graph's precision). */
export interface LoraFactors {
  /** diffusers module path (`transformer_blocks.7.attn.to_q`). */
  module: string;
  /** The LoRA's own key, for messages. */
  key: string;
  /** A (lora_down / lora_A): [rank, in], row-major. */
  down: Float32Array;
  /** B (lora_up / lora_B): [out, rank], row-major. */
  up: Float32Array;
  rank: number;
  in: number;
  out: number;
  /** α (defaults to rank: scale 1). */
  alpha: number;
  /** SAI-named adaLN (ComfyUI swap_scale_shift): swap the halves of B's rows when the target is a (scale, shift) modulation. */
  sai?: boolean;
}

export interface LoraForPass {
  /** Strength input index k → `lora_strength_<k>`. */
  index: number;
  layers: LoraFactors[];
}

export interface AppliedLayer {
  lora: number;
  module: string;
  node: string;
}

export interface LoraPassResult {
  model: Buffer;
  /** Bytes of the LoRA factors the graph holds. */
  weightBytes: number;
  applied: AppliedLayer[];
  /** Per LoRA: modules with no node in this graph. */
  unmatched: Map<number, string[]>;
}

export interface LoraPassOptions {
  label?: string;
}

export function strengthInputName(index: number): string {
  return `lora_strength_${index}`;
}

/** The node scope torch.onnx gives a module path: `transformer_blocks.3.attn.to_out.0` → `transformer_blocks.3/attn/to_out.0`. */
export function exportScope(module: string): string {
  const out: string[] = [];
  for (const p of module.split('.')) {
    if (/^\d+$/u.test(p) && out.length > 0) out[out.length - 1] = `${out[out.length - 1]}.${p}`;
    else out.push(p);
  }
  return out.join('/');
}

interface WeightChain {
  /** Effective Linear shape. */
  in: number;
  out: number;
  /** Element type number of the stored weight (1 float32, 10 float16). */
  storeType: number;
  /** Element type the MatMul/Gemm computes in. */
  computeType: number;
}

interface Target {
  node: OnnxNode;
  /** The tensor the branch is added to (the MatMul/Gemm output, or its bias Add's). */
  output: string;
  x: string;
  chain: WeightChain;
  /** Gemm alpha. */
  gain: number;
}

function attrI(node: OnnxNode, name: string, fallback: number): number {
  return node.attributes.find((a) => a.name === name)?.i ?? fallback;
}

function attrF(node: OnnxNode, name: string, fallback: number): number {
  return node.attributes.find((a) => a.name === name)?.f ?? fallback;
}

class GraphIndex {
  readonly byName = new Map<string, OnnxNode>();
  readonly producer = new Map<string, OnnxNode>();
  readonly consumers = new Map<string, OnnxNode[]>();
  readonly inits = new Map<string, { dims: number[]; dataType: number }>();

  constructor(readonly graph: OnnxGraph) {
    for (const n of graph.nodes) {
      if (n.name) this.byName.set(n.name, n);
      for (const o of n.outputs) this.producer.set(o, n);
      for (const i of n.inputs) {
        const list = this.consumers.get(i) ?? [];
        list.push(n);
        this.consumers.set(i, list);
      }
    }
    for (const i of graph.initializers) this.inits.set(i.name, { dims: i.dims, dataType: i.dataType });
  }

  /** Follows a weight input back through Transpose/Cast/Identity to its initializer. */
  weightChain(tensor: string, transB: boolean): WeightChain | string {
    let t = tensor;
    let transposed = transB;
    let computeType: number | undefined;
    for (let hops = 0; hops < 8; hops++) {
      const init = this.inits.get(t);
      if (init) {
        if (init.dims.length !== 2) return `its weight ${t} is not a matrix`;
        const [d0, d1] = init.dims as [number, number];
        const [inF, outF] = transposed ? [d1, d0] : [d0, d1];
        return { in: inF, out: outF, storeType: init.dataType, computeType: computeType ?? init.dataType };
      }
      const p = this.producer.get(t);
      if (!p) return `its weight ${t} is not an initializer`;
      if (p.opType === 'Cast') computeType ??= attrI(p, 'to', 1);
      else if (p.opType === 'Transpose') {
        const perm = p.attributes.find((a) => a.name === 'perm')?.ints ?? [1, 0];
        if (perm.length !== 2 || perm[0] !== 1 || perm[1] !== 0) return `its weight passes a Transpose with perm [${perm.join(', ')}]`;
        transposed = !transposed;
      } else if (p.opType !== 'Identity') return `its weight is computed by ${p.opType}`;
      t = p.inputs[0] as string;
    }
    return 'its weight chain is too long';
  }

  /** The Linear node for a module path, or why there is none. */
  target(module: string): Target | string {
    const scope = exportScope(module);
    const mm = this.byName.get(`/${scope}/MatMul`);
    const gemm = this.byName.get(`/${scope}/Gemm`);
    const node = mm ?? gemm;
    if (!node) return 'no node in this graph';
    if (node.inputs.length < 2) return `${node.name} has no weight input`;
    let gain = 1;
    if (node.opType === 'Gemm') {
      if (attrI(node, 'transA', 0) !== 0) return `${node.name} transposes its input`;
      gain = attrF(node, 'alpha', 1);
    }
    const chain = this.weightChain(node.inputs[1] as string, node.opType === 'Gemm' && attrI(node, 'transB', 0) === 1);
    if (typeof chain === 'string') return `${node.name}: ${chain}`;
    let output = node.outputs[0] as string;
    // After the bias Add (MatMul + Add, as torch exports a Linear on a 3-D input) when that is its one consumer.
    const next = this.consumers.get(output);
    if (node.opType === 'MatMul' && next?.length === 1 && next[0]?.opType === 'Add' && !this.graph.outputs.some((o) => o.name === output)) {
      const add = next[0];
      const other = add.inputs.find((i) => i !== output);
      if (other !== undefined && this.isConstant(other)) output = add.outputs[0] as string;
    }
    return { node, output, x: node.inputs[0] as string, chain, gain };
  }

  private isConstant(tensor: string): boolean {
    let t = tensor;
    for (let hops = 0; hops < 4; hops++) {
      if (this.inits.has(t)) return true;
      const p = this.producer.get(t);
      if (!p || (p.opType !== 'Cast' && p.opType !== 'Identity')) return false;
      t = p.inputs[0] as string;
    }
    return false;
  }
}

/** Bytes of a float32 array stored as `type` (1 float32, 10 float16). */
function storeAs(values: Float32Array, type: number): Buffer {
  if (type === 10) {
    const h = float32ToFloat16(values);
    return Buffer.from(h.buffer, h.byteOffset, h.byteLength);
  }
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c] as number;
  return t;
}

/** Swaps the two halves of B's rows (SAI shift, scale → diffusers scale, shift). */
function swapHalves(up: Float32Array, out: number, rank: number): Float32Array {
  const half = (out / 2) * rank;
  const s = new Float32Array(up.length);
  s.set(up.subarray(half), 0);
  s.set(up.subarray(0, half), half);
  return s;
}

class Emitter {
  readonly nodes: Message[] = [];
  readonly inits: Message[] = [];
  readonly inputs: Message[] = [];
  /** Bytes of A/B held in the graph. */
  weightBytes = 0;

  node(name: string, opType: string, inputs: string[], outputs: string[], attrs: Message[] = []): void {
    const n = new Message();
    for (const i of inputs) n.string(NODE.input, i);
    for (const o of outputs) n.string(NODE.output, o);
    n.string(NODE.name, name).string(NODE.opType, opType);
    for (const a of attrs) n.bytes(NODE.attribute, a);
    this.nodes.push(n);
  }

  weightInit(name: string, dims: number[], type: number, bytes: Buffer): void {
    const t = new Message();
    for (const d of dims) t.varint(TENSOR.dims, d);
    t.varint(TENSOR.dataType, type).string(TENSOR.name, name).bytes(TENSOR.rawData, bytes);
    this.inits.push(t);
    this.weightBytes += bytes.length;
  }

  scalarInit(name: string, value: number, type: number): void {
    const t = new Message();
    t.varint(TENSOR.dataType, type).string(TENSOR.name, name).bytes(TENSOR.rawData, storeAs(Float32Array.from([value]), type));
    this.inits.push(t);
  }

  floatInput(name: string): void {
    // ValueInfoProto { name, type { tensor_type { elem_type 1, shape { dim { dim_value 1 } } } } }
    const shape = new Message().bytes(1, new Message().varint(1, 1));
    const tensorType = new Message().varint(1, 1).bytes(2, shape);
    this.inputs.push(new Message().string(1, name).bytes(2, new Message().bytes(1, tensorType)));
  }
}

function castAttr(to: number): Message {
  return new Message().string(ATTR.name, 'to').varint(ATTR.i, to).varint(ATTR.type, 2);
}

/** Re-encodes one node with one output renamed (attributes copied as encoded). */
function renamedNode(node: OnnxNode, from: string, to: string): Message {
  const n = new Message();
  for (const i of node.inputs) n.string(NODE.input, i);
  for (const o of node.outputs) n.string(NODE.output, o === from ? to : o);
  n.string(NODE.name, node.name).string(NODE.opType, node.opType);
  for (const a of node.attributes) n.bytes(NODE.attribute, a.encoded);
  if (node.domain) n.string(NODE.domain, node.domain);
  return n;
}

/**
 * Adds every LoRA's branches to `model` (a component's model.onnx bytes). Throws StudioError invalid_input
 * naming the layer when a LoRA's A/B do not fit the graph's weight; modules without a node are returned in
 * `unmatched` (the caller refuses a LoRA where nothing matched in any component).
 */
export function applyLoraPass(model: Buffer, loras: readonly LoraForPass[], options: LoraPassOptions = {}): LoraPassResult {
  const label = options.label ?? 'model.onnx';
  const graph = readOnnxGraphBuffer(model, label, { nodes: true });
  const index = new GraphIndex(graph);
  const e = new Emitter();
  const applied: AppliedLayer[] = [];
  const unmatched = new Map<number, string[]>();
  /** Original output tensor → the branch outputs to add to it. */
  const branches = new Map<string, { target: Target; adds: string[] }>();

  for (const lora of loras) {
    const strength = strengthInputName(lora.index);
    e.floatInput(strength);
    const missing: string[] = [];
    for (const layer of lora.layers) {
      const target = index.target(layer.module);
      if (typeof target === 'string') {
        missing.push(layer.module);
        continue;
      }
      const { chain } = target;
      if (layer.in !== chain.in || layer.out !== chain.out) {
        throw new StudioError(
          'invalid_input',
          `LoRA layer ${layer.key} (${layer.module}) does not fit this model: A/B are ${layer.in} → ${layer.out} (rank ${layer.rank}) but the graph's weight at ${target.node.name} is ${chain.in} → ${chain.out}`,
          { reason: 'shape-mismatch', layer: layer.key, module: layer.module },
        );
      }
      const p = `/lora_${lora.index}/${exportScope(layer.module)}`;
      const store = chain.storeType === 10 ? 10 : 1;
      const compute = chain.computeType === 10 ? 10 : 1;
      let up = layer.up;
      const isModulation = /(^|\.)norm_out\.linear$/u.test(layer.module) || (/\.norm1_context\.linear$/u.test(layer.module) && layer.out === 2 * layer.in);
      if (layer.sai && isModulation) up = swapHalves(up, layer.out, layer.rank);
      const aT = `${p}/A_T`;
      const bT = `${p}/B_T`;
      e.weightInit(aT, [layer.in, layer.rank], store, storeAs(transpose(layer.down, layer.rank, layer.in), store));
      e.weightInit(bT, [layer.rank, layer.out], store, storeAs(transpose(up, layer.out, layer.rank), store));
      let aIn = aT;
      let bIn = bT;
      if (store !== compute) {
        aIn = `${aT}_cast`;
        bIn = `${bT}_cast`;
        e.node(`${p}/Cast_A`, 'Cast', [aT], [aIn], [castAttr(compute)]);
        e.node(`${p}/Cast_B`, 'Cast', [bT], [bIn], [castAttr(compute)]);
      }
      // scale = strength · (α / r) · gain, one scalar per layer, in the compute type.
      const ratio = `${p}/alpha_over_rank`;
      e.scalarInit(ratio, (layer.alpha / layer.rank) * target.gain, 1);
      const scale32 = `${p}/scale`;
      e.node(`${p}/Mul_scale`, 'Mul', [strength, ratio], [scale32]);
      let scale = scale32;
      if (compute !== 1) {
        scale = `${p}/scale_cast`;
        e.node(`${p}/Cast_scale`, 'Cast', [scale32], [scale], [castAttr(compute)]);
      }
      const down = `${p}/down`;
      e.node(`${p}/MatMul_A`, 'MatMul', [target.x, aIn], [down]);
      const scaled = `${p}/scaled`;
      e.node(`${p}/Mul`, 'Mul', [down, scale], [scaled]);
      const delta = `${p}/delta`;
      e.node(`${p}/MatMul_B`, 'MatMul', [scaled, bIn], [delta]);
      const entry = branches.get(target.output) ?? { target, adds: [] };
      entry.adds.push(delta);
      branches.set(target.output, entry);
      applied.push({ lora: lora.index, module: layer.module, node: target.node.name });
    }
    unmatched.set(lora.index, missing);
  }

  // The producer of each branched tensor now writes `<tensor>/lora_base`; Adds give the tensor its old name back.
  const renames = new Map<OnnxNode, { from: string; to: string }>();
  for (const [output, { adds }] of branches) {
    const base = `${output}/lora_base`;
    const producer = index.producer.get(output) as OnnxNode;
    renames.set(producer, { from: output, to: base });
    let acc = base;
    adds.forEach((d, k) => {
      const out = k === adds.length - 1 ? output : `${output}/lora_sum_${k}`;
      e.node(`${output}/lora_Add_${k}`, 'Add', [acc, d], [out]);
      acc = out;
    });
  }

  const out = editGraph(model, {
    node(g, k) {
      const node = graph.nodes[k] as OnnxNode;
      const r = renames.get(node);
      if (!r) return false;
      g.bytes(GRAPH.node, renamedNode(node, r.from, r.to));
      return true;
    },
    end(g) {
      // The branch nodes follow the original ones; ONNX Runtime orders nodes topologically when it loads a graph.
      for (const n of e.nodes) g.bytes(GRAPH.node, n);
      for (const i of e.inits) g.bytes(GRAPH.initializer, i);
      for (const i of e.inputs) g.bytes(GRAPH.input, i);
    },
  });
  return { model: out, weightBytes: e.weightBytes, applied, unmatched };
}
