// Tensor helpers for the pipeline: the few row-major layout operations SD3 needs (concatenation on an axis, zero
// padding of the last axis, batching). IEEE half ⇄ single conversion is formats/float16.ts.
import { StudioError } from '../../src-shared/errors';

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
