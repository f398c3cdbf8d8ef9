// ETA from this machine's measured step time for the same model and size (step_times), refined as the
// steps of the running generation arrive: the stored figure counts as two steps' worth of evidence.
export interface EtaInput {
  /** Stored ms per step for this model and size, when measured before. */
  storedMsPerStep: number | undefined;
  step: number;
  total: number;
  /** Since the running generation's first step began (model loading excluded). */
  elapsedMs: number;
  /** Steps of the job's generations still queued behind this one. */
  queuedSteps: number;
}

const STORED_WEIGHT = 2;

export function msPerStep(input: Pick<EtaInput, 'storedMsPerStep' | 'step' | 'elapsedMs'>): number | undefined {
  const measured = input.step > 0 ? input.elapsedMs / input.step : undefined;
  if (measured === undefined) return input.storedMsPerStep;
  if (input.storedMsPerStep === undefined) return measured;
  return (input.storedMsPerStep * STORED_WEIGHT + measured * input.step) / (STORED_WEIGHT + input.step);
}

/** Milliseconds until the job's last generation is done; null when nothing is known yet. */
export function etaMs(input: EtaInput): number | null {
  const per = msPerStep(input);
  if (per === undefined) return null;
  const left = Math.max(0, input.total - input.step) + Math.max(0, input.queuedSteps);
  return Math.round(left * per);
}
