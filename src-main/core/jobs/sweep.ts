// Seed × axis expansion of a submit: one generation per (seed, axis value), each with its own full
// parameters, at most 64. Seed-major order: all axis values of the first seed, then of the next.
import { StudioError } from '../../../src-shared/errors';
import {
  GENERATION_LIMITS,
  addToSeed,
  generationParamsSchema,
  paramErrors,
  randomSeed,
  seedCount,
  SLG_DEFAULT,
  type AxisValue,
  type Sampler,
  type Scheduler,
  type GenerationParams,
  type JobParams,
  type Sweep,
  type SweepAxis,
} from '../../../src-shared/generation';

export interface PlannedGeneration {
  idx: number;
  seed: string;
  axisValue?: AxisValue;
  params: GenerationParams;
}

/** The seeds of a sweep; random ones are drawn now (distinct, in [0, 2^32)). */
export function sweepSeeds(sweep: Sweep, draw: () => string = randomSeed): string[] {
  const s = sweep.seeds;
  if (s.mode === 'list') return [...s.seeds];
  if (s.mode === 'consecutive') {
    const seeds: string[] = [];
    for (let k = 0; k < s.count; k++) {
      const seed = addToSeed(s.first, k);
      if (seed === null) throw new StudioError('invalid_input', `Seed ${s.first} + ${k} goes past the largest seed.`, { field: 'seed' });
      seeds.push(seed);
    }
    return seeds;
  }
  const seen = new Set<string>();
  for (let tries = 0; seen.size < s.count && tries < s.count * 100; tries++) seen.add(draw());
  return [...seen];
}

/** Sets the axis's parameter of one generation to `value` (the sweep's expansion and the stored queue alike). */
export function applyAxisValue(p: GenerationParams, kind: SweepAxis['kind'], value: AxisValue, lora?: string): void {
  if (kind === 'loraStrength' || kind === 'loraOn') {
    p.loras = withLoraAxis(p.loras, lora ?? '', kind === 'loraStrength' ? { strength: value as number } : { enabled: value === 'on' });
    return;
  }
  if (kind === 'guidance') p.guidance = value as number;
  else if (kind === 'steps') p.steps = value as number;
  else if (kind === 'sampler') p.sampler = value as Sampler;
  else if (kind === 'scheduler') p.scheduler = value as Scheduler;
  else if (kind === 'shift') p.shift = value as number;
  // An SLG scale axis on a form without SLG uses the default layers and window (SLG_DEFAULT).
  else if (kind === 'slgScale') p.slg = { ...(p.slg ?? SLG_DEFAULT), scale: value as number };
  // A strength axis needs a source image: without one there is nothing to vary.
  else if (kind === 'strength') {
    if (!p.init) throw new StudioError('invalid_input', 'A strength sweep needs an init image (image to image).', { field: 'sweep' });
    p.init = { ...p.init, strength: value as number };
  }
  else p.model = value as string;
}

/** The job's LoRAs with the axis's one (by name, case-insensitive) changed; a name the job lacks is refused. */
function withLoraAxis(loras: GenerationParams['loras'], name: string, patch: { strength?: number; enabled?: boolean }): GenerationParams['loras'] {
  const key = name.trim().toLowerCase();
  if (!loras?.some((l) => l.name.toLowerCase() === key)) {
    throw new StudioError('invalid_input', `The sweep's LoRA "${name}" is not one of this job's LoRAs: add it first.`, { field: 'sweep' });
  }
  return loras.map((l) => {
    if (l.name.toLowerCase() !== key) return l;
    const { enabled: _e, ...rest } = l;
    const next = { ...rest, ...(patch.strength !== undefined ? { strength: patch.strength } : {}) };
    const enabled = patch.enabled ?? l.enabled;
    return enabled === false ? { ...next, enabled: false } : next;
  });
}

/** The LoRA an axis names (LoRA axes only). */
export function axisLora(axis: SweepAxis | undefined): string | undefined {
  return axis && (axis.kind === 'loraStrength' || axis.kind === 'loraOn') ? axis.lora : undefined;
}

/** Expands a submit into its generations (validated: each one is a valid GenerationParams). */
export function expandSweep(params: JobParams, sweep: Sweep, draw?: () => string): PlannedGeneration[] {
  const n = seedCount(sweep.seeds) * (sweep.axis?.values.length ?? 1);
  if (n > GENERATION_LIMITS.maxPerSubmit) {
    throw new StudioError(
      'invalid_input',
      `This sweep makes ${n} images; at most ${GENERATION_LIMITS.maxPerSubmit} are made per submit (seeds × axis values).`,
      { field: 'sweep' },
    );
  }
  const seeds = sweepSeeds(sweep, draw);
  const axis = sweep.axis;
  const out: PlannedGeneration[] = [];
  for (const seed of seeds) {
    const values: (AxisValue | undefined)[] = axis ? axis.values : [undefined];
    for (const value of values) {
      const p: GenerationParams = { ...params, seed };
      if (axis && value !== undefined) applyAxisValue(p, axis.kind, value, axisLora(axis));
      const checked = generationParamsSchema.safeParse(p);
      if (!checked.success) {
        const [field, message] = Object.entries(paramErrors(checked.error))[0] ?? ['parameters', 'not valid'];
        throw new StudioError('invalid_input', `Generation ${out.length + 1} of the sweep: ${message}`, { field });
      }
      out.push({ idx: out.length, seed, ...(value !== undefined ? { axisValue: value } : {}), params: checked.data });
    }
  }
  return out;
}
