// `<lora:name:strength>` tags typed in a submitted prompt (src-shared/lora-prompt.ts, THE tag rule) become library
// LoRAs of the job and leave its prompt: inside the studio a job's LoRAs are one list (`loras`); the tags are an
// input syntax, and the A1111 text of an image writes them back (metadata/a1111.ts). A tag naming a LoRA the
// list already has sets that LoRA's strength (what was typed last wins); a name the library lacks, or a strength
// that is not a number in range, is refused naming the tag.
import { StudioError } from '../../../src-shared/errors';
import { GENERATION_LIMITS, loraStrengthSchema, type JobParams, type LoraRef } from '../../../src-shared/generation';
import { promptLoraTags, stripLoraTags } from '../../../src-shared/lora-prompt';
import type { LoraEntry } from './library';

export function withPromptLoras(params: JobParams, find: (ref: string) => LoraEntry | undefined): JobParams {
  const tags = promptLoraTags(params.prompt);
  if (tags.length === 0) return params;
  const loras: LoraRef[] = [...(params.loras ?? [])];
  for (const tag of tags) {
    if (tag.strength === null || !loraStrengthSchema.safeParse(tag.strength).success) {
      throw new StudioError(
        'invalid_input',
        `${tag.text}: the strength must be a number from ${GENERATION_LIMITS.minLoraStrength} to ${GENERATION_LIMITS.maxLoraStrength}.`,
        { field: 'prompt' },
      );
    }
    const entry = find(tag.name);
    if (!entry || entry.name.toLowerCase() !== tag.name.toLowerCase()) {
      throw new StudioError('invalid_input', `${tag.text}: there is no LoRA "${tag.name}" in the library.`, { field: 'prompt' });
    }
    const at = loras.findIndex((l) => l.sha256 === entry.sha256);
    const ref: LoraRef = { name: entry.name, sha256: entry.sha256, strength: tag.strength };
    if (at >= 0) loras[at] = ref;
    else loras.push(ref);
  }
  if (loras.length > GENERATION_LIMITS.maxLoras) {
    throw new StudioError('invalid_input', `At most ${GENERATION_LIMITS.maxLoras} LoRAs per generation.`, { field: 'loras' });
  }
  return { ...params, prompt: stripLoraTags(params.prompt), loras };
}
