// A structural check of an ONNX file without ONNX Runtime: walk the protobuf wire format of the
// ModelProto (every top-level field must fit inside the file), require an IR version and a graph,
// and collect the external-data files its initializers point at (TensorProto.external_data), so a
// folder can be checked for truncated graphs and missing or short `model.onnx.data` files.
import fs from 'node:fs';
import path from 'node:path';

export interface ExternalDataRef {
  /** Relative location as written in the graph. */
  location: string;
  /** Bytes the file must hold: max(offset + length) over the tensors that use it. */
  bytesNeeded: number;
}

export interface OnnxCheck {
  ok: boolean;
  irVersion?: number;
  problems: string[];
  externalData: ExternalDataRef[];
}

const BLOCK = 64 * 1024;
const MAX_FIELDS = 5_000_000;

class BlockReader {
  private blockStart = -1;
  private block = Buffer.alloc(0);

  constructor(
    private readonly fh: fs.promises.FileHandle,
    readonly size: number,
  ) {}

  private async load(pos: number): Promise<void> {
    const start = pos;
    const length = Math.min(BLOCK, this.size - start);
    const buf = Buffer.alloc(Math.max(0, length));
    if (length > 0) await this.fh.read(buf, 0, length, start);
    this.block = buf;
    this.blockStart = start;
  }

  async byte(pos: number): Promise<number> {
    if (pos < 0 || pos >= this.size) throw new WireError('unexpected end of file');
    if (pos < this.blockStart || pos >= this.blockStart + this.block.length) await this.load(pos);
    return this.block[pos - this.blockStart]!;
  }

  async bytes(pos: number, length: number): Promise<Buffer> {
    if (pos + length > this.size) throw new WireError('unexpected end of file');
    const buf = Buffer.alloc(length);
    if (length > 0) await this.fh.read(buf, 0, length, pos);
    return buf;
  }

  /** A base-128 varint at pos (up to 2^53, enough for lengths and enums). */
  async varint(pos: number): Promise<{ value: number; next: number }> {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = await this.byte(pos + i);
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return { value, next: pos + i + 1 };
      scale *= 128;
    }
    throw new WireError('a varint longer than 10 bytes');
  }
}

class WireError extends Error {}

interface Field {
  field: number;
  wire: number;
  /** Varint value (wire 0) or length (wire 2). */
  value: number;
  /** Start of the payload (wire 2). */
  start: number;
  next: number;
}

async function* fields(r: BlockReader, start: number, end: number, budget: { left: number }): AsyncGenerator<Field> {
  let pos = start;
  while (pos < end) {
    if (--budget.left < 0) throw new WireError('too many fields');
    const tag = await r.varint(pos);
    const field = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    if (field === 0) throw new WireError(`field number 0 at byte ${pos}`);
    let f: Field;
    if (wire === 0) {
      const v = await r.varint(tag.next);
      f = { field, wire, value: v.value, start: tag.next, next: v.next };
    } else if (wire === 1) {
      f = { field, wire, value: 0, start: tag.next, next: tag.next + 8 };
    } else if (wire === 2) {
      const len = await r.varint(tag.next);
      f = { field, wire, value: len.value, start: len.next, next: len.next + len.value };
    } else if (wire === 5) {
      f = { field, wire, value: 0, start: tag.next, next: tag.next + 4 };
    } else {
      throw new WireError(`unsupported wire type ${wire} at byte ${pos}`);
    }
    if (f.next > end) throw new WireError(`field ${field} at byte ${pos} runs past the end (truncated file?)`);
    yield f;
    pos = f.next;
  }
}

// ModelProto: 1 ir_version, 7 graph. GraphProto: 5 initializer (TensorProto).
// TensorProto: 8 name, 13 external_data (StringStringEntryProto: 1 key, 2 value), 14 data_location.
const MODEL_IR_VERSION = 1;
const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const TENSOR_EXTERNAL_DATA = 13;
const TENSOR_DATA_LOCATION = 14;
const DATA_LOCATION_EXTERNAL = 1;

export async function checkOnnxFile(file: string): Promise<OnnxCheck> {
  const problems: string[] = [];
  const needed = new Map<string, number>();
  let irVersion: number | undefined;
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(file, 'r');
    const size = (await fh.stat()).size;
    if (size < 8) return { ok: false, problems: [`${path.basename(file)} is ${size} bytes: too small to be an ONNX model`], externalData: [] };
    const r = new BlockReader(fh, size);
    if ((await r.byte(0)) !== 0x08) {
      return { ok: false, problems: [`${path.basename(file)} does not start like an ONNX model (no IR version first)`], externalData: [] };
    }
    const budget = { left: MAX_FIELDS };
    let graph: Field | undefined;
    for await (const f of fields(r, 0, size, budget)) {
      if (f.field === MODEL_IR_VERSION && f.wire === 0) irVersion = f.value;
      if (f.field === MODEL_GRAPH && f.wire === 2) graph = f;
    }
    if (irVersion === undefined || irVersion < 1 || irVersion > 64) problems.push(`${path.basename(file)} has no valid ONNX IR version`);
    if (!graph) problems.push(`${path.basename(file)} holds no graph`);
    else {
      for await (const g of fields(r, graph.start, graph.next, budget)) {
        if (g.field !== GRAPH_INITIALIZER || g.wire !== 2) continue;
        let external = false;
        const entries: Record<string, string>[] = [];
        for await (const t of fields(r, g.start, g.next, budget)) {
          if (t.field === TENSOR_DATA_LOCATION && t.wire === 0) external = t.value === DATA_LOCATION_EXTERNAL;
          if (t.field === TENSOR_EXTERNAL_DATA && t.wire === 2 && t.value < 64 * 1024) {
            const entry: Record<string, string> = {};
            let key: string | undefined;
            let value: string | undefined;
            for await (const kv of fields(r, t.start, t.next, budget)) {
              if (kv.wire !== 2 || kv.value > 16 * 1024) continue;
              const text = (await r.bytes(kv.start, kv.value)).toString('utf8');
              if (kv.field === 1) key = text;
              if (kv.field === 2) value = text;
            }
            if (key !== undefined && value !== undefined) entry[key] = value;
            entries.push(entry);
          }
        }
        if (!external) continue;
        const info = Object.assign({}, ...entries) as Record<string, string>;
        const location = info.location;
        if (!location) {
          problems.push(`${path.basename(file)} has an external tensor without a location`);
          continue;
        }
        const end = Number(info.offset ?? 0) + Number(info.length ?? 0);
        needed.set(location, Math.max(needed.get(location) ?? 0, Number.isFinite(end) ? end : 0));
      }
    }
  } catch (err) {
    if (err instanceof WireError) problems.push(`${path.basename(file)} is not a readable ONNX model: ${err.message}`);
    else problems.push(`${path.basename(file)} could not be read: ${(err as Error).message}`);
  } finally {
    await fh?.close();
  }
  const externalData = [...needed].map(([location, bytesNeeded]) => ({ location, bytesNeeded }));
  // The external files: beside the graph, inside its folder, big enough.
  const dir = path.dirname(file);
  for (const ref of externalData) {
    const parts = ref.location.split(/[\\/]/);
    if (path.isAbsolute(ref.location) || parts.includes('..')) {
      problems.push(`${path.basename(file)} points at external data outside its folder (${ref.location})`);
      continue;
    }
    try {
      const st = await fs.promises.stat(path.join(dir, ...parts));
      if (st.size < ref.bytesNeeded) {
        problems.push(`${ref.location} beside ${path.basename(file)} is ${st.size} bytes but the graph needs ${ref.bytesNeeded} (incomplete download?)`);
      }
    } catch {
      problems.push(`${ref.location}, the external data of ${path.basename(file)}, is missing`);
    }
  }
  return { ok: problems.length === 0, ...(irVersion !== undefined ? { irVersion } : {}), problems, externalData };
}
