// The Skip-Layer-Guidance switch pass (docs/architecture.md §5): the transformer graph gains one input,
// `skip_layers` (bool [number of joint blocks]), and each joint block's outputs become
// Where(skip_layers[i], the block's inputs, the block's outputs) — so one session runs the normal pass (all false)
// and diffusers' skip-layer pass (the listed blocks true), whose bypassed blocks return their inputs unchanged as
// diffusers' `skip_layers` does (the block's nodes still run; their result is dropped). A pure function over the
// graph's bytes: every field of the model is copied byte for byte except the producers of the block outputs (one
// output renamed) and the added input and nodes, so initializers keep their external-data locations and the
// weights are never read, copied or changed. The derived graph goes to the studio's derived-graphs folder
// (derived-graphs.ts), never the model folder.
//
// Finding the blocks, on names as diffusers' exports write them (`/transformer_blocks.7/attn/to_q/MatMul`):
//  - every node is given a stage: −1 before the blocks, i for `/transformer_blocks.i/…`, N after them
//    (`/norm_out/…`, `/proj_out/…`); a node without such a name takes the latest stage among the nodes that feed
//    it (the residual Adds of exports that leave them unnamed, weight casts take −1);
//  - stage s's chained inputs are the data-dependent tensors (those that depend on a graph input) its nodes read
//    from earlier stages and that no other stage reads (the timestep embedding and shape values feed every
//    block, so they are not chained); block i's outputs are stage i+1's chained inputs that block i produced;
//  - each output is paired with the input it continues by walking back through the block's residual
//    Add/Identity/Cast nodes (hidden_states = hidden_states + gate·attn …), first operand first.
// A graph where this finds no blocks, or a block output without a residual path, is not offered SLG (the reason
// says which).
import path from 'node:path';
import { StudioError } from '../../src-shared/errors';
import type { ModelLayout } from '../../src-shared/generation';
import type { SkipLayerSupport } from '../../src-shared/schemas/models';
import { componentDir, resolveComponentDir } from './layouts';
import { GRAPH, NODE, readOnnxGraph, readOnnxGraphBuffer, type OnnxGraph } from './onnx-graph';
import { BufferSource, Message, fields } from './protobuf';
import { editGraph } from './graph-edit';

/** The pass name of derived-graphs.ts (`slg-<hash>.onnx`). */
export const SLG_PASS = 'slg';
/** The switch input: bool [blocks], true = bypass that joint block. */
export const SLG_INPUT = 'skip_layers';

export interface BlockPair {
  /** The block's output tensor (in the original graph). */
  output: string;
  /** The block input it continues (what the output becomes when the block is bypassed). */
  input: string;
}

export type JointBlocks = { ok: true; count: number; pairs: BlockPair[][] } | { ok: false; reason: string };

// A LoRA'd graph (lora/lora-pass.ts) names a branch after the layer it is beside: `/lora_0/transformer_blocks.7/…`.
const BLOCK_NAME = /^\/?(?:lora_\d+\/)?transformer_blocks\.(\d+)\//;
const AFTER_NAME = /^\/?(norm_out|proj_out)\//;
const PASS_THROUGH = new Set(['Add', 'Identity', 'Cast']);

/** THE text of "SLG cannot run on this model" (the models list, the form and the worker's refusal say the same). */
export function slgUnavailableText(reason: string): string {
  return `Skip-Layer Guidance is not available for this model: ${reason}.`;
}

/**
 * Whether SLG can run on an installed model folder: the joint blocks of its transformer graph (read without the
 * weights), or the reason it cannot.
 */
export function skipLayerSupport(folder: string, layout: ModelLayout): SkipLayerSupport {
  const dir = resolveComponentDir(folder, componentDir(layout, 'transformer'));
  if ('problem' in dir) return { available: false, reason: slgUnavailableText(dir.problem) };
  try {
    const found = findJointBlocks(readOnnxGraph(path.join(dir.real, 'model.onnx'), { nodes: true }));
    return found.ok ? { available: true, blocks: found.count } : { available: false, reason: slgUnavailableText(found.reason) };
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    return { available: false, reason: slgUnavailableText(`its transformer graph cannot be read (${text.slice(0, 300)})`) };
  }
}

/** Finds the joint blocks of a transformer graph read with nodes (see the file comment). */
export function findJointBlocks(graph: OnnxGraph): JointBlocks {
  const blockIds = new Set<number>();
  for (const n of graph.nodes) {
    const m = BLOCK_NAME.exec(n.name);
    if (m) blockIds.add(Number(m[1]));
  }
  if (blockIds.size === 0) {
    return { ok: false, reason: 'its transformer graph has no nodes named /transformer_blocks.N/… (as diffusers exports name them), so the blocks to skip cannot be found' };
  }
  const count = Math.max(...blockIds) + 1;
  if (blockIds.size !== count) return { ok: false, reason: `its transformer graph names blocks up to ${count - 1} but not all of them` };
  if (graph.inputs.some((i) => i.name === SLG_INPUT)) return { ok: false, reason: `its transformer graph already has an input named ${SLG_INPUT}` };

  const initializers = new Set(graph.initializers.map((i) => i.name));
  const producer = new Map<string, number>();
  graph.nodes.forEach((n, k) => n.outputs.forEach((o) => o && producer.set(o, k)));
  // Data-dependent tensors, in topological order (a pass may append nodes after their readers: the LoRA pass does,
  // and ONNX Runtime sorts the graph itself).
  const dependent = new Set(graph.inputs.map((i) => i.name).filter((n) => !initializers.has(n)));
  const stage: number[] = [];
  topologicalOrder(graph, producer).forEach((k) => {
    const n = graph.nodes[k]!;
    if (n.inputs.some((i) => dependent.has(i))) n.outputs.forEach((o) => dependent.add(o));
    const m = BLOCK_NAME.exec(n.name);
    if (m) stage[k] = Number(m[1]);
    else if (AFTER_NAME.test(n.name)) stage[k] = count;
    else if (n.name.startsWith('/') && !n.name.startsWith('/transformer_blocks')) stage[k] = -1;
    else stage[k] = Math.max(-1, ...n.inputs.map((i) => (producer.has(i) ? stage[producer.get(i)!]! : -1)));
  });
  const stageOf = (t: string): number => (producer.has(t) ? stage[producer.get(t)!]! : -1);

  // Tensors each stage reads from earlier stages.
  const reads = new Map<number, Set<string>>();
  const readers = new Map<string, Set<number>>();
  graph.nodes.forEach((n, k) => {
    const s = stage[k]!;
    if (s < 0) return;
    for (const t of n.inputs) {
      if (!t || !dependent.has(t) || stageOf(t) >= s) continue;
      let set = reads.get(s);
      if (!set) reads.set(s, (set = new Set()));
      set.add(t);
      let who = readers.get(t);
      if (!who) readers.set(t, (who = new Set()));
      who.add(s);
    }
  });
  const chained = (s: number): string[] => [...(reads.get(s) ?? [])].filter((t) => readers.get(t)!.size === 1);

  const pairs: BlockPair[][] = [];
  for (let i = 0; i < count; i++) {
    const inputs = new Set(chained(i));
    const outputs = chained(i + 1).filter((t) => stageOf(t) === i);
    if (outputs.length === 0) return { ok: false, reason: `transformer block ${i}'s outputs cannot be told apart from the rest of the graph` };
    const blockPairs: BlockPair[] = [];
    for (const output of outputs) {
      const input = residualSource(graph, output, inputs, producer, (k) => stage[k] === i);
      if (input === undefined) return { ok: false, reason: `transformer block ${i}'s output ${output} has no residual path back to the block's input` };
      blockPairs.push({ output, input });
    }
    pairs.push(blockPairs);
  }
  return { ok: true, count, pairs };
}

/** Node indices with every node after the producers of its inputs (Kahn's algorithm; list order among equals). */
function topologicalOrder(graph: OnnxGraph, producer: ReadonlyMap<string, number>): number[] {
  const waiting = graph.nodes.map((n) => new Set(n.inputs.filter((i) => i && producer.has(i)).map((i) => producer.get(i)!)).size);
  const readers = new Map<number, number[]>();
  graph.nodes.forEach((n, k) => {
    for (const p of new Set(n.inputs.filter((i) => i && producer.has(i)).map((i) => producer.get(i)!))) {
      const list = readers.get(p) ?? [];
      list.push(k);
      readers.set(p, list);
    }
  });
  const order: number[] = [];
  const ready = graph.nodes.flatMap((_, k) => (waiting[k] === 0 ? [k] : []));
  for (let at = 0; at < ready.length; at++) {
    const k = ready[at]!;
    order.push(k);
    for (const r of readers.get(k) ?? []) if (--waiting[r]! === 0) ready.push(r);
  }
  // A cycle (not a valid graph): the rest in list order, so the search still ends.
  if (order.length < graph.nodes.length) {
    const seen = new Set(order);
    graph.nodes.forEach((_, k) => seen.has(k) || order.push(k));
  }
  return order;
}

/** Walks back from `t` through the block's Add/Identity/Cast nodes (first operand first) to one of `inputs`. */
function residualSource(graph: OnnxGraph, t: string, inputs: ReadonlySet<string>, producer: ReadonlyMap<string, number>, inBlock: (k: number) => boolean): string | undefined {
  const seen = new Set<string>();
  const stack = [t];
  while (stack.length) {
    const cur = stack.pop()!;
    if (inputs.has(cur)) return cur;
    if (seen.has(cur)) continue;
    seen.add(cur);
    const k = producer.get(cur);
    if (k === undefined || !inBlock(k)) continue;
    const node = graph.nodes[k]!;
    if (!PASS_THROUGH.has(node.opType) || node.domain !== '') continue;
    for (let j = node.inputs.length - 1; j >= 0; j--) if (node.inputs[j]) stack.push(node.inputs[j]!);
  }
  return undefined;
}

function int64Scalar(name: string, value: number): Message {
  const raw = Buffer.alloc(8);
  raw.writeBigInt64LE(BigInt(value));
  // TensorProto: data_type 7 (int64), name, raw_data; no dims = a scalar.
  return new Message().varint(2, 7).string(8, name).bytes(9, raw);
}

function node(opType: string, inputs: string[], outputs: string[], name: string): Message {
  const n = new Message();
  for (const i of inputs) n.string(NODE.input, i);
  for (const o of outputs) n.string(NODE.output, o);
  return n.string(NODE.name, name).string(NODE.opType, opType);
}

/** ValueInfoProto of the switch input: bool [count]. */
function switchInput(count: number): Message {
  const dim = new Message().varint(1, count);
  const shape = new Message().bytes(1, dim);
  const tensor = new Message().varint(1, 9).bytes(2, shape);
  const type = new Message().bytes(1, tensor);
  return new Message().string(1, SLG_INPUT).bytes(2, type);
}

/** A NodeProto's bytes with output `from` renamed to `to`; every other field as it was. */
function renameOutput(src: BufferSource, buf: Buffer, start: number, end: number, from: string, to: string): Message {
  const m = new Message();
  for (const f of fields(src, start, end)) {
    if (f.field === NODE.output && f.wire === 2 && buf.toString('utf8', f.start, f.next) === from) m.string(NODE.output, to);
    else m.raw(buf.subarray(f.tagStart, f.next));
  }
  return m;
}

export interface SlgSwitchGraph {
  bytes: Buffer;
  blocks: number;
}

/** The model with the switch (see the file comment); StudioError unavailable when the blocks cannot be found. */
export function slgSwitchModel(model: Buffer, label = 'model.onnx'): SlgSwitchGraph {
  const graph = readOnnxGraphBuffer(model, label, { nodes: true });
  const found = findJointBlocks(graph);
  if (!found.ok) throw new StudioError('unavailable', slgUnavailableText(found.reason));
  // The producer node of each block output → (its block, the renamed output, the input it falls back to).
  const byProducer = new Map<number, { block: number; output: string; input: string }[]>();
  const producer = new Map<string, number>();
  graph.nodes.forEach((n, k) => n.outputs.forEach((o) => o && producer.set(o, k)));
  found.pairs.forEach((pairs, block) => {
    for (const p of pairs) {
      const k = producer.get(p.output)!;
      const list = byProducer.get(k) ?? [];
      list.push({ block, ...p });
      byProducer.set(k, list);
    }
  });

  const src = new BufferSource(model);
  let switches = 0;
  let inputsDone = false;
  const bytes = editGraph(model, {
    beforeField(g, gf) {
      if (gf.field === GRAPH.input && !inputsDone) {
        // The switch input goes first among the inputs (their order does not matter to ORT).
        g.bytes(GRAPH.input, switchInput(found.count));
        inputsDone = true;
      }
    },
    node(g, k, gf) {
      const switched = byProducer.get(k);
      if (!switched) return false;
      if (switched.length > 1) {
        // One producer, several switched outputs (not seen in diffusers exports): refuse rather than guess.
        throw new StudioError('unavailable', slgUnavailableText('one node produces several block outputs'));
      }
      for (const s of switched) {
        const before = `${s.output}/slg_block_output`;
        g.bytes(GRAPH.node, renameOutput(src, model, gf.start, gf.next, s.output, before));
        const at = `/slg/transformer_blocks.${s.block}/${switches++}`;
        const index = `${at}/index`;
        const flag = `${at}/skip`;
        g.bytes(GRAPH.node, node('Constant', [], [index], `${index}/Constant`).bytes(NODE.attribute, new Message().string(1, 'value').bytes(5, int64Scalar(index, s.block)).varint(20, 4)));
        g.bytes(GRAPH.node, node('Gather', [SLG_INPUT, index], [flag], `${flag}/Gather`));
        g.bytes(GRAPH.node, node('Where', [flag, s.input, before], [s.output], `${at}/Where`));
      }
      return true;
    },
    end(g) {
      if (!inputsDone) g.bytes(GRAPH.input, switchInput(found.count));
    },
  });
  return { bytes, blocks: found.count };
}
