// Protobuf wire format, the little of it ONNX files need: a positional reader that walks a message's
// fields without decoding (or even reading) the bytes it skips, and an encoder for the few messages the
// portability pass and the capability probes write. No schema compiler: field numbers are onnx.proto3's.
import fs from 'node:fs';

export class WireError extends Error {}

export interface ByteSource {
  readonly size: number;
  byte(pos: number): number;
  bytes(pos: number, length: number): Buffer;
}

/** Reads a file through a 64 kB window, so large raw tensors are skipped by seeking. */
export class FileSource implements ByteSource {
  private window = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}

  private load(pos: number, minLength: number): void {
    const length = Math.min(Math.max(minLength, 1 << 16), this.size - pos);
    const buf = Buffer.alloc(Math.max(0, length));
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.fd, buf, done, length - done, pos + done);
      if (n === 0) break;
      done += n;
    }
    this.window = buf.subarray(0, done);
    this.windowStart = pos;
  }

  bytes(pos: number, length: number): Buffer {
    if (pos < 0 || pos + length > this.size) throw new WireError('unexpected end of file');
    if (pos < this.windowStart || pos + length > this.windowStart + this.window.length) this.load(pos, length);
    return this.window.subarray(pos - this.windowStart, pos - this.windowStart + length);
  }

  byte(pos: number): number {
    return this.bytes(pos, 1)[0] as number;
  }
}

export class BufferSource implements ByteSource {
  constructor(private readonly buf: Buffer) {}
  get size(): number {
    return this.buf.length;
  }
  byte(pos: number): number {
    const b = this.buf[pos];
    if (b === undefined) throw new WireError('unexpected end of file');
    return b;
  }
  bytes(pos: number, length: number): Buffer {
    if (pos < 0 || pos + length > this.buf.length) throw new WireError('unexpected end of file');
    return this.buf.subarray(pos, pos + length);
  }
}

export function readVarint(src: ByteSource, pos: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    const b = src.byte(pos + i);
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return [value, pos + i + 1];
  }
  throw new WireError('a varint longer than 10 bytes');
}

export interface Field {
  field: number;
  wire: 0 | 1 | 2 | 5;
  /** Varint value (wire 0) or payload length (wire 2). */
  value: number;
  /** Where the tag starts (the whole field is [tagStart, next)). */
  tagStart: number;
  /** Start of the payload (wire 1, 2, 5). */
  start: number;
  next: number;
}

/** A budget of fields shared by one file's walk, so a hostile file cannot make the reader loop for ever. */
export interface Budget {
  left: number;
}

/** The fields of the message in [start, end); throws WireError when one runs past the end. */
export function* fields(src: ByteSource, start: number, end: number, budget: Budget = { left: 50_000_000 }): Generator<Field> {
  let pos = start;
  while (pos < end) {
    if (--budget.left < 0) throw new WireError('too many fields');
    const tagStart = pos;
    const [tag, afterTag] = readVarint(src, pos);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) throw new WireError(`field number 0 at byte ${pos}`);
    let f: Field;
    if (wire === 0) {
      const [value, next] = readVarint(src, afterTag);
      f = { field, wire, value, tagStart, start: afterTag, next };
    } else if (wire === 2) {
      const [length, next] = readVarint(src, afterTag);
      f = { field, wire, value: length, tagStart, start: next, next: next + length };
    } else if (wire === 1) {
      f = { field, wire, value: 0, tagStart, start: afterTag, next: afterTag + 8 };
    } else if (wire === 5) {
      f = { field, wire, value: 0, tagStart, start: afterTag, next: afterTag + 4 };
    } else {
      throw new WireError(`unsupported wire type ${wire} at byte ${pos}`);
    }
    if (f.next > end) throw new WireError(`field ${field} at byte ${pos} runs past the end (truncated file?)`);
    yield f;
    pos = f.next;
  }
}

export function fieldText(src: ByteSource, f: Field): string {
  return f.wire === 2 ? src.bytes(f.start, f.value).toString('utf8') : '';
}

/** A signed int64 varint as a JS number (two's complement for negatives, as protobuf writes them). */
export function signed(value: number): number {
  return value >= 2 ** 63 ? value - 2 ** 64 : value;
}

// ---------------------------------------------------------------------------------------------
// Encoding

function varintBytes(value: number | bigint): number[] {
  let v = BigInt(value);
  if (v < 0n) v += 1n << 64n;
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}

/** Builds one message from its fields, in the order they are added. */
export class Message {
  private readonly parts: Buffer[] = [];

  varint(field: number, value: number | bigint): this {
    this.parts.push(Buffer.from([...varintBytes(field * 8), ...varintBytes(value)]));
    return this;
  }

  bytes(field: number, payload: Buffer | Uint8Array | Message): this {
    const data = payload instanceof Message ? payload.finish() : Buffer.from(payload);
    this.parts.push(Buffer.from([...varintBytes(field * 8 + 2), ...varintBytes(data.length)]), data);
    return this;
  }

  string(field: number, text: string): this {
    return this.bytes(field, Buffer.from(text, 'utf8'));
  }

  float(field: number, value: number): this {
    const b = Buffer.alloc(4);
    b.writeFloatLE(value);
    this.parts.push(Buffer.from(varintBytes(field * 8 + 5)), b);
    return this;
  }

  /** Bytes already encoded as whole fields (tag included), copied as they are. */
  raw(encoded: Buffer): this {
    this.parts.push(encoded);
    return this;
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}
