// Flow-match Euler as diffusers' FlowMatchEulerDiscreteScheduler computes it for SD3 (static shift), rounding
// where it rounds:
//  - __init__ (torch float32): sigmas of the 1000 training steps t/1000, t = 1000 … 1, shifted; σ_max = the first,
//    σ_min = the last (σ(0.001) computed in float32);
//  - set_timesteps (numpy float64): t = linspace(1000·σ_max, 1000·σ_min, N); s = t/1000; σ = shift·s/(1+(shift−1)·s)
//    (so every value is shifted once more, σ_min included); cast to float32; timesteps = σ·1000 in float32;
//    then a final σ = 0;
//  - step: x ← x + (σ_next − σ)·v, each operation in float32.
import fs from 'node:fs/promises';
import path from 'node:path';
import { MAX_JSON_DEPTH, jsonDepth } from '../../src-shared/bounded-json';
import { StudioError } from '../../src-shared/errors';

const NUM_TRAIN_TIMESTEPS = 1000;
export const DEFAULT_SHIFT = 3.0;

const f32 = Math.fround;

/** The sigma of training step `t` (1 … 1000) as diffusers' __init__ computes it in float32. */
function trainSigmaF32(t: number, shift: number): number {
  const s = f32(f32(t) / NUM_TRAIN_TIMESTEPS);
  const shiftF = f32(shift);
  const shiftMinusOneF = f32(shift - 1);
  return f32(f32(shiftF * s) / f32(1 + f32(shiftMinusOneF * s)));
}

/** numpy.linspace(start, stop, num) with endpoint=True, in float64, as numpy computes it. */
function linspace(start: number, stop: number, num: number): number[] {
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  const out: number[] = [];
  for (let i = 0; i < num; i++) out.push(i * step + start);
  out[num - 1] = stop;
  return out;
}

function checkSteps(steps: number, shift: number): void {
  if (!Number.isInteger(steps) || steps < 1 || steps > 10_000) {
    throw new StudioError('invalid_input', `Steps must be a whole number from 1 upwards (got ${String(steps)}).`);
  }
  if (!Number.isFinite(shift) || shift <= 0) {
    throw new StudioError('invalid_input', `The scheduler shift must be a positive number (got ${String(shift)}).`);
  }
}

/**
 * Sigmas (steps + 1 values, the last 0) and transformer timesteps (steps values, float32 σ·1000) of SD3's
 * flow-match Euler schedule, equal to diffusers' FlowMatchEulerDiscreteScheduler(shift).set_timesteps(steps).
 * Every value is a float32 value (held in a double).
 */
export function flowMatchSigmas(steps: number, shift: number): { sigmas: number[]; timesteps: number[] } {
  checkSteps(steps, shift);
  const sigmaMax = trainSigmaF32(NUM_TRAIN_TIMESTEPS, shift);
  const sigmaMin = trainSigmaF32(1, shift);
  const ts = linspace(sigmaMax * NUM_TRAIN_TIMESTEPS, sigmaMin * NUM_TRAIN_TIMESTEPS, steps);
  const sigmas = ts.map((t) => {
    const s = t / NUM_TRAIN_TIMESTEPS;
    return f32((shift * s) / (1 + (shift - 1) * s));
  });
  const timesteps = sigmas.map((s) => f32(s * NUM_TRAIN_TIMESTEPS));
  sigmas.push(0);
  return { sigmas, timesteps };
}

/** One Euler step in place: x ← x + (σ_next − σ)·v, in float32 like diffusers (dt rounded, then each product). */
export function eulerStep(x: Float32Array, v: Float32Array, sigma: number, sigmaNext: number): void {
  if (x.length !== v.length) {
    throw new StudioError('internal', `Euler step: the latents have ${x.length} values but the velocity has ${v.length}.`);
  }
  const dt = f32(f32(sigmaNext) - f32(sigma));
  for (let i = 0; i < x.length; i++) {
    x[i] = x[i]! + f32(dt * v[i]!);
  }
}

/**
 * The `shift` of a model folder's scheduler/scheduler_config.json; 3.0 (SD3.5's value) when the file or the key is
 * missing. A file that is present but unreadable or holds a bad shift is an invalid_input error naming it.
 */
export async function readSchedulerShift(modelFolder: string): Promise<number> {
  const file = path.join(modelFolder, 'scheduler', 'scheduler_config.json');
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return DEFAULT_SHIFT;
    throw new StudioError('invalid_input', `Could not read ${file}: ${(err as Error).message}. Check the model folder's permissions.`);
  }
  let config: unknown;
  if (jsonDepth(text) > MAX_JSON_DEPTH) {
    throw new StudioError('invalid_input', `${file} nests deeper than ${MAX_JSON_DEPTH} levels; a scheduler configuration is a flat object. Re-download or repair the model's scheduler folder.`);
  }
  try {
    config = JSON.parse(text);
  } catch {
    throw new StudioError('invalid_input', `${file} is not valid JSON. Re-download or repair the model's scheduler folder.`);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new StudioError('invalid_input', `${file} does not hold a JSON object. Re-download or repair the model's scheduler folder.`);
  }
  const shift = (config as Record<string, unknown>).shift;
  if (shift === undefined || shift === null) return DEFAULT_SHIFT;
  if (typeof shift !== 'number' || !Number.isFinite(shift) || shift <= 0) {
    throw new StudioError('invalid_input', `${file} has shift ${JSON.stringify(shift)}; it must be a positive number (SD3.5 uses 3.0).`);
  }
  return shift;
}
