// The Generate form's LoRAs (a plain module beside the generate store): what is kept across restarts, checked
// field by field, and what a submit sends (`loras` of the one parameter schema). Off = `enabled: false`, which the
// runner sends at strength 0 (the same graphs: switching back on needs no reload).
import { GENERATION_LIMITS, loraStrengthSchema, type LoraRef } from '../../src-shared/generation';

export interface FormLora {
  name: string;
  sha256: string;
  strength: number;
  enabled: boolean;
}

/** The slider's range (typical LoRA strengths); the number field takes the whole −10…10. */
export const LORA_SLIDER = { min: -1, max: 2, step: 0.05 } as const;

/** Kept form LoRAs, each field checked (a malformed entry is dropped). */
export function restoreFormLoras(raw: unknown): FormLora[] {
  if (!Array.isArray(raw)) return [];
  const out: FormLora[] = [];
  for (const x of raw) {
    if (!x || typeof x !== 'object') continue;
    const r = x as Record<string, unknown>;
    if (typeof r.name !== 'string' || typeof r.sha256 !== 'string' || !/^[0-9a-f]{64}$/u.test(r.sha256)) continue;
    const strength = typeof r.strength === 'number' && loraStrengthSchema.safeParse(r.strength).success ? r.strength : 1;
    out.push({ name: r.name.slice(0, 256), sha256: r.sha256, strength, enabled: r.enabled !== false });
    if (out.length >= GENERATION_LIMITS.maxLoras) break;
  }
  return out;
}

/** The submit's `loras`, or the error that stops it. */
export function formLoraRefs(list: readonly FormLora[]): { loras: LoraRef[] } | { error: string } {
  if (list.length > GENERATION_LIMITS.maxLoras) return { error: `At most ${GENERATION_LIMITS.maxLoras} LoRAs per generation.` };
  const loras: LoraRef[] = [];
  for (const l of list) {
    if (!loraStrengthSchema.safeParse(l.strength).success) {
      return { error: `LoRA "${l.name}": the strength is a number from ${GENERATION_LIMITS.minLoraStrength} to ${GENERATION_LIMITS.maxLoraStrength}.` };
    }
    loras.push({ name: l.name, sha256: l.sha256, strength: l.strength, ...(l.enabled ? {} : { enabled: false }) });
  }
  return { loras };
}
