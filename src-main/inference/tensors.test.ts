import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatAxis, concatLastAxis, padLastAxis, stackBatch } from './tensors';
import { float16ToFloat32, float32ToFloat16 } from '../formats/float16';

const half = (x: number): number => float32ToFloat16(new Float32Array([x]))[0]!;
const single = (h: number): number => float16ToFloat32(new Uint16Array([h]))[0]!;

/** Independent decoding of a half bit pattern from its definition, in double precision. */
function halfValue(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m === 0 ? s * Infinity : Number.NaN;
  return s * 2 ** (e - 15) * (1 + m / 1024);
}

// All finite non-negative half values in increasing order (bit patterns 0x0000 … 0x7bff are monotone).
const POSITIVE_HALVES = Array.from({ length: 0x7c00 }, (_, h) => halfValue(h));

/** Reference rounding by search: nearest representable half, ties to the even bit pattern, ≥ 65520 → inf. */
function referenceHalf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00;
  let lo = 0;
  let hi = POSITIVE_HALVES.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (POSITIVE_HALVES[mid]! <= a) lo = mid;
    else hi = mid;
  }
  const dLo = a - POSITIVE_HALVES[lo]!;
  const dHi = POSITIVE_HALVES[hi]! - a;
  const pick = dLo < dHi ? lo : dHi < dLo ? hi : lo % 2 === 0 ? lo : hi;
  return sign | pick;
}

describe('float32ToFloat16', () => {
  it('keeps signed zeros', () => {
    expect(half(0)).toBe(0x0000);
    expect(half(-0)).toBe(0x8000);
  });

  it('handles the largest half and overflow (65504 stays, 65519 rounds down, 65520 → inf)', () => {
    expect(half(65504)).toBe(0x7bff);
    expect(half(-65504)).toBe(0xfbff);
    expect(half(65519)).toBe(0x7bff);
    expect(half(65520)).toBe(0x7c00);
    expect(half(-65520)).toBe(0xfc00);
    expect(half(1e10)).toBe(0x7c00);
    expect(half(3.4e38)).toBe(0x7c00);
  });

  it('handles infinities and NaN', () => {
    expect(half(Infinity)).toBe(0x7c00);
    expect(half(-Infinity)).toBe(0xfc00);
    const n = half(Number.NaN);
    expect((n & 0x7c00) === 0x7c00 && (n & 0x3ff) !== 0).toBe(true);
    expect(Number.isNaN(single(n))).toBe(true);
  });

  it('handles subnormals: 2^-24 is the smallest, 2^-25 ties to 0, just above rounds up', () => {
    expect(half(2 ** -24)).toBe(0x0001);
    expect(half(-(2 ** -24))).toBe(0x8001);
    expect(half(2 ** -25)).toBe(0x0000); // halfway between 0 and 2^-24: even is 0
    expect(half(Math.fround(2 ** -25 * (1 + 2 ** -23)))).toBe(0x0001);
    expect(half(1.5 * 2 ** -24)).toBe(0x0002); // halfway between 1 and 2 units: even is 2
    expect(half(2.5 * 2 ** -24)).toBe(0x0002); // halfway between 2 and 3: even is 2
    expect(half(1023 * 2 ** -24)).toBe(0x03ff); // largest subnormal
    expect(half(1023.5 * 2 ** -24)).toBe(0x0400); // rounds up into the smallest normal 2^-14
    expect(half(2 ** -14)).toBe(0x0400);
    expect(half(2 ** -30)).toBe(0x0000);
    expect(half(1e-45)).toBe(0x0000); // float32 subnormal
  });

  it('rounds halfway cases to even among normals', () => {
    expect(half(1)).toBe(0x3c00);
    expect(half(1 + 2 ** -11)).toBe(0x3c00); // halfway between 1 and 1+2^-10: even (1)
    expect(half(1 + 3 * 2 ** -11)).toBe(0x3c02); // halfway between 1+2^-10 and 1+2^-9: even (…02)
    expect(half(Math.fround(1 + 2 ** -11 + 2 ** -20))).toBe(0x3c01); // just above halfway
    expect(half(2048 + 1)).toBe(0x6800); // 2049 ties between 2048 and 2050 → 2048
    expect(half(2048 + 3)).toBe(0x6802); // 2051 ties between 2050 and 2052 → 2052
    expect(half(0.1)).toBe(0x2e66);
    expect(half(-2)).toBe(0xc000);
  });

  it('agrees with a search-based reference on random float32 values of every magnitude', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true }), (x) => {
        expect(half(x)).toBe(referenceHalf(Math.fround(x)));
      }),
      { numRuns: 20_000 },
    );
    fc.assert(
      fc.property(fc.float({ min: Math.fround(-70000), max: Math.fround(70000), noNaN: true }), (x) => {
        expect(half(x)).toBe(referenceHalf(x));
      }),
      { numRuns: 20_000 },
    );
  });

  it('converts arrays (including subarray views) element by element', () => {
    const base = new Float32Array([9, 1, -2, 0.5, 65504]);
    expect(Array.from(float32ToFloat16(base.subarray(1)))).toEqual([0x3c00, 0xc000, 0x3800, 0x7bff]);
  });
});

describe('float16ToFloat32', () => {
  it('decodes every one of the 65536 half values exactly and round-trips them bit for bit', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const singles = float16ToFloat32(all);
    for (let h = 0; h < 65536; h++) {
      const v = singles[h]!;
      const ref = halfValue(h);
      if (Number.isNaN(ref)) expect(Number.isNaN(v), `0x${h.toString(16)}`).toBe(true);
      else expect(Object.is(v, ref), `0x${h.toString(16)}: ${v} vs ${ref}`).toBe(true);
    }
    const back = float32ToFloat16(singles);
    for (let h = 0; h < 65536; h++) {
      if (back[h] !== h) expect(`0x${back[h]!.toString(16)}`).toBe(`0x${h.toString(16)}`);
    }
  });

  it('decodes the edge values', () => {
    expect(Object.is(single(0x8000), -0)).toBe(true);
    expect(single(0x7bff)).toBe(65504);
    expect(single(0x0001)).toBe(2 ** -24);
    expect(single(0x7c00)).toBe(Infinity);
    expect(single(0xfc00)).toBe(-Infinity);
    expect(single(0x3c00)).toBe(1);
    expect(single(0x3555)).toBeCloseTo(1 / 3, 3);
  });
});

describe('layout helpers', () => {
  const seq = (n: number, start = 0): Float32Array => Float32Array.from({ length: n }, (_, i) => start + i);

  it('concatenates on the last axis', () => {
    // a [2,2,3] and b [2,2,1]
    const r = concatLastAxis(seq(12), [2, 2, 3], seq(4, 100), [2, 2, 1]);
    expect(r.dims).toEqual([2, 2, 4]);
    expect(Array.from(r.data)).toEqual([0, 1, 2, 100, 3, 4, 5, 101, 6, 7, 8, 102, 9, 10, 11, 103]);
  });

  it('concatenates on the sequence axis (CLIP 77 ‖ T5 256 → 333) and on the batch axis', () => {
    const a = seq(2 * 3 * 2);
    const b = seq(2 * 1 * 2, 100);
    const r = concatAxis(a, [2, 3, 2], b, [2, 1, 2], 1);
    expect(r.dims).toEqual([2, 4, 2]);
    expect(Array.from(r.data)).toEqual([0, 1, 2, 3, 4, 5, 100, 101, 6, 7, 8, 9, 10, 11, 102, 103]);
    const batch = concatAxis(seq(4), [1, 4], seq(4, 10), [1, 4], 0);
    expect(batch.dims).toEqual([2, 4]);
    expect(Array.from(batch.data)).toEqual([0, 1, 2, 3, 10, 11, 12, 13]);
    expect(concatAxis(a, [2, 3, 2], b, [2, 1, 2], -2)).toEqual(r);
  });

  it('refuses mismatched shapes and wrong lengths', () => {
    expect(() => concatAxis(seq(6), [2, 3], seq(4), [4, 1], 1)).toThrow(/dim 0 differs/);
    expect(() => concatAxis(seq(5), [2, 3], seq(2), [2, 1], 1)).toThrow(/5 values/);
    expect(() => concatAxis(seq(6), [2, 3], seq(2), [2, 1], 2)).toThrow(/axis 2/);
  });

  it('zero-pads the last axis', () => {
    const r = padLastAxis(seq(4, 1), [1, 2, 2], 5);
    expect(r.dims).toEqual([1, 2, 5]);
    expect(Array.from(r.data)).toEqual([1, 2, 0, 0, 0, 3, 4, 0, 0, 0]);
    expect(Array.from(padLastAxis(seq(2), [1, 2], 2).data)).toEqual([0, 1]);
    expect(() => padLastAxis(seq(4), [2, 2], 1)).toThrow(/pad/);
  });

  it('stacks parts on the batch axis', () => {
    const r = stackBatch([seq(3), seq(3, 10)], [1, 3]);
    expect(r.dims).toEqual([2, 3]);
    expect(Array.from(r.data)).toEqual([0, 1, 2, 10, 11, 12]);
    expect(stackBatch([seq(4)], [1, 2, 2]).dims).toEqual([1, 2, 2]);
    expect(() => stackBatch([seq(3), seq(2)], [1, 3])).toThrow(/part 1/);
    expect(() => stackBatch([], [1, 3])).toThrow();
  });
});
