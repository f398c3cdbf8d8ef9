// The AUTOMATIC1111 "parameters" text: writer (for our images) and reader (ours, A1111, Forge and the
// many tools that copy the format). Layout:
//   <prompt, any number of lines>
//   Negative prompt: <negative, any number of lines>      (only when non-empty)
//   Key: value, Key: value, …                              (one line; values with , : or newline JSON-quoted)
import { normalizeIntString, parseJsonLossless } from './json-lossless';
import { SAMPLER_LABELS, SCHEDULER_LABELS, slgSchema } from '../generation';
import { MASK_PADDING_LIMITS } from '../img2img';
import { studioSampling } from './studio-sampling';
import { LORA_TAG_RE } from '../lora-prompt';
import type { ParsedLora, ParsedParameters, StudioImageMeta } from './types';

const NEGATIVE_PREFIX = 'Negative prompt:';

/** JSON-quote a value when A1111's reader would otherwise cut or trim it. */
export function quoteA1111Value(value: string): string {
  const needs =
    /[,:]|\p{Cc}/u.test(value) || /^["{[]/.test(value) || value !== value.trim();
  return needs ? JSON.stringify(value) : value;
}

function formatNumber(n: number): string {
  return String(n);
}

/** Sampler and schedule as A1111/Forge name them ("Sampler: DPM++ 2M", "Schedule type: SGM Uniform"). */
function samplerFields(meta: StudioImageMeta): [string, string][] {
  const { sampler, scheduler } = studioSampling(meta);
  const samplerLabel = (SAMPLER_LABELS as Record<string, string>)[sampler] ?? sampler;
  const scheduleLabel = (SCHEDULER_LABELS as Record<string, string>)[scheduler] ?? scheduler;
  return [
    ['Sampler', samplerLabel],
    ['Schedule type', scheduleLabel],
  ];
}

/** Skip-Layer Guidance as ComfyUI's SkipLayerGuidanceSD3 node names its inputs (layers "7, 8, 9", scale, start/end). */
function slgFields(meta: StudioImageMeta): [string, string][] {
  if (!meta.slg) return [];
  return [
    ['SLG layers', meta.slg.layers.join(', ')],
    ['SLG scale', formatNumber(meta.slg.scale)],
    ['SLG start', formatNumber(meta.slg.start)],
    ['SLG end', formatNumber(meta.slg.end)],
  ];
}

function rngLabel(rng: string): string {
  return rng.startsWith('torch-cpu') ? 'CPU' : rng;
}

// LoRAs as A1111 writes them (extensions-builtin/Lora: extra_networks_lora.py `activate` builds
// `Lora hashes` as "alias: shorthash, …" with ':' and ',' removed from the alias; the prompt keeps the
// `<lora:alias:multiplier>` tags the user typed, which modules/extra_networks.py `parse_prompts` strips
// from the text the encoders see). Our encoders get the prompt without tags (the LoRAs travel as a list);
// the tags are written here only, for the LoRAs the prompt does not already name.

/** A LoRA name as A1111 can read it back in a `<lora:…>` tag or a `Lora hashes` entry. */
function loraAlias(name: string): string {
  return name.replace(/[:,<>\n\r]/g, '');
}

// The tag syntax is src-shared/lora-prompt.ts's (THE rule: the queue, the runner and the form use it too).

function promptWithLoraTags(prompt: string, loras: NonNullable<StudioImageMeta['loras']>): string {
  const tagged = new Set<string>();
  for (const m of prompt.matchAll(LORA_TAG_RE)) tagged.add((m[1] as string).trim().toLowerCase());
  const tags = loras.filter((l) => !tagged.has(loraAlias(l.name).toLowerCase())).map((l) => `<lora:${loraAlias(l.name)}:${formatNumber(l.strength)}>`);
  if (tags.length === 0) return prompt;
  return prompt === '' ? tags.join(' ') : `${prompt} ${tags.join(' ')}`;
}

/** The A1111 `parameters` text for one of our images. */
/** A1111's extras fields of an upscale ("Postprocess upscale by: 2, Postprocess upscaler: Lanczos"). */
export function postprocessFields(scale: number, upscaler: string): [string, string][] {
  return [
    ['Postprocess upscale by', formatNumber(scale)],
    ['Postprocess upscaler', upscaler === 'lanczos' ? 'Lanczos' : upscaler],
  ];
}

export function formatParameters(meta: StudioImageMeta): string {
  const fields: [string, string][] = [
    ['Steps', formatNumber(meta.steps)],
    ...samplerFields(meta),
    ['CFG scale', formatNumber(meta.guidance)],
    ['Seed', meta.seed],
    ['Size', `${meta.width}x${meta.height}`],
    ['Shift', formatNumber(meta.shift)],
    ...slgFields(meta),
  ];
  // Image to image / inpainting, as A1111 writes them (its img2img "Denoising strength", "Mask blur").
  if (meta.init !== undefined) {
    fields.push(['Denoising strength', formatNumber(meta.init.strength)]);
    if (meta.init.mask !== undefined) fields.push(['Mask blur', formatNumber(meta.init.mask.blur)]);
    if (meta.init.mask !== undefined || meta.init.outpaint !== undefined) {
      fields.push(['Inpaint area', meta.init.area === 'masked' ? 'Only masked' : 'Whole picture']);
    }
    // A1111 writes "Masked area padding" only with "Only masked" (processing.py: inpaint_full_res_padding).
    if (meta.init.area === 'masked') fields.push(['Masked area padding', formatNumber(meta.init.padding ?? MASK_PADDING_LIMITS.default)]);
    if (meta.init.outpaint !== undefined) {
      const o = meta.init.outpaint;
      fields.push(['Outpaint', `${o.left},${o.top},${o.right},${o.bottom}`]);
    }
  }
  // Hires fix, as A1111's txt2img writes it (processing.py StableDiffusionProcessingTxt2Img.init: "Hires upscale",
  // "Hires steps", "Hires upscaler", and its "Denoising strength"); Size stays the base size.
  if (meta.hires !== undefined) {
    fields.push(
      ['Denoising strength', formatNumber(meta.hires.strength)],
      ['Hires upscale', formatNumber(meta.hires.scale)],
      ['Hires steps', formatNumber(meta.hires.steps)],
      ['Hires upscaler', meta.hires.upscaler === 'lanczos' ? 'Lanczos' : meta.hires.upscaler],
    );
  }
  // An upscaled image: A1111's extras fields (modules/postprocessing.py, scripts/postprocessing_upscale.py).
  if (meta.upscale !== undefined) fields.push(...postprocessFields(meta.upscale.scale, meta.upscale.upscaler));
  if (meta.model.modelHash !== undefined && meta.model.modelHash !== '') {
    fields.push(['Model hash', meta.model.modelHash]);
  }
  fields.push(['Model', meta.model.id]);
  const loras = meta.loras ?? [];
  if (loras.length > 0) fields.push(['Lora hashes', loras.map((l) => `${loraAlias(l.name)}: ${l.a1111Hash}`).join(', ')]);
  fields.push(['RNG', rngLabel(meta.rng)], ['Version', `sd35-studio ${meta.appVersion}`]);
  const paramsLine = fields.map(([k, v]) => `${k}: ${quoteA1111Value(v)}`).join(', ');
  const parts: string[] = [];
  const prompt = loras.length > 0 ? promptWithLoraTags(meta.prompt, loras) : meta.prompt;
  if (prompt !== '') parts.push(prompt);
  if (meta.negativePrompt !== '') parts.push(`${NEGATIVE_PREFIX} ${meta.negativePrompt}`);
  parts.push(paramsLine);
  return parts.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Reader

const KEY_RE = /^[\p{L}\p{N}_][\p{L}\p{N}_ \-/.()]*$/u;

/**
 * Characters the quoted/JSON value scans may look at for one line, beyond the line itself. Failed
 * scans on a hostile line (thousands of unclosed `{` or `"`) would otherwise rescan it quadratically;
 * once the budget is spent, values are read the plain way (up to the next comma).
 */
interface ScanBudget {
  left: number;
}

/** Scan a JSON string literal starting at s[i] === '"'; returns the index after the closing quote. */
function scanQuoted(s: string, i: number, budget: ScanBudget): number | undefined {
  let j = i + 1;
  while (j < s.length) {
    if (--budget.left < 0) return undefined;
    const c = s.charCodeAt(j);
    if (c === 0x5c /* \ */) j += 2;
    else if (c === 0x22 /* " */) return j + 1;
    else j++;
  }
  return undefined;
}

/** Scan a balanced {…} or […] starting at s[i]; strings inside are respected. */
function scanBalanced(s: string, i: number, budget: ScanBudget): number | undefined {
  let depth = 0;
  let j = i;
  while (j < s.length) {
    if (--budget.left < 0) return undefined;
    const c = s.charCodeAt(j);
    if (c === 0x22) {
      const end = scanQuoted(s, j, budget);
      if (end === undefined) return undefined;
      j = end;
      continue;
    }
    if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) return j + 1;
    }
    j++;
  }
  return undefined;
}

/** True when only spaces separate s[j] from the next ',' or the end of the line. */
function endsField(s: string, j: number): boolean {
  while (j < s.length && (s[j] === ' ' || s[j] === '\t')) j++;
  return j >= s.length || s[j] === ',';
}

function unquote(quoted: string): string {
  try {
    const v = parseJsonLossless(quoted);
    return typeof v === 'string' ? v : quoted;
  } catch {
    return quoted;
  }
}

/** A parameters line is a few KB (20 KB with many extensions); a longer last line is prompt text. */
const MAX_PARAMS_LINE = 256 * 1024;
/** Fields read from one line at most. */
const MAX_FIELDS = 2000;

/** The `Key: value, …` pairs of an A1111 parameters line, in order (at most 2000). */
export function parseA1111ParamsLine(line: string): [string, string][] {
  const out: [string, string][] = [];
  let i = 0;
  const n = line.length;
  // The next ':' is cached: searching for it afresh at every comma would be quadratic on a long
  // comma-separated prompt line without colons.
  let colon = -1;
  const budget: ScanBudget = { left: 2 * n + 100_000 };
  while (i < n && out.length < MAX_FIELDS) {
    while (i < n && (line[i] === ' ' || line[i] === '\t' || line[i] === ',')) i++;
    if (i >= n) break;
    if (colon !== -2 && colon < i) {
      colon = line.indexOf(':', i);
      if (colon < 0) colon = -2; // none left
    }
    const comma = line.indexOf(',', i);
    if (colon === -2 || (comma >= 0 && comma < colon)) {
      // Not a key: skip this piece.
      i = comma < 0 ? n : comma + 1;
      continue;
    }
    const key = line.slice(i, colon).trim();
    i = colon + 1;
    while (i < n && line[i] === ' ') i++;
    let value: string;
    let end: number | undefined;
    if (line[i] === '"' && (end = scanQuoted(line, i, budget)) !== undefined && endsField(line, end)) {
      value = unquote(line.slice(i, end));
      i = end;
    } else if ((line[i] === '{' || line[i] === '[') && (end = scanBalanced(line, i, budget)) !== undefined && endsField(line, end)) {
      value = line.slice(i, end);
      i = end;
    } else {
      const next = line.indexOf(',', i);
      end = next < 0 ? n : next;
      value = line.slice(i, end).trim();
      i = end;
    }
    if (KEY_RE.test(key)) out.push([key, value]);
  }
  return out;
}

function toInt(v: string): number | undefined {
  if (!/^\d{1,9}$/.test(v.trim())) return undefined;
  return Number(v.trim());
}

function toFinite(v: string): number | undefined {
  const t = v.trim();
  if (!/^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

/** Apply one A1111 key/value to the result; false when the key is not a typed field or the value is malformed. */
function applyTyped(res: ParsedParameters, key: string, value: string): boolean {
  switch (key) {
    case 'Steps': {
      res.steps = toInt(value);
      return res.steps !== undefined;
    }
    case 'CFG scale': {
      res.guidance = toFinite(value);
      return res.guidance !== undefined;
    }
    case 'Seed': {
      const ok = /^\s*\d+\s*$/.test(value);
      res.seed = ok ? normalizeIntString(value.trim()) : undefined;
      return ok;
    }
    case 'Size': {
      const m = /^\s*(\d{1,6})\s*x\s*(\d{1,6})\s*$/.exec(value);
      res.width = m ? Number(m[1]) : undefined;
      res.height = m ? Number(m[2]) : undefined;
      return m !== null;
    }
    case 'Sampler':
      res.sampler = value;
      return true;
    case 'Schedule type':
      res.scheduler = value;
      return true;
    case 'Shift': {
      const v = Number(value);
      const ok = value.trim() !== '' && Number.isFinite(v) && v > 0;
      if (ok) res.shift = v;
      return ok;
    }
    case 'Model':
      res.model = value;
      return true;
    case 'Model hash':
      res.modelHash = value;
      return true;
    default:
      return false;
  }
}

/** "SLG layers/scale/start/end" (slgFields) back to res.slg when all four are there and valid; else they stay in extra. */
function readSlgFields(res: ParsedParameters): void {
  const e = res.extra;
  const layers = e['SLG layers'];
  if (layers === undefined) return;
  const candidate = {
    layers: layers.split(/[\s,]+/).filter(Boolean).map(Number),
    scale: Number(e['SLG scale']),
    start: Number(e['SLG start']),
    end: Number(e['SLG end']),
  };
  const ok = slgSchema.safeParse(candidate);
  if (!ok.success) return;
  res.slg = ok.data;
  for (const k of ['SLG layers', 'SLG scale', 'SLG start', 'SLG end']) delete e[k];
}

/** A1111/Forge img2img fields, read into typed fields and kept in `extra` as the file names them too. */
function applyImg2img(res: ParsedParameters, key: string, value: string): void {
  if (key === 'Denoising strength') {
    const v = toFinite(value);
    if (v !== undefined) res.denoisingStrength = v;
  } else if (key === 'Mask blur') {
    const v = toInt(value);
    if (v !== undefined) res.maskBlur = v;
  } else if (key === 'Inpaint area') res.inpaintArea = value;
  else if (key === 'Masked area padding') {
    const v = toInt(value);
    if (v !== undefined) res.maskPadding = v;
  } else if (key === 'Hires upscale') {
    const v = toFinite(value);
    if (v !== undefined && v > 0) res.hiresUpscale = v;
  } else if (key === 'Hires steps') {
    const v = toInt(value);
    if (v !== undefined && v >= 0) res.hiresSteps = v;
  } else if (key === 'Hires upscaler') res.hiresUpscaler = value;
}

/**
 * A1111's `Lora hashes` value: "name: hash, …" (Lora/scripts/lora_script.py `parse_lora_hashes` splits on
 * ',' then on the first ':'; entries without ':' are skipped).
 */
export function parseLoraHashes(value: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of value.split(',').slice(0, 100)) {
    const colon = part.indexOf(':');
    if (colon < 0) continue;
    const name = part.slice(0, colon).trim();
    const hash = part.slice(colon + 1).trim().toLowerCase();
    if (name !== '' && /^[0-9a-f]{1,64}$/u.test(hash)) out.set(name, hash);
  }
  return out;
}

/**
 * The `<lora:name[:te[:unet]]>` tags of a prompt (modules/extra_networks.py `re_extra_net` and
 * `ExtraNetworkParams`: the first argument is the name, the second the multiplier, default 1) joined with the
 * `Lora hashes` entries by name; hashes without a tag are listed too.
 */
export function loraList(prompt: string, hashes: Map<string, string>): ParsedLora[] {
  const out: ParsedLora[] = [];
  const seen = new Set<string>();
  for (const m of prompt.matchAll(LORA_TAG_RE)) {
    if (out.length >= 100) break;
    const name = (m[1] as string).trim();
    if (name === '' || seen.has(name.toLowerCase())) continue;
    seen.add(name.toLowerCase());
    const lora: ParsedLora = { name };
    const s = m[2] === undefined || m[2].trim() === '' ? 1 : toFinite(m[2]);
    if (s !== undefined) lora.strength = s;
    const hash = hashes.get(name);
    if (hash !== undefined) lora.a1111Hash = hash;
    out.push(lora);
  }
  for (const [name, hash] of hashes) {
    if (!seen.has(name.toLowerCase())) out.push({ name, a1111Hash: hash });
  }
  return out;
}

function applyField(res: ParsedParameters, key: string, value: string): void {
  applyImg2img(res, key, value);
  if (!applyTyped(res, key, value)) res.extra[key] = value;
}

/**
 * Parse A1111/Forge `parameters` text (and ours). Never throws: text without a parameters line is all
 * prompt. Prompt and negative prompt are trimmed at both ends, as A1111 and its readers do; inner
 * lines keep their whitespace (and any \r of CRLF files).
 */
export function parseA1111(text: string): ParsedParameters {
  const res: ParsedParameters = { source: 'a1111', extra: {} };
  const lines = text.trim().split('\n');
  // Dynamic Prompts appends its templates after the parameters line.
  for (;;) {
    const m = lines.length > 1 ? /^(Template|Negative Template): ?(.*)$/s.exec(lines[lines.length - 1] ?? '') : null;
    if (!m) break;
    lines.pop();
    res.extra[m[1] as string] = (m[2] as string).trim();
  }
  const last = lines[lines.length - 1] ?? '';
  const fields = last.length <= MAX_PARAMS_LINE ? parseA1111ParamsLine(last) : [];
  if (fields.length >= 3) {
    lines.pop();
    for (const [k, v] of fields) applyField(res, k, v);
    readSlgFields(res);
  }
  const negIndex = lines.findIndex((l) => l.startsWith(NEGATIVE_PREFIX));
  const promptLines = negIndex < 0 ? lines : lines.slice(0, negIndex);
  res.prompt = promptLines.join('\n').trim();
  if (negIndex >= 0) {
    const negLines = lines.slice(negIndex);
    negLines[0] = (negLines[0] ?? '').slice(NEGATIVE_PREFIX.length);
    res.negativePrompt = negLines.join('\n').trim();
  }
  const hashes = res.extra['Lora hashes'] !== undefined ? parseLoraHashes(res.extra['Lora hashes']) : new Map<string, string>();
  const loras = loraList(res.prompt, hashes);
  if (loras.length > 0) res.loras = loras;
  return res;
}
