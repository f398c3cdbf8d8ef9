// The LoRA entries of an image's metadata (src-shared/metadata/types.ts studioLoraMetaSchema), as the detail panel
// shows them. Metadata comes from a file, so each entry is validated; an entry that does not parse is skipped.
import { studioLoraMetaSchema } from '../../../src-shared/metadata/types';

/** Unmatched keys listed before "Show N more" (the metadata keeps them all). */
export const SHOWN_UNMATCHED = 8;

export interface LoraDetail {
  name: string;
  strength: number;
  sha256: string;
  a1111Hash: string;
  autoV2: string;
  /** "transformer 24, clip_l 4", or '' when the worker did not report it. */
  applied: string;
  unmatched: string[];
  shown: string[];
  more: string[];
}

export function loraDetailsOf(meta: Record<string, unknown> | null | undefined): LoraDetail[] {
  const list = meta?.loras;
  if (!Array.isArray(list)) return [];
  const out: LoraDetail[] = [];
  for (const raw of list) {
    const p = studioLoraMetaSchema.safeParse(raw);
    if (!p.success) continue;
    const l = p.data;
    const unmatched = l.unmatched ?? [];
    out.push({
      name: l.name,
      strength: l.strength,
      sha256: l.sha256,
      a1111Hash: l.a1111Hash,
      autoV2: l.autoV2,
      applied: l.applied ? Object.entries(l.applied).map(([c, n]) => `${c} ${n}`).join(', ') : '',
      unmatched,
      shown: unmatched.slice(0, SHOWN_UNMATCHED),
      more: unmatched.slice(SHOWN_UNMATCHED),
    });
  }
  return out;
}
