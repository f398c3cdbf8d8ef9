// The schedules (docs/architecture.md §5, "Samplers and schedules"): N+1 sigmas ending in 0, and the transformer's
// timesteps σ·1000 (float32) of the N steps. Every value is a float32 value held in a double.
//  - `normal`: diffusers' FlowMatchEulerDiscreteScheduler (../scheduler.ts), unchanged — the studio's default.
//    ComfyUI's own `normal` (comfy/samplers.py normal_scheduler with sgm=False) is the same linspace in timestep
//    space shifted once more, equal to it up to float32 rounding; ComfyUI's "normal" maps here.
//  - `simple`, `sgm_uniform`, `beta`: ComfyUI's, over the flow model's 1000-entry sigma table
//    (comfy/model_sampling.py ModelSamplingDiscreteFlow), with ComfyUI's float32 arithmetic and its rounding.
import { StudioError } from '../../../src-shared/errors';
import { SCHEDULERS, type Scheduler } from '../../../src-shared/generation';
import { flowMatchSigmas } from '../scheduler';
import { betaQuantile } from './beta-quantile';

const f32 = Math.fround;
const TIMESTEPS = 1000;
const MULTIPLIER = 1000;

export interface Schedule {
  /** steps + 1 values (beta may merge steps: then fewer), the last 0. */
  sigmas: number[];
  /** One per step: float32(σ·1000), what the transformer is fed. */
  timesteps: number[];
}

/**
 * comfy/model_sampling.py time_snr_shift(alpha, t) = alpha·t / (1 + (alpha − 1)·t), on a float32 tensor t with
 * Python-float alpha: torch casts the scalar to float32 and rounds each operation to float32; alpha = 1 returns t.
 */
export function timeSnrShiftF32(shift: number, t: number): number {
  if (shift === 1) return t;
  const num = f32(f32(shift) * t);
  const den = f32(1 + f32(f32(shift - 1) * t));
  return f32(num / den);
}

/** comfy/model_sampling.py ModelSamplingDiscreteFlow.sigma(timestep) = time_snr_shift(shift, timestep / multiplier). */
function flowSigmaOfTimestep(timestep: number, shift: number): number {
  return timeSnrShiftF32(shift, f32(timestep / MULTIPLIER));
}

const tableCache = new Map<number, Float32Array>();

/**
 * comfy/model_sampling.py ModelSamplingDiscreteFlow.set_parameters(shift, timesteps=1000, multiplier=1000):
 * sigmas = sigma((arange(1, 1001) / 1000) · 1000) — the int64 arange divided into float32, times 1000 in float32,
 * then sigma() divides by 1000 again and shifts. sigma_min = sigmas[0], sigma_max = sigmas[999].
 */
export function flowSigmaTable(shift: number): Float32Array {
  let table = tableCache.get(shift);
  if (!table) {
    table = new Float32Array(TIMESTEPS);
    for (let i = 1; i <= TIMESTEPS; i++) {
      const t = f32(f32(f32(i) / TIMESTEPS) * MULTIPLIER);
      table[i - 1] = flowSigmaOfTimestep(t, shift);
    }
    if (tableCache.size > 8) tableCache.clear();
    tableCache.set(shift, table);
  }
  return table;
}

/** comfy/samplers.py simple_scheduler: ss = len(sigmas)/steps; σ_x = sigmas[−(1 + int(x·ss))]; then 0. */
function simpleSigmas(table: Float32Array, steps: number): number[] {
  const ss = table.length / steps; // Python float division
  const out: number[] = [];
  for (let x = 0; x < steps; x++) out.push(table[table.length - 1 - Math.trunc(x * ss)]!);
  out.push(0);
  return out;
}

/**
 * torch.linspace(start, end, n) for float32 on the CPU (aten/src/ATen/native/cpu/RangeFactoriesKernel.cpp
 * linspace_kernel): step = (end − start)/(n − 1) in float; below halfway = n/2 a value is start + step·i, from
 * halfway on end − step·(n − 1 − i). The kernel's vectorized loop (cpu_serial_kernel_vec: blocks of 2·W values,
 * W = 8 floats on x86-64 AVX2, the remainder scalar) builds each W-block as Vectorized::arange(base, step) =
 * base + j·step, base being that formula at the block's first index — so values inside a block are rounded
 * from the block start. This reproduces the AVX2 layout (what ComfyUI computes on an x86-64 PC); another
 * vector width (AVX-512, ARM) can differ in the last bit of some timesteps.
 */
export function torchLinspaceF32(start: number, end: number, n: number, vectorWidth = 8): number[] {
  const s = f32(start);
  const e = f32(end);
  if (n === 1) return [s];
  const step = f32(f32(e - s) / (n - 1));
  const halfway = Math.trunc(n / 2);
  const scalarAt = (i: number): number => (i < halfway ? f32(s + f32(step * i)) : f32(e - f32(step * (n - i - 1))));
  const out = new Array<number>(n);
  let i = 0;
  if (vectorWidth > 1) {
    for (; i + 2 * vectorWidth <= n; i += 2 * vectorWidth) {
      for (const blockStart of [i, i + vectorWidth]) {
        const base = scalarAt(blockStart);
        for (let j = 0; j < vectorWidth; j++) out[blockStart + j] = j === 0 ? base : f32(base + f32(j * step));
      }
    }
  }
  for (; i < n; i++) out[i] = scalarAt(i);
  return out;
}

/**
 * comfy/samplers.py normal_scheduler(model_sampling, steps, sgm=True) — the `sgm_uniform` schedule:
 * start = timestep(σ_max), end = timestep(σ_min) (σ·1000 in float32); timesteps = linspace(start, end, steps+1)
 * without its last value; σ = sigma(t) for each; then a final 0.
 */
function sgmUniformSigmas(table: Float32Array, steps: number, shift: number): number[] {
  const start = f32(table[table.length - 1]! * MULTIPLIER);
  const end = f32(table[0]! * MULTIPLIER);
  const ts = torchLinspaceF32(start, end, steps + 1).slice(0, steps);
  const out = ts.map((t) => flowSigmaOfTimestep(t, shift));
  out.push(0);
  return out;
}

/** numpy.rint: round half to even. */
function rint(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export const BETA_ALPHA = 0.6;
export const BETA_BETA = 0.6;

/**
 * comfy/samplers.py beta_scheduler(model_sampling, steps, alpha=0.6, beta=0.6): total = len(sigmas) − 1 = 999;
 * ts = 1 − numpy.linspace(0, 1, steps, endpoint=False) (k·(1/steps), in float64); ts = rint(beta.ppf(ts, α, β)·999);
 * a value equal to the previous one is skipped (so a long schedule can have fewer steps); σ = sigmas[int(t)];
 * then a final 0.
 */
function betaSigmas(table: Float32Array, steps: number, alpha = BETA_ALPHA, beta = BETA_BETA): number[] {
  const total = table.length - 1;
  const step = 1 / steps;
  const out: number[] = [];
  let last = -1;
  for (let k = 0; k < steps; k++) {
    const p = 1 - (k * step + 0);
    const t = rint(betaQuantile(p, alpha, beta) * total);
    if (t !== last) out.push(table[t]!);
    last = t;
  }
  out.push(0);
  return out;
}

function check(steps: number, shift: number): void {
  if (!Number.isInteger(steps) || steps < 1 || steps > 10_000) {
    throw new StudioError('invalid_input', `Steps must be a whole number from 1 upwards (got ${String(steps)}).`, { field: 'steps' });
  }
  if (!Number.isFinite(shift) || shift <= 0) {
    throw new StudioError('invalid_input', `The schedule shift must be a positive number (got ${String(shift)}).`, { field: 'shift' });
  }
}

/** The transformer's timestep of each step: ModelSamplingDiscreteFlow.timestep(σ) = σ·1000 in float32 (diffusers: the same). */
export function timestepsOf(sigmas: readonly number[]): number[] {
  return sigmas.slice(0, -1).map((s) => f32(s * MULTIPLIER));
}

/** The schedule `scheduler` at `steps` steps and `shift`. */
export function schedule(scheduler: Scheduler, steps: number, shift: number): Schedule {
  check(steps, shift);
  if (scheduler === 'normal') return flowMatchSigmas(steps, shift);
  let sigmas: number[];
  if (scheduler === 'simple') sigmas = simpleSigmas(flowSigmaTable(shift), steps);
  else if (scheduler === 'sgm_uniform') sigmas = sgmUniformSigmas(flowSigmaTable(shift), steps, shift);
  else if (scheduler === 'beta') sigmas = betaSigmas(flowSigmaTable(shift), steps);
  else throw new StudioError('invalid_input', `Unknown schedule ${JSON.stringify(scheduler)}; use one of: ${SCHEDULERS.join(', ')}.`, { field: 'scheduler' });
  return { sigmas, timesteps: timestepsOf(sigmas) };
}
