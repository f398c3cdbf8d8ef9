// A bounded safetensors reader. The format (huggingface/safetensors README, "Format"): 8 bytes little-endian
// u64 N, N bytes of UTF-8 JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__":
// {string: string}}, then the byte buffer; offsets are relative to the byte buffer's start.
// LoRA files are untrusted input: the header is at most 100 MB and inside the file, every tensor lies inside
// the byte buffer with exactly dtype size × elements bytes, no two tensors overlap, dtypes are F32/F16/BF16
// only. Anything else is refused with the reason, before any tensor is read. Nothing is allocated beyond the
// file's size: the header is read only after its length is checked against the file, tensors only after
// their ranges were checked, one tensor at a time.
import fs from 'node:fs';
import { StudioError } from '../../src-shared/errors';
import { float16ToFloat32 } from '../formats/float16';

export const MAX_HEADER_BYTES = 100 * 1000 * 1000;
const MAX_TENSORS = 100_000;

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';
const DTYPE_BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };

export interface TensorEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Bytes before the tensor data (8 + N). */
  dataStart: number;
  fileSize: number;
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string>;
}

function refuse(label: string, why: string): StudioError {
  return new StudioError('invalid_input', `${label} is not a usable safetensors file: ${why}`, { reason: why });
}

/** Validates a header's JSON text against the file's size; pure (tested without files). */
export function parseHeader(label: string, json: string, headerLength: number, fileSize: number): SafetensorsHeader {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw refuse(label, 'its header is not valid JSON');
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw refuse(label, 'its header is not a JSON object');
  const dataStart = 8 + headerLength;
  const dataSize = fileSize - dataStart;
  const tensors = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length > MAX_TENSORS + 1) throw refuse(label, `it declares ${entries.length} tensors (at most ${MAX_TENSORS})`);
  for (const [name, value] of entries) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw refuse(label, '__metadata__ is not an object');
      const m: Record<string, string> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') throw refuse(label, `__metadata__.${k} is not a string`);
        m[k] = v;
      }
      metadata = m;
      continue;
    }
    if (value === null || typeof value !== 'object') throw refuse(label, `tensor ${name} has no description`);
    const t = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') {
      throw refuse(label, `tensor ${name} has dtype ${String(t.dtype)} (only F32, F16 and BF16 are read)`);
    }
    if (!Array.isArray(t.shape) || t.shape.length > 8 || !t.shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      throw refuse(label, `tensor ${name} has an invalid shape`);
    }
    const offsets = t.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)) {
      throw refuse(label, `tensor ${name} has invalid data_offsets`);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) throw refuse(label, `tensor ${name} ends before it begins`);
    if (end > dataSize) throw refuse(label, `tensor ${name} lies outside the file (bytes ${begin}–${end} of ${Math.max(0, dataSize)}; truncated or hostile)`);
    const shape = t.shape as number[];
    let elements = 1;
    for (const d of shape) elements *= d;
    if (elements * DTYPE_BYTES[t.dtype] !== end - begin) {
      throw refuse(label, `tensor ${name} declares [${shape.join(', ')}] ${t.dtype} but holds ${end - begin} bytes`);
    }
    tensors.set(name, { name, dtype: t.dtype, shape, begin: dataStart + begin, end: dataStart + end });
  }
  // No two (non-empty) tensors share a byte: sorted by start, each starts at or after the furthest end so far.
  const sorted = [...tensors.values()].filter((t) => t.end > t.begin).sort((a, b) => a.begin - b.begin);
  let furthest: TensorEntry | undefined;
  for (const cur of sorted) {
    if (furthest && cur.begin < furthest.end) throw refuse(label, `tensors ${furthest.name} and ${cur.name} overlap`);
    if (!furthest || cur.end > furthest.end) furthest = cur;
  }
  return { dataStart, fileSize, tensors, metadata };
}

function readExactly(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  if (done !== length) throw new StudioError('invalid_input', 'the file ended early (truncated)');
  return buf;
}

/** An open safetensors file: a checked header and tensor reads by name. */
export class SafetensorsFile {
  private constructor(
    readonly label: string,
    private readonly fd: number,
    readonly header: SafetensorsHeader,
  ) {}

  static open(file: string, label = file): SafetensorsFile {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      if (size < 8) throw refuse(label, `it is ${size} bytes (too short for a header length)`);
      const lengthBytes = readExactly(fd, 8, 0);
      const n = lengthBytes.readBigUInt64LE(0);
      if (n > BigInt(MAX_HEADER_BYTES)) throw refuse(label, `its header claims ${n} bytes (at most ${MAX_HEADER_BYTES})`);
      if (n > BigInt(size - 8)) throw refuse(label, `its header claims ${n} bytes but the file has ${size - 8} after the length (truncated or hostile)`);
      const headerLength = Number(n);
      const json = readExactly(fd, headerLength, 8).toString('utf8');
      return new SafetensorsFile(label, fd, parseHeader(label, json, headerLength, size));
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  get metadata(): Record<string, string> {
    return this.header.metadata;
  }

  get names(): string[] {
    return [...this.header.tensors.keys()];
  }

  entry(name: string): TensorEntry | undefined {
    return this.header.tensors.get(name);
  }

  /** The tensor's values as float32 (F16/BF16 widened exactly). */
  readFloat32(name: string): Float32Array {
    const e = this.header.tensors.get(name);
    if (!e) throw new StudioError('invalid_input', `${this.label} has no tensor ${name}`);
    const bytes = readExactly(this.fd, e.end - e.begin, e.begin);
    return toFloat32(e.dtype, bytes);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

export function toFloat32(dtype: SafetensorsDtype, bytes: Buffer): Float32Array {
  // Copy into an aligned buffer first: the read buffer may start at any byte.
  const aligned = new Uint8Array(bytes.length);
  aligned.set(bytes);
  if (dtype === 'F32') return new Float32Array(aligned.buffer, 0, bytes.length / 4);
  const halves = new Uint16Array(aligned.buffer, 0, bytes.length / 2);
  if (dtype === 'F16') return float16ToFloat32(halves);
  // bfloat16 is the top half of a float32's bits.
  const out = new Float32Array(halves.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < halves.length; i++) bits[i] = (halves[i] as number) << 16;
  return out;
}

/** Writes a safetensors file (tests and fixtures; F32 or F16 from float32 values). */
export function encodeSafetensors(tensors: Record<string, { dtype: 'F32' | 'F16'; shape: number[]; data: Float32Array | Uint16Array }>, metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const parts: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const data = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + data.length] };
    parts.push(Buffer.from(data));
    offset += data.length;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([len, Buffer.from(json, 'utf8'), ...parts]);
}
