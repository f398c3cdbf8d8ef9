// A small ONNX ModelProto writer for test fixtures: graph building, initializers inline or as ONNX
// external data, encoded with protobufjs from the subset of onnx.proto3 written out below.
import fs from 'node:fs';
import protobuf from 'protobufjs';

export type ElemType = 'float32' | 'float16' | 'int32' | 'int64' | 'uint8';
export type Dim = number | string;

/** onnx TensorProto.DataType numbers. */
export const ONNX_DTYPE: Record<ElemType, number> = { float32: 1, int32: 6, int64: 7, float16: 10, uint8: 2 };

// The onnx.proto3 messages this writer needs (field numbers as in onnx/onnx.proto3).
const ONNX_DESCRIPTOR = {
  nested: {
    onnx: {
      nested: {
        StringStringEntryProto: { fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
        TensorShapeProto: {
          fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dim_value', 'dim_param'] } },
              fields: { dim_value: { type: 'int64', id: 1 }, dim_param: { type: 'string', id: 2 } },
            },
          },
        },
        TypeProto: {
          oneofs: { value: { oneof: ['tensor_type'] } },
          fields: { tensor_type: { type: 'Tensor', id: 1 } },
          nested: {
            Tensor: { fields: { elem_type: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } },
          },
        },
        ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            data_type: { type: 'int32', id: 2 },
            name: { type: 'string', id: 8 },
            raw_data: { type: 'bytes', id: 9 },
            external_data: { rule: 'repeated', type: 'StringStringEntryProto', id: 13 },
            data_location: { type: 'int32', id: 14 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            t: { type: 'TensorProto', id: 5 },
            floats: { rule: 'repeated', type: 'float', id: 7 },
            ints: { rule: 'repeated', type: 'int64', id: 8 },
            type: { type: 'int32', id: 20 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            op_type: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
            domain: { type: 'string', id: 7 },
          },
        },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            doc_string: { type: 'string', id: 10 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        ModelProto: {
          fields: {
            ir_version: { type: 'int64', id: 1 },
            producer_name: { type: 'string', id: 2 },
            producer_version: { type: 'string', id: 3 },
            doc_string: { type: 'string', id: 6 },
            graph: { type: 'GraphProto', id: 7 },
            opset_import: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
          },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(ONNX_DESCRIPTOR);
const ModelProto = root.lookupType('onnx.ModelProto');

/** Attribute values, tagged so that 1 (int) and 1.0 (float) are not confused. */
export type Attr =
  | { f: number }
  | { i: number }
  | { ints: number[] }
  | { floats: number[] }
  | { s: string }
  | { t: TensorData };

/** AttributeProto.AttributeType numbers. */
const ATTR_TYPE = { f: 1, i: 2, s: 3, t: 4, floats: 6, ints: 7 } as const;

export type TypedData = Float32Array | Uint16Array | Int32Array | BigInt64Array | Uint8Array;

export interface TensorData {
  type: ElemType;
  dims: number[];
  data: TypedData;
}

interface PlainTensor {
  name: string;
  dims: number[];
  data_type: number;
  raw_data?: Uint8Array;
  external_data?: { key: string; value: string }[];
  data_location?: number;
}

interface PlainNode {
  input: string[];
  output: string[];
  name: string;
  op_type: string;
  attribute: Record<string, unknown>[];
  domain?: string;
}

interface PlainValueInfo {
  name: string;
  type: { tensor_type: { elem_type: number; shape: { dim: ({ dim_value: number } | { dim_param: string })[] } } };
}

function bytesOf(data: TypedData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/**
 * Appends tensor bytes to one external-data file (opened on creation, written synchronously so a
 * tensor's bytes are never held twice). Offsets are aligned (4096 for large tensors, so ORT may mmap).
 */
export class ExternalDataWriter {
  private fd: number;
  private offset = 0;

  constructor(
    filePath: string,
    readonly location: string,
  ) {
    this.fd = fs.openSync(filePath, 'w');
  }

  private align(byteLength: number): void {
    const alignment = byteLength >= 1 << 20 ? 4096 : 64;
    const pad = (alignment - (this.offset % alignment)) % alignment;
    if (pad > 0) {
      fs.writeSync(this.fd, new Uint8Array(pad), 0, pad, this.offset);
      this.offset += pad;
    }
  }

  append(bytes: Uint8Array): { offset: number; length: number } {
    this.align(bytes.byteLength);
    const at = this.offset;
    let done = 0;
    while (done < bytes.byteLength) {
      done += fs.writeSync(this.fd, bytes, done, bytes.byteLength - done, at + done);
    }
    this.offset += bytes.byteLength;
    return { offset: at, length: bytes.byteLength };
  }

  /** Streams `elements` float32 values produced chunk by chunk by `fill(chunk, firstIndex)`. */
  appendGeneratedFloat32(
    elements: number,
    fill: (chunk: Float32Array, firstIndex: number) => void,
  ): { offset: number; length: number } {
    const length = elements * 4;
    this.align(length);
    const at = this.offset;
    const chunk = new Float32Array(Math.min(elements, 1 << 18));
    for (let first = 0; first < elements; first += chunk.length) {
      const n = Math.min(chunk.length, elements - first);
      const view = chunk.subarray(0, n);
      fill(view, first);
      const bytes = bytesOf(view);
      let done = 0;
      while (done < bytes.byteLength) {
        done += fs.writeSync(this.fd, bytes, done, bytes.byteLength - done, this.offset + done);
      }
      this.offset += bytes.byteLength;
    }
    return { offset: at, length };
  }

  /** Streams `elements` float16 values (bit patterns) produced chunk by chunk by `fill(chunk, firstIndex)`. */
  appendGeneratedFloat16(elements: number, fill: (chunk: Uint16Array, firstIndex: number) => void): { offset: number; length: number } {
    const length = elements * 2;
    this.align(length);
    const at = this.offset;
    const chunk = new Uint16Array(Math.min(elements, 1 << 20));
    for (let first = 0; first < elements; first += chunk.length) {
      const view = chunk.subarray(0, Math.min(chunk.length, elements - first));
      fill(view, first);
      const bytes = bytesOf(view);
      let done = 0;
      while (done < bytes.byteLength) done += fs.writeSync(this.fd, bytes, done, bytes.byteLength - done, this.offset + done);
      this.offset += bytes.byteLength;
    }
    return { offset: at, length };
  }

  get size(): number {
    return this.offset;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Builds one ONNX graph: inputs, outputs, nodes (auto-named outputs) and initializers. */
export class GraphBuilder {
  private readonly nodes: PlainNode[] = [];
  private readonly initializers: PlainTensor[] = [];
  private readonly inputs: PlainValueInfo[] = [];
  private readonly outputs: PlainValueInfo[] = [];
  private counter = 0;

  /**
   * @param external where initializers of at least `externalThreshold` bytes go (ONNX external data);
   *   smaller ones (and all of them when `external` is undefined) are stored inline.
   */
  constructor(
    readonly name: string,
    private readonly external?: ExternalDataWriter,
    private readonly externalThreshold = 1024,
  ) {}

  private valueInfo(name: string, type: ElemType, dims: readonly Dim[]): PlainValueInfo {
    return {
      name,
      type: {
        tensor_type: {
          elem_type: ONNX_DTYPE[type],
          shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
        },
      },
    };
  }

  input(name: string, type: ElemType, dims: readonly Dim[]): string {
    this.inputs.push(this.valueInfo(name, type, dims));
    return name;
  }

  output(name: string, type: ElemType, dims: readonly Dim[]): void {
    this.outputs.push(this.valueInfo(name, type, dims));
  }

  fresh(prefix: string): string {
    this.counter += 1;
    return `${prefix}_${this.counter}`;
  }

  /** Adds a node; returns its output names (auto-named unless given). */
  node(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, outputs: number | string[] = 1): string[] {
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(opType)) : outputs;
    const attribute = Object.entries(attrs).map(([name, value]) => {
      if ('t' in value) return { name, type: ATTR_TYPE.t, t: this.tensorProto(this.fresh('attr'), value.t, false) };
      if ('s' in value) return { name, type: ATTR_TYPE.s, s: new TextEncoder().encode(value.s) };
      const key = Object.keys(value)[0] as 'f' | 'i' | 'ints' | 'floats';
      return { name, type: ATTR_TYPE[key], ...value };
    });
    this.nodes.push({ input: inputs, output: outs, name: this.fresh(`n_${opType}`), op_type: opType, attribute });
    return outs;
  }

  /** A node of ONNX Runtime's contrib domain (com.microsoft), as the transformer optimizers write them. */
  contrib(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, outputs: number | string[] = 1): string[] {
    const outs = this.node(opType, inputs, attrs, outputs);
    (this.nodes[this.nodes.length - 1] as PlainNode).domain = 'com.microsoft';
    return outs;
  }

  /** Whether any node is in the com.microsoft domain (encodeModel imports it then). */
  get usesContrib(): boolean {
    return this.nodes.some((n) => n.domain === 'com.microsoft');
  }

  /**
   * A one-output node with the name a real export gives it (`/transformer_blocks.0/attn/to_q/MatMul`);
   * the output is named `<name>_output_0` as torch.onnx names it.
   */
  named(name: string, opType: string, inputs: string[], attrs: Record<string, Attr> = {}): string {
    const out = `${name}_output_0`;
    this.node(opType, inputs, attrs, [out]);
    (this.nodes[this.nodes.length - 1] as PlainNode).name = name;
    return out;
  }

  /** One-output node. */
  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, output?: string): string {
    return this.node(opType, inputs, attrs, output === undefined ? 1 : [output])[0] as string;
  }

  private tensorProto(name: string, t: TensorData, allowExternal: boolean): PlainTensor {
    if (elementCount(t.dims) !== t.data.length) {
      throw new Error(`tensor ${name}: ${t.data.length} values for dims [${t.dims.join(',')}]`);
    }
    const bytes = bytesOf(t.data);
    const base = { name, dims: t.dims, data_type: ONNX_DTYPE[t.type] };
    if (allowExternal && this.external && bytes.byteLength >= this.externalThreshold) {
      const { offset, length } = this.external.append(bytes);
      return this.externalProto(base, offset, length);
    }
    // Copy: the caller may reuse its buffer.
    return { ...base, raw_data: bytes.slice() };
  }

  private externalProto(
    base: { name: string; dims: number[]; data_type: number },
    offset: number,
    length: number,
  ): PlainTensor {
    if (!this.external) throw new Error('no external data writer');
    return {
      ...base,
      data_location: 1,
      external_data: [
        { key: 'location', value: this.external.location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(length) },
      ],
    };
  }

  /** A weight/constant initializer; returns its name. */
  init(name: string, t: TensorData): string {
    this.initializers.push(this.tensorProto(name, t, true));
    return name;
  }

  /** A float32 initializer whose values are streamed straight into the external-data file. */
  initStreamed(name: string, dims: number[], fill: (chunk: Float32Array, firstIndex: number) => void): string {
    if (!this.external) throw new Error('streamed initializers need external data');
    const { offset, length } = this.external.appendGeneratedFloat32(elementCount(dims), fill);
    this.initializers.push(this.externalProto({ name, dims, data_type: ONNX_DTYPE.float32 }, offset, length));
    return name;
  }

  /** A float16 initializer whose values (bit patterns) are streamed straight into the external-data file. */
  initStreamedFloat16(name: string, dims: number[], fill: (chunk: Uint16Array, firstIndex: number) => void): string {
    if (!this.external) throw new Error('streamed initializers need external data');
    const { offset, length } = this.external.appendGeneratedFloat16(elementCount(dims), fill);
    this.initializers.push(this.externalProto({ name, dims, data_type: ONNX_DTYPE.float16 }, offset, length));
    return name;
  }

  /** Small constants, stored inline. */
  f32(values: number[], dims: number[] = [values.length]): string {
    return this.init(this.fresh('c'), { type: 'float32', dims, data: Float32Array.from(values) });
  }

  i64(values: number[], dims: number[] = [values.length]): string {
    return this.init(this.fresh('c'), { type: 'int64', dims, data: BigInt64Array.from(values.map((v) => BigInt(v))) });
  }

  i32(values: number[], dims: number[] = [values.length]): string {
    return this.init(this.fresh('c'), { type: 'int32', dims, data: Int32Array.from(values) });
  }

  toPlain(): Record<string, unknown> {
    return {
      name: this.name,
      node: this.nodes,
      initializer: this.initializers,
      input: this.inputs,
      output: this.outputs,
    };
  }
}

export interface EncodeOptions {
  opset?: number;
  irVersion?: number;
  producer?: string;
  docString?: string;
}

/** Serialises the graph as an ONNX ModelProto. */
export function encodeModel(graph: GraphBuilder, options: EncodeOptions = {}): Uint8Array {
  const model = ModelProto.fromObject({
    ir_version: options.irVersion ?? 8,
    producer_name: options.producer ?? 'sd35-studio tiny-model',
    producer_version: '1',
    doc_string: options.docString ?? '',
    opset_import: [{ domain: '', version: options.opset ?? 17 }, ...(graph.usesContrib ? [{ domain: 'com.microsoft', version: 1 }] : [])],
    graph: graph.toPlain(),
  });
  return ModelProto.encode(model).finish();
}

