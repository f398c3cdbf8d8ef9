// The operators of a graph: every distinct (domain, op type, opset) with the element types it is used
// with, read from model.onnx alone (never the external data) by the one graph reader. Element types come
// from the declared inputs, initializers and value_info, and are carried through the nodes by the rule of
// thumb every ONNX op family follows (outputs take the first typed input's type unless the op says
// otherwise: Cast's `to`, Shape → int64, comparisons → bool, …).
import { StudioError } from '../../src-shared/errors';
import { GRAPH_LIMITS, ONNX_TYPES, type OnnxGraph, type OnnxNode } from './onnx-graph';

export interface GraphOp {
  /** '' for the default ONNX domain; 'com.microsoft' for ONNX Runtime's contrib operators. */
  domain: string;
  opType: string;
  /** The opset the graph imports for that domain. */
  opset: number;
  /** Element type of each input ('' for an absent optional input, 'unknown' when it cannot be told). */
  inputTypes: string[];
  outputTypes: string[];
  /** How many nodes use it with these types. */
  count: number;
  /** One node of the graph with these types: its attributes are what a probe copies. */
  example: OnnxNode;
}

export function domainLabel(domain: string): string {
  return domain === '' ? 'ai.onnx' : domain;
}

/** 'com.microsoft.GroupNorm(1) float16' — how messages and the CLI name an op. */
export function opLabel(op: Pick<GraphOp, 'domain' | 'opType' | 'opset'>): string {
  return `${domainLabel(op.domain)}.${op.opType}(${op.opset})`;
}

export function opKey(op: Pick<GraphOp, 'domain' | 'opType' | 'opset' | 'inputTypes'>): string {
  return `${domainLabel(op.domain)}.${op.opType}(${op.opset})[${op.inputTypes.join(',')}]`;
}

const INT64_OUT = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin', 'NonMaxSuppression']);
const BOOL_OUT = new Set(['Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'Not', 'IsNaN', 'IsInf']);
/** Ops whose output type is not the first input's (Where: condition first; DequantizeLinear: the scale's type). */
const DATA_INPUT: Record<string, number> = { Where: 1, DequantizeLinear: 1 };

function attr(node: OnnxNode, name: string) {
  return node.attributes.find((a) => a.name === name);
}

function outputTypesOf(node: OnnxNode, inputTypes: string[]): string[] {
  const first = inputTypes[DATA_INPUT[node.opType] ?? 0] ?? inputTypes.find((t) => t && t !== 'unknown') ?? 'unknown';
  const fixed = (t: string) => node.outputs.map(() => t);
  if (node.domain === '' || node.domain === 'ai.onnx') {
    if (node.opType === 'Cast') {
      const to = attr(node, 'to')?.i;
      return fixed(to !== undefined ? (ONNX_TYPES[to] ?? 'unknown') : 'unknown');
    }
    if (node.opType === 'CastLike') return fixed(inputTypes[1] ?? 'unknown');
    if (INT64_OUT.has(node.opType)) return fixed('int64');
    if (BOOL_OUT.has(node.opType)) return fixed('bool');
    if (node.opType === 'Constant') {
      const t = node.attributes.find((a) => a.name === 'value')?.tensorType;
      if (t !== undefined) return fixed(ONNX_TYPES[t] ?? 'unknown');
      if (attr(node, 'value_float') || attr(node, 'value_floats')) return fixed('float32');
      if (attr(node, 'value_int') || attr(node, 'value_ints')) return fixed('int64');
      return fixed('unknown');
    }
    if (node.opType === 'ConstantOfShape') {
      const t = attr(node, 'value')?.tensorType;
      return fixed(t !== undefined ? (ONNX_TYPES[t] ?? 'unknown') : 'float32');
    }
    if (node.opType === 'TopK' || node.opType === 'MaxPool') return node.outputs.map((_, i) => (i === 0 ? first : 'int64'));
    if (node.opType === 'Dropout') return node.outputs.map((_, i) => (i === 0 ? first : 'bool'));
  }
  if (node.opType === 'LayerNormalization' || node.opType === 'SkipLayerNormalization' || node.opType === 'SimplifiedLayerNormalization') {
    // Mean / inverse std outputs are float32 for fp16 inputs (stash_type 1).
    return node.outputs.map((_, i) => (i === 0 || (node.opType === 'SkipLayerNormalization' && i === 3) ? first : 'float32'));
  }
  return fixed(first);
}

/** Element type of every named value the graph declares or the nodes produce. */
export function valueTypes(graph: OnnxGraph): Map<string, string> {
  const types = new Map<string, string>();
  for (const i of graph.initializers) types.set(i.name, ONNX_TYPES[i.dataType] ?? 'unknown');
  for (const v of [...graph.inputs, ...graph.valueInfo, ...graph.outputs]) if (v.type !== 'unknown') types.set(v.name, v.type);
  for (const node of graph.nodes) {
    const inputTypes = node.inputs.map((n) => (n === '' ? '' : (types.get(n) ?? 'unknown')));
    const outs = outputTypesOf(node, inputTypes);
    node.outputs.forEach((o, k) => {
      if (o !== '' && !types.has(o)) types.set(o, outs[k] ?? 'unknown');
    });
  }
  return types;
}

/**
 * Every distinct (domain, op type, opset, element types) of a graph read with `{ nodes: true }`; more than
 * GRAPH_LIMITS.distinctOps is refused (StudioError invalid_input): each would cost a probe session.
 */
export function listOps(graph: OnnxGraph): GraphOp[] {
  const types = valueTypes(graph);
  const ops = new Map<string, GraphOp>();
  for (const node of graph.nodes) {
    const domain = node.domain === 'ai.onnx' ? '' : node.domain;
    const opset = graph.opsets.get(domain) ?? (domain === 'com.microsoft' ? 1 : 0);
    const inputTypes = node.inputs.map((n) => (n === '' ? '' : (types.get(n) ?? 'unknown')));
    const outputTypes = node.outputs.map((n) => (n === '' ? '' : (types.get(n) ?? 'unknown')));
    const op: GraphOp = { domain, opType: node.opType, opset, inputTypes, outputTypes, count: 1, example: node };
    const key = opKey(op);
    const seen = ops.get(key);
    if (seen) seen.count += 1;
    else if (ops.size >= GRAPH_LIMITS.distinctOps) {
      throw new StudioError('invalid_input', `The graph uses more than ${GRAPH_LIMITS.distinctOps} distinct operators (no SD3.5 export has nearly as many); it is not checked or loaded.`);
    } else ops.set(key, op);
  }
  return [...ops.values()].sort((a, b) => opKey(a).localeCompare(opKey(b)));
}
