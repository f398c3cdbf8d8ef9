// Gaussian noise identical to `torch.randn(shape, generator=torch.Generator().manual_seed(seed))` on the CPU
// (float32). torch's CPU generator is an mt19937 seeded with the low 32 bits of the seed; its normal sampler
// (aten/src/ATen/native/cpu/DistributionTemplates.h, `normal_fill`) has two paths:
//  - numel >= 16: fill every element with a float uniform (low 24 bits of one draw · 2^-24), turn each block of
//    16 into normals with Box–Muller (u1 = 1 − x[j], u2 = x[j+8], j < 8); when numel is not a multiple of 16 the
//    last 16 elements are refilled with 16 fresh uniforms and transformed again (overlapping the previous block);
//  - numel < 16: one double normal per element, each pair of 64-bit uniforms (53 bits) giving r·cos θ and a
//    cached r·sin θ for the next element.
import { StudioError } from '../../src-shared/errors';
import { MAX_SEED_TEXT, seedLow32 } from '../../src-shared/generation';

const MT_N = 624;
const MT_M = 397;
const MATRIX_A = 0x9908b0df | 0;
const UPPER_MASK = 0x80000000 | 0;
const LOWER_MASK = 0x7fffffff;

/**
 * mt19937 (32-bit) as std::mt19937 / torch's at::mt19937 with a 32-bit seed. The state is kept in an Int32Array
 * (bit patterns identical to uint32) so the JIT keeps every value in a 32-bit register.
 */
export class Mt19937 {
  private readonly state = new Int32Array(MT_N);
  private index = MT_N;

  constructor(seed32: number) {
    const mt = this.state;
    mt[0] = seed32 | 0;
    for (let i = 1; i < MT_N; i++) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      // 1812433253 · prev + i (mod 2^32); Math.imul keeps the low 32 bits exactly.
      mt[i] = (Math.imul(1812433253, prev) + i) | 0;
    }
  }

  private twist(): void {
    const mt = this.state;
    let k = 0;
    for (; k < MT_N - MT_M; k++) {
      const y = (mt[k]! & UPPER_MASK) | (mt[k + 1]! & LOWER_MASK);
      mt[k] = mt[k + MT_M]! ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
    }
    for (; k < MT_N - 1; k++) {
      const y = (mt[k]! & UPPER_MASK) | (mt[k + 1]! & LOWER_MASK);
      mt[k] = mt[k + MT_M - MT_N]! ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
    }
    const y = (mt[MT_N - 1]! & UPPER_MASK) | (mt[0]! & LOWER_MASK);
    mt[MT_N - 1] = mt[MT_M - 1]! ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
    this.index = 0;
  }

  /** Next 32-bit output as an unsigned number. */
  nextUint32(): number {
    if (this.index >= MT_N) this.twist();
    let y = this.state[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** Fill out[start, end) with float uniforms in [0, 1): (draw & 0xFFFFFF) · 2^-24, as torch's uniform_real<float>. */
  fillFloatUniforms(out: Float32Array, start: number, end: number): void {
    const mt = this.state;
    let idx = this.index;
    let i = start;
    while (i < end) {
      if (idx >= MT_N) {
        this.twist();
        idx = 0;
      }
      const stop = Math.min(end, i + (MT_N - idx));
      for (; i < stop; i++) {
        let y = mt[idx++]!;
        y ^= y >>> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >>> 18;
        out[i] = (y & 0xffffff) * FLOAT_DIVISOR;
      }
    }
    this.index = idx;
  }

  /** A double uniform in [0, 1) from a 64-bit draw (first draw high word) masked to 53 bits, as torch's uniform_real<double>. */
  nextDoubleUniform(): number {
    const hi = this.nextUint32();
    const lo = this.nextUint32();
    return ((hi & 0x1fffff) * 4294967296 + lo) * DOUBLE_DIVISOR;
  }
}

const FLOAT_DIVISOR = 1 / 16777216; // 2^-24
const DOUBLE_DIVISOR = 1 / 9007199254740992; // 2^-53
const TWO_PI = 2 * Math.PI;
const TWO_PI_F32 = Math.fround(2 * Math.PI);

// Box–Muller needs sin and cos of one angle in [0, 2π); computing both here at once costs half of Math.sin plus
// Math.cos, and this loop dominates randn. Reduction by π/2 in two parts (Cody–Waite: PIO2_HI has 33 significant
// bits, so k·PIO2_HI is exact for k ≤ 4), then Taylor series on |r| ≤ π/4 up to r^17 and r^18, whose truncation
// error (< 1e-19) is below double precision: the results agree with Math.sin/Math.cos to about 1 ulp of a double.
const PIO2_HI = 1.5707963267341256;
const PIO2_LO = Math.PI / 2 - PIO2_HI + 6.123233995736766e-17;
const TWO_OVER_PI = 2 / Math.PI;
const S1 = -1 / 6;
const S2 = 1 / 120;
const S3 = -1 / 5040;
const S4 = 1 / 362880;
const S5 = -1 / 39916800;
const S6 = 1 / 6227020800;
const S7 = -1 / 1307674368000;
const S8 = 1 / 355687428096000;
const C1 = -1 / 2;
const C2 = 1 / 24;
const C3 = -1 / 720;
const C4 = 1 / 40320;
const C5 = -1 / 3628800;
const C6 = 1 / 479001600;
const C7 = -1 / 87178291200;
const C8 = 1 / 20922789888000;
const C9 = -1 / 6402373705728000;

/**
 * Box–Muller on each block of 16 uniforms starting at data[from], data[from+16], … (while a whole block fits
 * before `to`), in place, as torch's normal_fill_16 with mean 0 and std 1: u1 = 1 − x[j], u2 = x[j+8] (j < 8),
 * radius = sqrt(−2 ln u1), θ = 2π·u2, x[j] = radius·cos θ, x[j+8] = radius·sin θ.
 */
function normalFillBlocks(data: Float32Array, from: number, to: number): void {
  // One call per block (rather than one long loop) lets the JIT optimise it early, which shortens the first,
  // cold call in a fresh worker.
  for (let base = from; base + 16 <= to; base += 16) normalFill16(data, base);
}

function normalFill16(data: Float32Array, base: number): void {
  for (let j = base; j < base + 8; j++) {
    const u1 = 1 - data[j]!; // exact in float32: (0, 1]
    const u2 = data[j + 8]!;
    // radius and θ rounded to float32 as torch's x86 (AVX2) kernel computes them; sin/cos in double and one
    // rounding of the product. This reproduces torch's published values to the last printed digit; torch's own
    // two CPU kernels (AVX2 with float sin/cos, scalar with a double θ) differ from each other by as much (< 1e-6).
    const radius = Math.fround(Math.sqrt(Math.fround(-2 * Math.fround(Math.log(u1)))));
    const theta = Math.fround(TWO_PI_F32 * u2);
    const k = Math.round(theta * TWO_OVER_PI);
    const r = theta - k * PIO2_HI - k * PIO2_LO;
    const r2 = r * r;
    const sr = r * (1 + r2 * (S1 + r2 * (S2 + r2 * (S3 + r2 * (S4 + r2 * (S5 + r2 * (S6 + r2 * (S7 + r2 * S8))))))));
    const cr = 1 + r2 * (C1 + r2 * (C2 + r2 * (C3 + r2 * (C4 + r2 * (C5 + r2 * (C6 + r2 * (C7 + r2 * (C8 + r2 * C9))))))));
    const q = k & 3;
    const cos = q === 0 ? cr : q === 1 ? -sr : q === 2 ? -cr : sr;
    const sin = q === 0 ? sr : q === 1 ? cr : q === 2 ? -sr : -cr;
    data[j] = radius * cos;
    data[j + 8] = radius * sin;
  }
}

function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new StudioError('invalid_input', `Noise shape [${shape.join(', ')}] is not valid: every dimension must be a non-negative integer.`);
    }
    n *= d;
  }
  if (n > 2 ** 31) {
    throw new StudioError('invalid_input', `Noise shape [${shape.join(', ')}] has ${n} elements, more than this app can allocate; use a smaller size.`);
  }
  return n;
}

/** A seed as given (decimal text, bigint, safe integer) → the mt19937's 32-bit seed, through THE one reduction. */
function low32(seed: number | bigint | string): number {
  if (typeof seed === 'number' && !Number.isSafeInteger(seed)) {
    throw new StudioError('invalid_input', `Seed ${String(seed)} is not an integer; use a whole number from 0 to ${MAX_SEED_TEXT}.`);
  }
  return seedLow32(typeof seed === 'number' ? BigInt(seed) : seed);
}

/**
 * A torch CPU generator (`torch.Generator('cpu').manual_seed(seed)`): successive `randn` calls continue its
 * mt19937 stream exactly as successive `torch.randn(shape, generator=g)` calls do — what ComfyUI's default noise
 * sampler draws once per ancestral step.
 */
export class TorchCpuGenerator {
  private readonly rng: Mt19937;
  /** torch keeps the second value of a double Box–Muller pair in the generator (the numel < 16 path). */
  private cached: number | undefined;

  constructor(seed: number | bigint | string) {
    this.rng = new Mt19937(low32(seed));
  }

  /** Standard normal float32 noise of `shape` (torch.randn on the CPU, within float rounding of sin/cos/log). */
  randn(shape: readonly number[]): Float32Array {
    const size = elementCount(shape);
    const rng = this.rng;
    const out = new Float32Array(size);
    if (size >= 16) {
      rng.fillFloatUniforms(out, 0, size);
      normalFillBlocks(out, 0, size);
      if (size % 16 !== 0) {
        // torch's tail: the last 16 elements are drawn again and transformed as one more (overlapping) block.
        rng.fillFloatUniforms(out, size - 16, size);
        normalFillBlocks(out, size - 16, size);
      }
      return out;
    }
    for (let i = 0; i < size; i++) {
      if (this.cached !== undefined) {
        out[i] = this.cached;
        this.cached = undefined;
        continue;
      }
      const u1 = rng.nextDoubleUniform();
      const u2 = rng.nextDoubleUniform();
      const r = Math.sqrt(-2 * Math.log1p(-u2));
      const theta = TWO_PI * u1;
      this.cached = r * Math.sin(theta);
      out[i] = r * Math.cos(theta);
    }
    return out;
  }
}

/**
 * Standard normal float32 noise of `shape`, equal to torch.randn(shape, generator=torch.Generator().manual_seed(seed))
 * on the CPU (within float rounding of sin/cos/log, < 1e-6). Seeds that differ only above bit 32 give the same noise.
 */
export function randn(seed: number | bigint | string, shape: readonly number[]): Float32Array {
  return new TorchCpuGenerator(seed).randn(shape);
}
