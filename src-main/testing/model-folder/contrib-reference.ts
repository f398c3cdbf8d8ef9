// Independent TypeScript implementations of the ONNX Runtime contrib operators the portability pass
// rewrites, written from the operator documentation with plain loops in float64 — the yardstick the
// rewritten graphs are measured against. Tensors are flat row-major arrays.

export interface Tensor {
  data: Float64Array;
  dims: number[];
}

/** Abramowitz–Stegun-free erf: the series for |x| < 3, the continued fraction beyond (error < 1e-12). */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x²)/(x√π) · 1/(1+ 1/(2x²)/(1+2/(2x²)/(1+…))) — Lentz on the continued fraction.
  let f = 0;
  for (let n = 60; n >= 1; n--) f = (n / 2) / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
}

export const gelu = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2));

/** GroupNorm: X [N,H,W,C] (channelsLast) or [N,C,H,W]; per group of C/groups channels. */
export function groupNormRef(x: Tensor, gamma: Float64Array, beta: Float64Array, o: { groups: number; epsilon: number; silu: boolean; channelsLast: boolean }): Tensor {
  const [n, a, b, c] = x.dims as [number, number, number, number];
  const [C, H, W] = o.channelsLast ? [c, a, b] : [a, b, c];
  const at = (ni: number, ci: number, hi: number, wi: number) => (o.channelsLast ? ((ni * H + hi) * W + wi) * C + ci : ((ni * C + ci) * H + hi) * W + wi);
  const out = new Float64Array(x.data.length);
  const per = C / o.groups;
  for (let ni = 0; ni < n; ni++) {
    for (let g = 0; g < o.groups; g++) {
      let sum = 0;
      let count = 0;
      for (let ci = g * per; ci < (g + 1) * per; ci++) for (let hi = 0; hi < H; hi++) for (let wi = 0; wi < W; wi++) {
            sum += x.data[at(ni, ci, hi, wi)]!;
            count++;
          }
      const mean = sum / count;
      let sq = 0;
      for (let ci = g * per; ci < (g + 1) * per; ci++) for (let hi = 0; hi < H; hi++) for (let wi = 0; wi < W; wi++) sq += (x.data[at(ni, ci, hi, wi)]! - mean) ** 2;
      const std = Math.sqrt(sq / count + o.epsilon);
      for (let ci = g * per; ci < (g + 1) * per; ci++) {
        for (let hi = 0; hi < H; hi++) {
          for (let wi = 0; wi < W; wi++) {
            const i = at(ni, ci, hi, wi);
            let y = ((x.data[i]! - mean) / std) * gamma[ci]! + beta[ci]!;
            if (o.silu) y = y / (1 + Math.exp(-y));
            out[i] = y;
          }
        }
      }
    }
  }
  return { data: out, dims: [...x.dims] };
}

/** NhwcConv: X [N,H,W,C], W [M,kH,kW,C/group], B [M] → Y [N,oH,oW,M]. */
export function nhwcConvRef(
  x: Tensor,
  w: Tensor,
  bias: Float64Array | undefined,
  o: { pads: [number, number, number, number]; strides: [number, number]; dilations: [number, number]; group: number },
): Tensor {
  const [N, H, W, C] = x.dims as [number, number, number, number];
  const [M, kH, kW, Cg] = w.dims as [number, number, number, number];
  const oH = Math.floor((H + o.pads[0] + o.pads[2] - o.dilations[0] * (kH - 1) - 1) / o.strides[0]) + 1;
  const oW = Math.floor((W + o.pads[1] + o.pads[3] - o.dilations[1] * (kW - 1) - 1) / o.strides[1]) + 1;
  const out = new Float64Array(N * oH * oW * M);
  const mPerGroup = M / o.group;
  for (let n = 0; n < N; n++)
    for (let oh = 0; oh < oH; oh++)
      for (let ow = 0; ow < oW; ow++)
        for (let m = 0; m < M; m++) {
          const g = Math.floor(m / mPerGroup);
          let s = bias ? bias[m]! : 0;
          for (let kh = 0; kh < kH; kh++) {
            const ih = oh * o.strides[0] - o.pads[0] + kh * o.dilations[0];
            if (ih < 0 || ih >= H) continue;
            for (let kw = 0; kw < kW; kw++) {
              const iw = ow * o.strides[1] - o.pads[1] + kw * o.dilations[1];
              if (iw < 0 || iw >= W) continue;
              for (let c = 0; c < Cg; c++) s += x.data[((n * H + ih) * W + iw) * C + g * Cg + c]! * w.data[((m * kH + kh) * kW + kw) * Cg + c]!;
            }
          }
          out[((n * oH + oh) * oW + ow) * M + m] = s;
        }
  return { data: out, dims: [N, oH, oW, M] };
}

/** BiasAdd: X [N,S,C] + bias [C] + skip [N,S,C]. */
export function biasAddRef(x: Tensor, bias: Float64Array, skip: Tensor): Tensor {
  const C = bias.length;
  return { data: x.data.map((v, i) => v + bias[i % C]! + skip.data[i]!), dims: [...x.dims] };
}

/** BiasSplitGelu: X [N,S,D] + bias [D], halved on D: left · Gelu(right) → [N,S,D/2]. */
export function biasSplitGeluRef(x: Tensor, bias: Float64Array): Tensor {
  const D = bias.length;
  const half = D / 2;
  const rows = x.data.length / D;
  const out = new Float64Array(rows * half);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < half; j++) {
      const left = x.data[r * D + j]! + bias[j]!;
      const right = x.data[r * D + half + j]! + bias[half + j]!;
      out[r * half + j] = left * gelu(right);
    }
  return { data: out, dims: [...x.dims.slice(0, -1), half] };
}

/** SkipGroupNorm: S = X + skip (+ bias), Y = GroupNorm(S) (NHWC). skip [N,H,W,C] or [N,C]. */
export function skipGroupNormRef(
  x: Tensor,
  gamma: Float64Array,
  beta: Float64Array,
  skip: Tensor,
  bias: Float64Array | undefined,
  o: { groups: number; epsilon: number; silu: boolean },
): { y: Tensor; s: Tensor } {
  const [N, H, W, C] = x.dims as [number, number, number, number];
  const s = new Float64Array(x.data.length);
  for (let n = 0; n < N; n++)
    for (let p = 0; p < H * W; p++)
      for (let c = 0; c < C; c++) {
        const i = (n * H * W + p) * C + c;
        const sk = skip.dims.length === 2 ? skip.data[n * C + c]! : skip.data[i]!;
        s[i] = x.data[i]! + sk + (bias ? bias[c]! : 0);
      }
  const sum = { data: s, dims: [...x.dims] };
  return { y: groupNormRef(sum, gamma, beta, { ...o, channelsLast: true }), s: sum };
}
