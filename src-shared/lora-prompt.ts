// THE rule for A1111's `<lora:name:strength>` tags in a prompt (issue #20 §3): which tags a prompt holds, the
// text the encoders see (the prompt without them), and the unfinished tag at the caret (the prompt field's
// autocompletion). A1111: modules/extra_networks.py `re_extra_net` = `<(\w+):([^>]+)>` and `parse_prompt`, which
// removes every tag from the text and keeps its arguments (`ExtraNetworkParams`: split on ':'); the LoRA
// network (extensions-builtin/Lora/extra_networks_lora.py `activate`) reads the name from the first argument and
// the multiplier from the second (default 1.0; a third, the UNet multiplier, defaults to the second). The studio
// has one strength per LoRA: the second argument. Only `lora` tags are read and removed here.
//
// Used by the job queue (tags of a submitted prompt become library LoRAs and leave the prompt), the runner (the
// worker never sees a tag), the metadata writer and parser (src-shared/metadata/a1111.ts) and the Generate form.

/** `<lora:name>`, `<lora:name:0.8>`, `<lora:name:0.8:0.5>` (case-insensitive `lora`, as A1111's regex is). */
export const LORA_TAG_RE = /<lora:([^:>]+)(?::([^:>]*))?(?::[^>]*)?>/giu;

export interface PromptLoraTag {
  /** The name as typed, trimmed. */
  name: string;
  /** The second argument as a number (1 when absent or empty); null when it is not a number. */
  strength: number | null;
  /** The tag's place in the prompt (UTF-16 offsets) and its text. */
  start: number;
  end: number;
  text: string;
}

function tagStrength(arg: string | undefined): number | null {
  if (arg === undefined || arg.trim() === '') return 1;
  const t = arg.trim();
  // Python's float(): a plain decimal number (no hex, no empty string, no trailing garbage).
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/u.test(t)) return null;
  const v = Number(t);
  return Number.isFinite(v) ? v : null;
}

/** Every `<lora:…>` tag of a prompt, in order. */
export function promptLoraTags(prompt: string): PromptLoraTag[] {
  const out: PromptLoraTag[] = [];
  for (const m of prompt.matchAll(LORA_TAG_RE)) {
    const name = (m[1] as string).trim();
    if (name === '') continue;
    out.push({ name, strength: tagStrength(m[2]), start: m.index, end: m.index + m[0].length, text: m[0] });
  }
  return out;
}

/**
 * The prompt as the encoders see it: every `<lora:…>` tag removed, as A1111 does (the text between tags kept as
 * it is); a prompt that had tags loses the whitespace left at its ends (the usual trailing tag's space).
 */
export function stripLoraTags(prompt: string): string {
  const out = prompt.replace(LORA_TAG_RE, '');
  return out === prompt ? prompt : out.trim();
}

/** True when the prompt holds a `<lora:…>` tag. */
export function hasLoraTags(prompt: string): boolean {
  return promptLoraTags(prompt).length > 0;
}

/**
 * The unfinished tag the caret is in (`<lora:` typed, no `>` or second `:` yet): where its name starts and what
 * is typed of it so far. The prompt field offers library names for it.
 */
export function loraTagAtCaret(prompt: string, caret: number): { nameStart: number; query: string } | undefined {
  const before = prompt.slice(0, caret);
  const open = before.toLowerCase().lastIndexOf('<lora:');
  if (open < 0) return undefined;
  const typed = before.slice(open + '<lora:'.length);
  if (/[>:<\n]/u.test(typed)) return undefined;
  return { nameStart: open + '<lora:'.length, query: typed };
}

/**
 * The prompt after choosing `name` for the unfinished tag at the caret: the tag completed with `:strength>`
 * (unless the text after the caret already closes it), and the caret's new place.
 */
export function completeLoraTag(prompt: string, caret: number, name: string, strength = 1): { text: string; caret: number } | undefined {
  const at = loraTagAtCaret(prompt, caret);
  if (!at) return undefined;
  const after = prompt.slice(caret);
  const rest = /^[^\s<>:]*/u.exec(after)?.[0] ?? '';
  const tail = after.slice(rest.length);
  const closes = /^(:[^>]*)?>/u.test(tail);
  const insert = closes ? name : `${name}:${strength}>`;
  const text = prompt.slice(0, at.nameStart) + insert + tail;
  return { text, caret: at.nameStart + insert.length };
}
