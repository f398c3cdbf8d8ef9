// IEEE half ⇄ single conversion (float16 tensors travel as Uint16Array bit patterns: see inference/ort.ts), below
// inference/, lora/ and model-folder/, which all read or write fp16 weights.

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
