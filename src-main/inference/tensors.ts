// Tensor helpers for the pipeline: IEEE half ⇄ single conversion (Node 20 has no Float16Array) and the few
// row-major layout operations SD3 needs (concatenation on an axis, zero padding of the last axis, batching).
import { StudioError } from '../../src-shared/errors';

/** The half-precision bit pattern nearest to a float32 value (round to nearest, ties to even). */
function toHalfBits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) {
    // Inf stays inf; NaN stays NaN with its top 10 payload bits (made non-zero if they were all zero).
    if (mant === 0) return sign | 0x7c00;
    const payload = mant >>> 13;
    return sign | 0x7c00 | (payload !== 0 ? payload : 0x200);
  }
  const e = exp - 112; // rebias 127 → 15
  if (e >= 31) return sign | 0x7c00; // ≥ 2^16: beyond any rounding to 65504
  if (e >= 1) {
    let half = (e << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++; // a carry may reach the exponent (→ inf)
    return sign | half;
  }
  // Subnormal half (or zero): value = m · 2^(e − 14 − 10) with the implicit bit restored.
  const shift = 14 - e;
  if (shift > 24) return sign; // below half of the smallest subnormal 2^-24: rounds to ±0
  const m = mant | 0x800000;
  let half = m >>> shift;
  const rest = m & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++; // may carry into the smallest normal
  return sign | half;
}

/** float32 → IEEE binary16 bit patterns: round to nearest even, subnormals, overflow to ±inf, NaN kept. */
export function float32ToFloat16(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) out[i] = toHalfBits(bits[i]!);
  return out;
}

let halfTableBits: Uint32Array | undefined;

/** The float32 bit pattern of every half bit pattern, built once (256 KiB). Bits, not numbers: reading a signalling
 * NaN as a JS number would quieten it, and the round trip must be exact. */
function halfToFloatBitsTable(): Uint32Array {
  if (halfTableBits) return halfTableBits;
  const table = new Uint32Array(65536);
  const asFloat = new Float32Array(table.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) {
      const magnitude = mant * 2 ** -24; // zero or subnormal: exact in float32
      asFloat[h] = sign ? -magnitude : magnitude;
    } else if (exp === 31) {
      table[h] = (sign | 0x7f800000 | (mant << 13)) >>> 0;
    } else {
      table[h] = (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
    }
  }
  halfTableBits = table;
  return table;
}

/** IEEE binary16 bit patterns → float32 (exact: every half value is a float32 value; NaN payloads kept). */
export function float16ToFloat32(src: Uint16Array): Float32Array {
  const table = halfToFloatBitsTable();
  const out = new Float32Array(src.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < src.length; i++) outBits[i] = table[src[i]!]!;
  return out;
}

function count(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new StudioError('internal', `Tensor dims [${dims.join(', ')}] are not valid.`);
    n *= d;
  }
  return n;
}

function checkLength(name: string, data: Float32Array, dims: readonly number[]): void {
  const n = count(dims);
  if (data.length !== n) {
    throw new StudioError('internal', `Tensor ${name} has ${data.length} values but dims [${dims.join(', ')}] need ${n}.`);
  }
}

/**
 * Concatenate two row-major tensors on `axis` (negative counts from the end). All other dims must match.
 * Example: CLIP-L hidden [B,77,768] and CLIP-G hidden [B,77,1280] on axis −1 → [B,77,2048].
 */
export function concatAxis(
  a: Float32Array,
  aDims: readonly number[],
  b: Float32Array,
  bDims: readonly number[],
  axis: number,
): { data: Float32Array; dims: number[] } {
  checkLength('a', a, aDims);
  checkLength('b', b, bDims);
  const rank = aDims.length;
  const ax = axis < 0 ? axis + rank : axis;
  if (bDims.length !== rank || !Number.isInteger(ax) || ax < 0 || ax >= rank) {
    throw new StudioError('internal', `Cannot concatenate [${aDims.join(', ')}] and [${bDims.join(', ')}] on axis ${axis}.`);
  }
  for (let i = 0; i < rank; i++) {
    if (i !== ax && aDims[i] !== bDims[i]) {
      throw new StudioError('internal', `Cannot concatenate [${aDims.join(', ')}] and [${bDims.join(', ')}] on axis ${axis}: dim ${i} differs.`);
    }
  }
  const outer = count(aDims.slice(0, ax));
  const inner = count(aDims.slice(ax + 1));
  const aChunk = aDims[ax]! * inner;
  const bChunk = bDims[ax]! * inner;
  const data = new Float32Array(a.length + b.length);
  let o = 0;
  for (let i = 0; i < outer; i++) {
    data.set(a.subarray(i * aChunk, (i + 1) * aChunk), o);
    o += aChunk;
    data.set(b.subarray(i * bChunk, (i + 1) * bChunk), o);
    o += bChunk;
  }
  const dims = [...aDims];
  dims[ax] = aDims[ax]! + bDims[ax]!;
  return { data, dims };
}

/** Concatenate on the last axis: [..., m] ‖ [..., n] → [..., m + n]. */
export function concatLastAxis(
  a: Float32Array,
  aDims: readonly number[],
  b: Float32Array,
  bDims: readonly number[],
): { data: Float32Array; dims: number[] } {
  return concatAxis(a, aDims, b, bDims, -1);
}

/** Zero-pad the last axis to `newSize` (≥ the current size): [B,77,2048] → [B,77,4096]. */
export function padLastAxis(x: Float32Array, dims: readonly number[], newSize: number): { data: Float32Array; dims: number[] } {
  checkLength('x', x, dims);
  const last = dims[dims.length - 1];
  if (last === undefined || !Number.isSafeInteger(newSize) || newSize < last) {
    throw new StudioError('internal', `Cannot pad the last axis of [${dims.join(', ')}] to ${newSize}.`);
  }
  const rows = last === 0 ? count(dims.slice(0, -1)) : x.length / last;
  const data = new Float32Array(rows * newSize);
  for (let r = 0; r < rows; r++) data.set(x.subarray(r * last, (r + 1) * last), r * newSize);
  return { data, dims: [...dims.slice(0, -1), newSize] };
}

/**
 * Join tensors of identical `dims` on their first (batch) axis: k parts of [1, ...rest] → [k, ...rest]
 * (parts of [n, ...rest] → [k·n, ...rest]). Used for the CFG batch [negative; positive].
 */
export function stackBatch(parts: Float32Array[], dims: readonly number[]): { data: Float32Array; dims: number[] } {
  if (parts.length === 0 || dims.length === 0) {
    throw new StudioError('internal', 'stackBatch needs at least one part and dims with a batch axis.');
  }
  const n = count(dims);
  parts.forEach((p, i) => checkLength(`part ${i}`, p, dims));
  const data = new Float32Array(n * parts.length);
  parts.forEach((p, i) => data.set(p, i * n));
  return { data, dims: [dims[0]! * parts.length, ...dims.slice(1)] };
}
