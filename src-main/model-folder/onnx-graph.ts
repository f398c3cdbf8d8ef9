// The one ONNX graph reader of the studio (import, verify, the pipeline, the op listing and the
// portability pass all use it). It walks model.onnx's protobuf without ONNX Runtime and without
// reading weight bytes: IR version, opset imports, declared inputs/outputs, value_info, initializers
// (with their external-data references) and nodes with their attributes. Every field must fit inside
// the file, so a truncated or junk graph is told apart from a good one.
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../src-shared/errors';
import { BufferSource, FileSource, WireError, fieldText, fields, signed, type Budget, type ByteSource, type Field } from './protobuf';

/** onnx TensorProto.DataType → the element type names ONNX Runtime uses ('float32', 'int64', …). */
export const ONNX_TYPES: Readonly<Record<number, string>> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  16: 'bfloat16',
};

export function onnxTypeNumber(type: string): number | undefined {
  const hit = Object.entries(ONNX_TYPES).find(([, name]) => name === type);
  return hit ? Number(hit[0]) : undefined;
}

/** One declared input or output: element type as ORT names it ('float32', 'int64', …). */
export interface TensorMeta {
  name: string;
  type: string;
  dims: (number | string)[];
}

export interface ComponentIo {
  inputs: TensorMeta[];
  outputs: TensorMeta[];
}

export interface OnnxAttribute {
  name: string;
  /** AttributeProto.AttributeType (1 float, 2 int, 3 string, 4 tensor, 5 graph, 6 floats, 7 ints, …). */
  type: number;
  f?: number;
  i?: number;
  s?: string;
  ints?: number[];
  floats?: number[];
  /** A tensor attribute's element type (Constant's value). */
  tensorType?: number;
  /** The AttributeProto as encoded in the file (a probe or a rewrite copies it unchanged). */
  encoded: Buffer;
  /**
   * A tensor attribute whose data lives in an external file, or a graph attribute (a subgraph may hold
   * such tensors): a probe never copies it (ORT would resolve the file against the probe's folder).
   */
  external?: boolean;
}

export interface OnnxNode {
  opType: string;
  /** '' is the default ONNX domain ('ai.onnx'). */
  domain: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes: OnnxAttribute[];
}

export interface OnnxInitializer {
  name: string;
  dataType: number;
  dims: number[];
}

export interface OnnxGraph extends ComponentIo {
  irVersion?: number;
  /** Opset imports: domain ('' = ai.onnx) → version. */
  opsets: Map<string, number>;
  valueInfo: TensorMeta[];
  initializers: OnnxInitializer[];
  nodes: OnnxNode[];
  /** External-data file (as written in the model, relative to its folder) → bytes the model needs. */
  externalData: Map<string, number>;
  /** Problems found while reading (an external tensor without a location). */
  problems: string[];
}

// ModelProto / GraphProto / NodeProto / AttributeProto / TensorProto field numbers (onnx.proto3).
/**
 * Bounds of a graph the studio reads (issue 18 §3; docs/architecture.md §5 says why these numbers): ORT's session
 * creation is roughly quadratic in nodes, and every distinct op costs a probe session. A real SD3.5 export is far
 * below each (the Large transformer about 20,000 nodes, under 150 distinct op/type combinations, 1–3 opset imports).
 */
export const GRAPH_LIMITS = {
  /** Nodes of the main graph (a derived graph too). */
  nodes: 60_000,
  /** Distinct (domain, op type, opset, element types): each is one probe session. */
  distinctOps: 500,
  /** opset_import entries. */
  opsetImports: 16,
} as const;

export const MODEL = { irVersion: 1, graph: 7, opsetImport: 8 } as const;
export const GRAPH = { node: 1, name: 2, initializer: 5, input: 11, output: 12, valueInfo: 13 } as const;
export const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 } as const;
export const ATTR = { name: 1, f: 2, i: 3, s: 4, t: 5, g: 6, floats: 7, ints: 8, tensors: 10, graphs: 11, type: 20 } as const;
export const TENSOR = { dims: 1, dataType: 2, name: 8, rawData: 9, externalData: 13, dataLocation: 14 } as const;

function packedOrSingle(src: ByteSource, f: Field, budget: Budget, out: number[], kind: 'varint' | 'float'): void {
  if (kind === 'varint') {
    if (f.wire === 0) out.push(signed(f.value));
    else if (f.wire === 2) {
      let pos = f.start;
      while (pos < f.next) {
        if (--budget.left < 0) throw new WireError('too many fields');
        let value = 0;
        let scale = 1;
        for (let i = 0; ; i++) {
          if (i >= 10) throw new WireError('a varint longer than 10 bytes');
          const b = src.byte(pos++);
          value += (b & 0x7f) * scale;
          scale *= 128;
          if ((b & 0x80) === 0) break;
        }
        out.push(signed(value));
      }
    }
  } else if (f.wire === 5) out.push(src.bytes(f.start, 4).readFloatLE(0));
  else if (f.wire === 2) {
    const b = src.bytes(f.start, f.value);
    for (let i = 0; i + 4 <= b.length; i += 4) out.push(b.readFloatLE(i));
  }
}

function readValueInfo(src: ByteSource, start: number, end: number, budget: Budget): TensorMeta {
  const meta: TensorMeta = { name: '', type: 'unknown', dims: [] };
  for (const f of fields(src, start, end, budget)) {
    if (f.field === 1) meta.name = fieldText(src, f);
    else if (f.field === 2 && f.wire === 2) {
      // TypeProto.tensor_type (1) → elem_type (1), shape (2) → dim (1) → dim_value (1) | dim_param (2)
      for (const t of fields(src, f.start, f.next, budget)) {
        if (t.field !== 1 || t.wire !== 2) continue;
        for (const e of fields(src, t.start, t.next, budget)) {
          if (e.field === 1 && e.wire === 0) meta.type = ONNX_TYPES[e.value] ?? `onnx-type-${e.value}`;
          else if (e.field === 2 && e.wire === 2) {
            for (const d of fields(src, e.start, e.next, budget)) {
              if (d.field !== 1 || d.wire !== 2) continue;
              let dim: number | string = '?';
              for (const v of fields(src, d.start, d.next, budget)) {
                if (v.field === 1 && v.wire === 0) dim = signed(v.value);
                else if (v.field === 2) dim = fieldText(src, v);
              }
              meta.dims.push(dim);
            }
          }
        }
      }
    }
  }
  return meta;
}

function readAttribute(src: ByteSource, f: Field, budget: Budget): OnnxAttribute {
  const attr: OnnxAttribute = { name: '', type: 0, encoded: Buffer.from(src.bytes(f.start, f.value)) };
  const ints: number[] = [];
  const floats: number[] = [];
  for (const a of fields(src, f.start, f.next, budget)) {
    if (a.field === ATTR.name) attr.name = fieldText(src, a);
    else if (a.field === ATTR.type && a.wire === 0) attr.type = a.value;
    else if (a.field === ATTR.f && a.wire === 5) attr.f = src.bytes(a.start, 4).readFloatLE(0);
    else if (a.field === ATTR.i && a.wire === 0) attr.i = signed(a.value);
    else if (a.field === ATTR.s && a.wire === 2) attr.s = fieldText(src, a);
    else if (a.field === ATTR.ints) packedOrSingle(src, a, budget, ints, 'varint');
    else if (a.field === ATTR.floats) packedOrSingle(src, a, budget, floats, 'float');
    else if ((a.field === ATTR.t || a.field === ATTR.tensors) && a.wire === 2) {
      for (const t of fields(src, a.start, a.next, budget)) {
        if (t.field === TENSOR.dataType && t.wire === 0 && a.field === ATTR.t) attr.tensorType = t.value;
        else if ((t.field === TENSOR.dataLocation && t.wire === 0 && t.value === 1) || t.field === TENSOR.externalData) attr.external = true;
      }
    } else if (a.field === ATTR.g || a.field === ATTR.graphs) attr.external = true;
  }
  if (ints.length > 0 || attr.type === 7) attr.ints = ints;
  if (floats.length > 0 || attr.type === 6) attr.floats = floats;
  return attr;
}

function readNode(src: ByteSource, f: Field, budget: Budget): OnnxNode {
  const node: OnnxNode = { opType: '', domain: '', name: '', inputs: [], outputs: [], attributes: [] };
  for (const n of fields(src, f.start, f.next, budget)) {
    if (n.field === NODE.input) node.inputs.push(fieldText(src, n));
    else if (n.field === NODE.output) node.outputs.push(fieldText(src, n));
    else if (n.field === NODE.name) node.name = fieldText(src, n);
    else if (n.field === NODE.opType) node.opType = fieldText(src, n);
    else if (n.field === NODE.domain) node.domain = fieldText(src, n);
    else if (n.field === NODE.attribute && n.wire === 2) node.attributes.push(readAttribute(src, n, budget));
  }
  if (node.domain === 'ai.onnx') node.domain = '';
  return node;
}

interface InitializerRead extends OnnxInitializer {
  external: boolean;
  location?: string;
  end: number;
}

function readInitializer(src: ByteSource, f: Field, budget: Budget): InitializerRead {
  const init: InitializerRead = { name: '', dataType: 0, dims: [], external: false, end: 0 };
  let offset = 0;
  let length = 0;
  for (const t of fields(src, f.start, f.next, budget)) {
    if (t.field === TENSOR.name) init.name = fieldText(src, t);
    else if (t.field === TENSOR.dataType && t.wire === 0) init.dataType = t.value;
    else if (t.field === TENSOR.dims) packedOrSingle(src, t, budget, init.dims, 'varint');
    else if (t.field === TENSOR.dataLocation && t.wire === 0) init.external = t.value === 1;
    else if (t.field === TENSOR.externalData && t.wire === 2 && t.value < 64 * 1024) {
      let key = '';
      let value = '';
      for (const kv of fields(src, t.start, t.next, budget)) {
        if (kv.wire !== 2 || kv.value > 16 * 1024) continue;
        if (kv.field === 1) key = fieldText(src, kv);
        else if (kv.field === 2) value = fieldText(src, kv);
      }
      if (key === 'location') init.location = value;
      else if (key === 'offset') offset = Number(value);
      else if (key === 'length') length = Number(value);
    }
  }
  const end = offset + length;
  init.end = Number.isFinite(end) && end > 0 ? end : 0;
  return init;
}

export interface ReadGraphOptions {
  /** Read the nodes and value_info too (the op listing and the rewrite need them; the folder check does not). */
  nodes?: boolean;
  /** How messages name the file (default: its base name). */
  label?: string;
}

/** Reads a graph from a byte source; throws WireError on a malformed file. */
export function readGraphFrom(src: ByteSource, label: string, options: ReadGraphOptions = {}): OnnxGraph {
  if (src.size < 8) throw new WireError(`${label} is ${src.size} bytes: too small to be an ONNX model`);
  if (src.byte(0) !== 0x08) throw new WireError(`${label} does not start like an ONNX model (no IR version first)`);
  const budget: Budget = { left: 50_000_000 };
  const graph: OnnxGraph = {
    opsets: new Map(),
    inputs: [],
    outputs: [],
    valueInfo: [],
    initializers: [],
    nodes: [],
    externalData: new Map(),
    problems: [],
  };
  let graphField: Field | undefined;
  for (const f of fields(src, 0, src.size, budget)) {
    if (f.field === MODEL.irVersion && f.wire === 0) graph.irVersion = f.value;
    else if (f.field === MODEL.graph && f.wire === 2) graphField = f;
    else if (f.field === MODEL.opsetImport && f.wire === 2) {
      if (graph.opsets.size >= GRAPH_LIMITS.opsetImports) {
        throw new WireError(`${label} imports more than ${GRAPH_LIMITS.opsetImports} operator sets (no SD3.5 export has nearly as many)`);
      }
      let domain = '';
      let version = 0;
      for (const o of fields(src, f.start, f.next, budget)) {
        if (o.field === 1) domain = fieldText(src, o);
        else if (o.field === 2 && o.wire === 0) version = o.value;
      }
      graph.opsets.set(domain === 'ai.onnx' ? '' : domain, version);
    }
  }
  if (graph.irVersion === undefined || graph.irVersion < 1 || graph.irVersion > 64) throw new WireError(`${label} has no valid ONNX IR version`);
  if (!graphField) throw new WireError(`${label} holds no graph`);
  const initializerNames = new Set<string>();
  let nodes = 0;
  for (const g of fields(src, graphField.start, graphField.next, budget)) {
    if (g.wire !== 2) continue;
    if (g.field === GRAPH.node && ++nodes > GRAPH_LIMITS.nodes) {
      throw new WireError(`${label} has more than ${GRAPH_LIMITS.nodes.toLocaleString('en-US')} nodes (no SD3.5 export has nearly as many)`);
    }
    if (g.field === GRAPH.initializer) {
      const init = readInitializer(src, g, budget);
      initializerNames.add(init.name);
      graph.initializers.push({ name: init.name, dataType: init.dataType, dims: init.dims });
      if (!init.external) continue;
      if (!init.location) {
        graph.problems.push(`${label} has an external tensor without a location`);
        continue;
      }
      graph.externalData.set(init.location, Math.max(graph.externalData.get(init.location) ?? 0, init.end));
    } else if (g.field === GRAPH.input) graph.inputs.push(readValueInfo(src, g.start, g.next, budget));
    else if (g.field === GRAPH.output) graph.outputs.push(readValueInfo(src, g.start, g.next, budget));
    else if (options.nodes && g.field === GRAPH.valueInfo) graph.valueInfo.push(readValueInfo(src, g.start, g.next, budget));
    else if (options.nodes && g.field === GRAPH.node) graph.nodes.push(readNode(src, g, budget));
  }
  // IR < 4 lists initializers among the inputs; they are not inputs the caller feeds.
  graph.inputs = graph.inputs.filter((i) => !initializerNames.has(i.name));
  return graph;
}

/** Reads model.onnx (weights skipped by seeking). Throws WireError on a malformed graph, the fs error otherwise. */
export function readOnnxGraph(file: string, options: ReadGraphOptions = {}): OnnxGraph {
  const fd = fs.openSync(file, 'r');
  try {
    return readGraphFrom(new FileSource(fd, fs.fstatSync(fd).size), options.label ?? path.basename(file), options);
  } finally {
    fs.closeSync(fd);
  }
}

/** The same, from bytes in memory (a graph fetched before the download). */
export function readOnnxGraphBuffer(buf: Buffer, label: string, options: ReadGraphOptions = {}): OnnxGraph {
  return readGraphFrom(new BufferSource(buf), label, options);
}

// ---------------------------------------------------------------------------------------------
// The external-data check (the one check for import, verify and the pipeline)

export interface ExternalDataProblem {
  kind: 'outside' | 'missing' | 'short';
  /** As written in the graph. */
  location: string;
  message: string;
}

/**
 * Every external-data file a graph names must be a plain relative path inside the graph's folder (no
 * `..`, not absolute — checked before anything is stat'ed) and hold at least the bytes the graph reads.
 */
export function checkExternalData(modelFile: string, externalData: ReadonlyMap<string, number>): ExternalDataProblem[] {
  const problems: ExternalDataProblem[] = [];
  const dir = path.dirname(modelFile);
  const base = path.basename(modelFile);
  for (const [location, needed] of externalData) {
    const parts = location.split(/[\\/]/);
    if (location === '' || path.isAbsolute(location) || path.win32.isAbsolute(location) || parts.includes('..') || location.includes('\0')) {
      problems.push({ kind: 'outside', location, message: `${base} points at external data outside its folder (${location})` });
      continue;
    }
    let size: number;
    try {
      size = fs.statSync(path.join(dir, ...parts)).size;
    } catch {
      problems.push({ kind: 'missing', location, message: `${location}, the external data of ${base}, is missing` });
      continue;
    }
    if (size < needed) {
      problems.push({
        kind: 'short',
        location,
        message: `${location} beside ${base} is ${size} bytes but the graph needs ${needed} (incomplete download?)`,
      });
    }
  }
  return problems;
}

/** readOnnxGraph for the pipeline and the CLI: a damaged file is a StudioError naming it. */
export async function readOnnxGraphInfo(file: string, options: ReadGraphOptions = {}): Promise<OnnxGraph> {
  try {
    return readOnnxGraph(file, options);
  } catch (err) {
    const why = err instanceof WireError ? err.message : (err as Error).message;
    throw new StudioError('invalid_input', `${file} is not a readable ONNX model (${why}). The file may be damaged; re-download the model.`, { file });
  }
}
