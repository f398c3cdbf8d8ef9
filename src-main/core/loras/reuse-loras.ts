// "Reuse parameters" for an image that used LoRAs (issue #20 §3): each LoRA the image names — ours (sha256 in the
// `sd35studio` chunk), A1111/Forge (`<lora:…>` tags + `Lora hashes`: A1111's 12-hex hash), Civitai (AutoV2) or
// ComfyUI (`LoraLoader`: a file name only) — is looked up in the library by hash first, by name only when the image
// gives no hash (a hash that matches nothing is a different file, even under the same name). Found: the library's
// current name and sha256; missing: the image's name and hash, so the form can name it.
import type { ParsedLora } from '../../../src-shared/metadata';
import type { ReuseParameters } from '../../../src-shared/schemas/gallery';
import type { LoraEntry } from './library';

export type ReuseLora = NonNullable<ReuseParameters['loras']>[number];

export function resolveReuseLoras(list: readonly ParsedLora[], library: readonly LoraEntry[]): ReuseLora[] {
  const out: ReuseLora[] = [];
  for (const l of list.slice(0, 100)) {
    const strength = typeof l.strength === 'number' && Number.isFinite(l.strength) ? l.strength : 1;
    const hashes = [l.sha256, l.a1111Hash, l.autoV2].filter((h): h is string => typeof h === 'string' && h !== '').map((h) => h.toLowerCase());
    const entry =
      hashes.length > 0
        ? library.find((e) => hashes.some((h) => h === e.sha256 || h === e.a1111 || h === e.autoV2))
        : library.find((e) => e.name.toLowerCase() === l.name.trim().toLowerCase());
    if (entry) out.push({ name: entry.name, strength, sha256: entry.sha256 });
    else out.push({ name: l.name.slice(0, 256), strength, ...(hashes[0] !== undefined ? { hash: hashes[0].slice(0, 64) } : {}) });
  }
  return out;
}
