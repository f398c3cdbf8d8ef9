// The Generate form: prompt, negative prompt, model, steps, guidance, size, seed and sweep, kept across
// restarts (localStorage), checked with the one parameter schema (src-shared/generation.ts) and turned
// into a jobs.submit call. Live token counts come from the chosen model's own tokenizers
// (models.countTokens). "Reuse parameters" in the Gallery hands its parameters here. A Pinia setup store.
import { defineStore } from 'pinia';
import { computed, reactive, ref, shallowRef, watch } from 'vue';
import type { ResultOf } from '../../src-shared/api';
import { CATALOG, isCatalogId } from '../../src-shared/catalog';
import { StudioError } from '../../src-shared/errors';
import { formatMegapixels } from '../../src-shared/image-size';
import {
  BUILTIN_UPSCALER,
  HIRES_LIMITS,
  hiresSchema,
  hiresSize,
  GENERATION_LIMITS,
  defaultsFor,
  jobParamsSchema,
  paramErrors,
  parseSeed,
  seedMessage,
  SEED_RULE,
  parseSlgLayers,
  SAMPLERS,
  SAMPLING_PRESETS,
  SCHEDULERS,
  randomSeed,
  sizePresetsFor,
  SLG_DEFAULT,
  sweepSchema,
  SWEEP_AXIS_LABELS,
  type Aspect,
  type JobParams,
  type ParamField,
  type Sampler,
  type SamplingPreset,
  type Scheduler,
  type SizePreset,
  type Sweep,
  slgLayersProblem,
} from '../../src-shared/generation';
import type { ReuseParameters } from '../../src-shared/schemas/gallery';
import { stripLoraTags } from '../../src-shared/lora-prompt';
import type { SkipLayerSupport } from '../../src-shared/schemas/models';
import { studio } from '../studio';
import { attempt } from './attempt';
import { useInitImageStore } from './init-image';
import { useInpaintAreaStore } from './inpaint-area';
import { useModelsStore } from './models';
import { formLoraRefs, restoreFormLoras, type FormLora } from './lora-form';

export type SeedMode = 'consecutive' | 'random' | 'list';
export type AxisKind = 'none' | 'guidance' | 'steps' | 'model' | 'sampler' | 'scheduler' | 'shift' | 'slgScale' | 'loraStrength' | 'loraOn' | 'strength';
/** Axes whose values are numbers typed as a list ("3, 4.5, 6"). */
const NUMBER_AXES = ['guidance', 'steps', 'shift', 'slgScale', 'strength'] as const;
type NumberAxis = (typeof NUMBER_AXES)[number];
function isNumberAxis(a: AxisKind): a is NumberAxis {
  return (NUMBER_AXES as readonly string[]).includes(a);
}

export interface GenerateForm {
  prompt: string;
  negativePrompt: string;
  /** An installed model's id ('' = none chosen). */
  model: string;
  steps: number;
  guidance: number;
  width: number;
  height: number;
  /** The size preset the size came from, or 'custom'. */
  aspect: Aspect | 'custom';
  /** The seed as typed (decimal text); used when `seedLocked`. */
  seed: string;
  /** Off: a fresh random seed for every submit. */
  seedLocked: boolean;
  images: number;
  seedMode: SeedMode;
  /** Seeds for seedMode 'list', as typed ("1, 2, 3"). */
  seedList: string;
  axis: AxisKind;
  /** Values of the second axis as typed ("3, 4.5, 6") for guidance and steps. */
  axisValues: string;
  /** Model ids for the model axis. */
  axisModels: string[];
  /** Sampler / schedule ids for those axes. */
  axisSamplers: string[];
  axisSchedulers: string[];
  t5: boolean;
  /** Advanced: sampler, schedule, shift ('' = the model's own), Skip-Layer Guidance. */
  sampler: Sampler;
  scheduler: Scheduler;
  shift: string;
  slg: boolean;
  slgLayers: string;
  slgScale: number;
  slgStart: number;
  slgEnd: number;
  /** Hires fix (components/generate/HiresFields.vue): off, or scale, steps (0 = the same), strength and upscaler. */
  hires: boolean;
  hiresScale: number;
  hiresSteps: number;
  hiresStrength: number;
  hiresUpscaler: string;
  /** LoRAs from the library with a strength each, on or off (stores/lora-form.ts). */
  loras: FormLora[];
  /** The LoRA a LoRA strength / on-off axis varies (its name in `loras`). */
  axisLora: string;
}

export const FORM_STORAGE_KEY = 'sd35studio.generate.form';
export const MAX_IMAGES = GENERATION_LIMITS.maxPerSubmit;

export function defaultForm(): GenerateForm {
  const d = defaultsFor('sd3.5-medium');
  return {
    prompt: '',
    negativePrompt: '',
    model: '',
    steps: d.steps,
    guidance: d.guidance,
    width: d.width,
    height: d.height,
    aspect: '1:1',
    seed: '',
    seedLocked: false,
    images: 1,
    seedMode: 'consecutive',
    seedList: '',
    axis: 'none',
    axisValues: '',
    axisModels: [],
    axisSamplers: [],
    axisSchedulers: [],
    t5: true,
    sampler: d.sampler,
    scheduler: d.scheduler,
    shift: '',
    slg: false,
    slgLayers: SLG_DEFAULT.layers.join(', '),
    slgScale: SLG_DEFAULT.scale,
    slgStart: SLG_DEFAULT.start,
    slgEnd: SLG_DEFAULT.end,
    hires: false,
    hiresScale: HIRES_LIMITS.defaultScale,
    hiresSteps: 0,
    hiresStrength: HIRES_LIMITS.defaultStrength,
    hiresUpscaler: BUILTIN_UPSCALER,
    loras: [],
    axisLora: '',
  };
}

/** Where the form is kept: localStorage in the renderer, a Map in tests (setFormStorage). */
export interface FormStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}
let storage: FormStorage | undefined;
export function setFormStorage(s: FormStorage | undefined): void {
  storage = s;
}
function formStorage(): FormStorage | undefined {
  if (storage) return storage;
  try {
    return typeof localStorage === 'undefined' ? undefined : localStorage;
  } catch {
    return undefined;
  }
}

/** A stored form, each field checked (a field of the wrong type falls back to its default). */
export function restoreForm(text: string | null): GenerateForm {
  const out = defaultForm();
  if (!text) return out;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return out;
  }
  if (!raw || typeof raw !== 'object') return out;
  const r = raw as Record<string, unknown>;
  for (const key of Object.keys(out) as (keyof GenerateForm)[]) {
    const have = r[key];
    const want = out[key];
    if (Array.isArray(want)) {
      if (Array.isArray(have) && have.every((x) => typeof x === 'string')) (out[key] as string[]) = have.slice(0, MAX_IMAGES) as string[];
    } else if (typeof have === typeof want && (typeof have !== 'number' || Number.isFinite(have))) {
      (out as unknown as Record<string, unknown>)[key] = have;
    }
  }
  // Names kept by an older or newer version that this one does not know fall back to the defaults.
  const d = defaultForm();
  if (!(SAMPLERS as readonly string[]).includes(out.sampler)) out.sampler = d.sampler;
  if (!(SCHEDULERS as readonly string[]).includes(out.scheduler)) out.scheduler = d.scheduler;
  out.axisSamplers = out.axisSamplers.filter((x) => (SAMPLERS as readonly string[]).includes(x));
  out.axisSchedulers = out.axisSchedulers.filter((x) => (SCHEDULERS as readonly string[]).includes(x));
  out.loras = restoreFormLoras(r.loras);
  return out;
}

/** Numbers from "3, 4.5  6" (commas or spaces); undefined when a value is not a number. */
export function parseNumberList(text: string): number[] | undefined {
  const parts = text.split(/[\s,;]+/).filter(Boolean);
  const out: number[] = [];
  for (const p of parts) {
    const v = Number(p);
    if (!Number.isFinite(v)) return undefined;
    out.push(v);
  }
  return out;
}

/** Seeds from "1, 2 3"; undefined when one is not a seed. */
export function parseSeedList(text: string): string[] | undefined {
  const parts = text.split(/[\s,;]+/).filter(Boolean);
  const out: string[] = [];
  for (const p of parts) {
    const s = parseSeed(p);
    if (s === null) return undefined;
    out.push(s);
  }
  return out;
}

/** The one random-seed rule (src-shared/generation.ts), re-exported for the form. */
export { randomSeed };

export interface Submission {
  params: JobParams;
  sweep: Sweep;
}

/** One message per field: the parameters' come from THE schema (src-shared/generation.ts), in its words. */
export type FieldErrors = Partial<Record<ParamField | 'images' | 'sweep', string>>;

/** What the core says about the chosen model that the form checks before a submit. */
export interface SubmissionContext {
  /** Whether SLG can run on the chosen model (models.list), and its number of joint blocks. */
  skipLayers?: SkipLayerSupport | undefined;
}

/**
 * The Advanced group's values for a submit, as typed: THE schema (jobParamsSchema in buildSubmission) checks them
 * and words each message (paramErrors) — the same sentences as the pipeline's and the CLI's. Only what needs the
 * chosen model (SLG support, its joint blocks) and the SLG layers' text are checked here, by generation.ts' rules.
 */
function samplingParams(f: GenerateForm, errors: FieldErrors, ctx: SubmissionContext = {}): Record<string, unknown> {
  const out: Record<string, unknown> = { sampler: f.sampler, scheduler: f.scheduler };
  const shiftText = String(f.shift).trim();
  if (shiftText !== '') out.shift = Number(shiftText);
  if (f.slg) {
    const support = ctx.skipLayers;
    if (support?.available === false) errors.slg = support.reason;
    else {
      try {
        const layers = parseSlgLayers(f.slgLayers);
        const outside = support?.available ? slgLayersProblem(layers, support.blocks) : undefined;
        if (outside) errors.slg = outside;
        out.slg = { layers, scale: f.slgScale, start: f.slgStart, end: f.slgEnd };
      } catch (err) {
        errors.slg = StudioError.from(err).message;
      }
    }
  }
  return out;
}

/** The Hires fix group's parameters for a submit (absent when off), or the error that stops it. */
export function hiresParams(f: GenerateForm, errors: FieldErrors): Pick<JobParams, 'hires'> {
  if (!f.hires) return {};
  const hires = hiresSchema.safeParse({ scale: f.hiresScale, upscaler: String(f.hiresUpscaler).trim() || BUILTIN_UPSCALER, steps: f.hiresSteps, strength: f.hiresStrength });
  if (!hires.success) {
    const issue = hires.error.issues[0];
    errors.hires = `Hires fix: ${String(issue?.path[0] ?? '')} ${issue?.message ?? 'not valid'}.`.replace(/\s+/gu, ' ');
    return {};
  }
  if (!errors.width && !errors.height) {
    try {
      hiresSize(f.width, f.height, hires.data.scale);
    } catch (err) {
      errors.hires = StudioError.from(err).message;
      return {};
    }
  }
  return { hires: hires.data };
}

/**
 * The jobs.submit parameters for a form, or the errors that stop it (per field, in words).
 * `drawSeed` gives the first seed of an unlocked consecutive sweep.
 */
export function buildSubmission(
  f: GenerateForm,
  drawSeed: () => string = randomSeed,
  ctx: SubmissionContext = {},
): { ok: true; value: Submission } | { ok: false; errors: FieldErrors } {
  const errors: FieldErrors = {};

  let seeds: Sweep['seeds'] | undefined;
  if (f.seedMode === 'list') {
    const list = parseSeedList(f.seedList);
    if (!list?.length) errors.seed = `List seeds separated by commas; each is ${SEED_RULE}.`;
    else seeds = { mode: 'list', seeds: list };
  } else if (f.seedMode === 'random') {
    seeds = { mode: 'random', count: f.images };
  } else {
    const first = f.seedLocked ? parseSeed(f.seed) : drawSeed();
    if (first === null) errors.seed = seedMessage(f.seed);
    else seeds = { mode: 'consecutive', first, count: f.images };
  }

  let axis: Sweep['axis'];
  if (isNumberAxis(f.axis)) {
    const values = parseNumberList(f.axisValues);
    if (!values?.length) errors.sweep = `List the ${SWEEP_AXIS_LABELS[f.axis].toLowerCase()} values, separated by commas.`;
    else axis = { kind: f.axis, values } as Sweep['axis'];
  } else if (f.axis === 'model') {
    if (!f.axisModels.length) errors.sweep = 'Choose the models to compare.';
    else axis = { kind: 'model', values: f.axisModels };
  } else if (f.axis === 'sampler') {
    if (!f.axisSamplers.length) errors.sweep = 'Choose the samplers to compare.';
    else axis = { kind: 'sampler', values: f.axisSamplers as Sampler[] };
  } else if (f.axis === 'scheduler') {
    if (!f.axisSchedulers.length) errors.sweep = 'Choose the schedules to compare.';
    else axis = { kind: 'scheduler', values: f.axisSchedulers as Scheduler[] };
  } else if (f.axis === 'loraStrength' || f.axis === 'loraOn') {
    // A LoRA axis varies one of the form's LoRAs: its strengths, or on and off.
    const lora = f.loras.find((l) => l.name === f.axisLora);
    const values = f.axis === 'loraStrength' ? parseNumberList(f.axisValues) : undefined;
    if (!lora) errors.sweep = 'Choose which of the LoRAs the axis varies (add one under LoRAs first).';
    else if (f.axis === 'loraOn') axis = { kind: 'loraOn', lora: lora.name, values: ['on', 'off'] };
    else if (!values?.length) errors.sweep = 'List the LoRA strengths, separated by commas.';
    else axis = { kind: 'loraStrength', lora: lora.name, values };
  }
  const loraRefs = formLoraRefs(f.loras);
  if ('error' in loraRefs) errors.loras = loraRefs.error;
  const sampling = samplingParams(f, errors, ctx);
  const hires = hiresParams(f, errors);

  // The parameters: THE schema's check, each field's message in its words (the same as the pipeline's and the CLI's).
  const params = jobParamsSchema.safeParse({
    prompt: f.prompt,
    negativePrompt: f.negativePrompt,
    model: f.model,
    steps: f.steps,
    guidance: f.guidance,
    width: f.width,
    height: f.height,
    t5: f.t5,
    ...sampling,
    ...hires,
    ...('loras' in loraRefs && loraRefs.loras.length > 0 ? { loras: loraRefs.loras } : {}),
  });
  if (!params.success) {
    for (const [field, message] of Object.entries(paramErrors(params.error)) as [ParamField, string][]) errors[field] ??= message;
  }
  // The sweep: THE sweep schema (the images count is its seeds' count).
  let sweep: Sweep | undefined;
  if (seeds) {
    const r = sweepSchema.safeParse(axis ? { seeds, axis } : { seeds });
    if (r.success) sweep = r.data;
    else {
      for (const issue of r.error.issues) {
        const k = issue.path[0] === 'seeds' && issue.path[1] === 'count' ? 'images' : 'sweep';
        errors[k] ??= issue.message;
      }
    }
  }
  if (Object.keys(errors).length || !params.success || !sweep) return { ok: false, errors };
  return { ok: true, value: { params: params.data, sweep } };
}

/** How many images a form makes (seeds × axis values). */
export function imageCount(f: GenerateForm): number {
  const seeds = f.seedMode === 'list' ? (parseSeedList(f.seedList)?.length ?? 0) : f.images;
  const axis =
    f.axis === 'none'
      ? 1
      : f.axis === 'model'
        ? f.axisModels.length
        : f.axis === 'sampler'
          ? f.axisSamplers.length
          : f.axis === 'scheduler'
            ? f.axisSchedulers.length
            : f.axis === 'loraOn'
              ? 2
              : (parseNumberList(f.axisValues)?.length ?? 0);
  return seeds * axis;
}

export interface TokenCounts {
  limits: { clip: number; t5: number };
  prompt: { clip: number; t5: number | null };
  negative: { clip: number; t5: number | null };
}

type ModelEntry = ResultOf<'models.list'>['models'][number];

export const useGenerateStore = defineStore('generate', () => {
  const form = reactive<GenerateForm>(restoreForm(formStorage()?.getItem(FORM_STORAGE_KEY) ?? null));
  // The models store's live list (it follows models.event): a model installed or removed while the form is open
  // shows here without a reload. The form keeps no copy of its own.
  const modelsStore = useModelsStore();
  const models = computed<ModelEntry[]>(() => modelsStore.models);
  const modelsLoaded = computed(() => modelsStore.list !== undefined || modelsStore.loadError !== undefined);
  const modelsError = computed(() => modelsStore.loadError);
  const errors = ref<FieldErrors>({});
  /** The fields whose shown message came from buildSubmission (the watch below follows those). */
  let formChecked = new Set<keyof FieldErrors>();
  const submitting = ref(false);
  const submitError = ref<string>();
  /** The first seed of the last submit, for "Reuse last". */
  const lastSeed = ref<string>();
  const tokens = shallowRef<TokenCounts>();
  const tokensError = ref<string>();
  /** Parameters picked with "Reuse parameters" in the Gallery, applied when the form is shown. */
  const pendingReuse = ref<ReuseParameters>();
  /** What the last "Reuse parameters" could not take as it was (a sampler or schedule the studio lacks). */
  const reuseNotes = ref<string[]>([]);

  watch(
    form,
    () => {
      try {
        formStorage()?.setItem(FORM_STORAGE_KEY, JSON.stringify(form));
      } catch {
        // storage full or refused: the form still works, it just is not kept
      }
    },
    { deep: true },
  );
  // A shown message goes as soon as its field is valid (and follows the value while it is not); new ones wait
  // for the next submit.
  watch(
    form,
    () => {
      if (!Object.keys(errors.value).length) return;
      const now = buildSubmission(form, () => '0', { skipLayers: chosen.value?.installed?.skipLayers });
      const still = now.ok ? {} : now.errors;
      const kept: FieldErrors = {};
      for (const k of Object.keys(errors.value) as (keyof FieldErrors)[]) {
        // A message buildSubmission did not give (the init image's, from submit) stays until the next submit.
        const next = formChecked.has(k) ? still[k] : errors.value[k];
        if (next) kept[k] = next;
      }
      errors.value = kept;
    },
    { deep: true },
  );

  // Installed models stay usable while a download adds to them (the VAE encoder, T5) or updates them.
  const installed = computed(() => models.value.filter((m) => m.installed));
  const chosen = computed(() => installed.value.find((m) => m.id === form.model));
  const catalogId = computed(() => chosen.value?.catalogId ?? (isCatalogId(form.model) ? form.model : undefined));
  const presets = computed<SizePreset[]>(() => sizePresetsFor(catalogId.value ?? form.model));
  /** The shift the model uses when the form leaves it empty (its variant's; the folder's config decides in the worker). */
  const modelShift = computed(() => defaultsFor(catalogId.value ?? form.model).shift);
  /**
   * Why Skip-Layer Guidance cannot be turned on for this form, or undefined when it can: it needs CFG
   * (guidance > 1) and a transformer graph whose joint blocks the studio's switch pass understands.
   */
  const slgUnavailable = computed<string | undefined>(() => {
    if (!(form.guidance > 1) && form.axis !== 'guidance') return `Skip-Layer Guidance needs classifier-free guidance (guidance above 1; now ${form.guidance}).`;
    const support = chosen.value?.installed?.skipLayers;
    return support?.available === false ? support.reason : undefined;
  });
  /** The chosen model's joint blocks (SLG layers are 0 … blocks − 1), when the core has read them. */
  const slgBlocks = computed<number | undefined>(() => {
    const support = chosen.value?.installed?.skipLayers;
    return support?.available ? support.blocks : undefined;
  });
  const samplingPresets = computed<readonly SamplingPreset[]>(() => (catalogId.value ? SAMPLING_PRESETS[catalogId.value] : []));
  const guidanceOff = computed(() => form.guidance <= 1 && form.axis !== 'guidance');
  const count = computed(() => imageCount(form));
  /** The catalog's recommended area, as a warning (never a refusal). */
  const sizeWarning = computed(() => {
    const id = catalogId.value;
    if (!id) return undefined;
    const v = CATALOG[id];
    const mp = (form.width * form.height) / 1e6;
    const { min, max } = v.recommendedMegapixels;
    if (mp < min - 1e-9 || mp > max + 1e-9) {
      return `${form.width} × ${form.height} is ${formatMegapixels(form.width, form.height)}; ${v.displayName} is made for ${min === max ? `${min}` : `${min}–${max}`} MP, so images may come out worse.`;
    }
    return undefined;
  });

  /** Loads the models store's list and listens to its events (once); the choice follows the list from then on. */
  async function loadModels(): Promise<void> {
    await modelsStore.watchList();
    keepChoiceInstalled();
  }

  /** The kept choice is gone (removed), or none was possible yet: take the first installed model. */
  function keepChoiceInstalled(): void {
    if (!modelsStore.list || installed.value.some((m) => m.id === form.model)) return;
    const first = installed.value[0];
    if (!first) form.model = '';
    else if (untouchedSampling()) chooseModel(first.id);
    else {
      // Values typed before the list arrived stay; only the model is filled in.
      form.model = first.id;
      form.t5 = first.installed?.t5 ?? true;
    }
  }
  watch(() => installed.value.map((m) => m.id).join('\n'), keepChoiceInstalled);

  /** Steps, guidance and size are still a fresh form's (nobody typed in them yet). */
  function untouchedSampling(): boolean {
    const d = defaultForm();
    return form.steps === d.steps && form.guidance === d.guidance && form.width === d.width && form.height === d.height;
  }

  /** A person picked a model: its variant's defaults fill steps, guidance and size. */
  function chooseModel(id: string): void {
    form.model = id;
    const entry = models.value.find((m) => m.id === id);
    const d = defaultsFor(entry?.catalogId ?? id);
    form.steps = d.steps;
    form.guidance = d.guidance;
    form.width = d.width;
    form.height = d.height;
    form.aspect = '1:1';
    form.t5 = entry?.installed?.t5 ?? true;
    form.axisModels = form.axisModels.filter((m) => m !== id || form.axis === 'model');
    form.sampler = d.sampler;
    form.scheduler = d.scheduler;
    form.shift = '';
    form.slg = false;
    reuseNotes.value = [];
  }

  /** A published recipe for the chosen variant (SAMPLING_PRESETS): sampler, schedule, steps, CFG and SLG. */
  function applySamplingPreset(id: string): void {
    const preset = samplingPresets.value.find((p) => p.id === id);
    if (!preset) return;
    form.sampler = preset.sampler;
    form.scheduler = preset.scheduler;
    form.steps = preset.steps;
    form.guidance = preset.guidance;
    form.slg = preset.slg !== undefined;
    if (preset.slg) {
      form.slgLayers = preset.slg.layers.join(', ');
      form.slgScale = preset.slg.scale;
      form.slgStart = preset.slg.start;
      form.slgEnd = preset.slg.end;
    }
  }

  function choosePreset(aspect: Aspect): void {
    const p = presets.value.find((x) => x.aspect === aspect);
    if (!p) return;
    form.aspect = aspect;
    form.width = p.width;
    form.height = p.height;
  }

  function setSize(side: 'width' | 'height', value: number): void {
    form[side] = value;
    const match = presets.value.find((p) => p.width === form.width && p.height === form.height);
    form.aspect = match ? match.aspect : 'custom';
  }

  /** Typing a seed locks it. */
  function setSeed(text: string): void {
    form.seed = text.trim();
    form.seedLocked = form.seed !== '';
  }

  function reuseLast(): void {
    if (!lastSeed.value) return;
    form.seed = lastSeed.value;
    form.seedLocked = true;
    if (form.seedMode === 'random') form.seedMode = 'consecutive';
  }

  function offerReuse(r: ReuseParameters): void {
    pendingReuse.value = r;
  }

  /** Fills the form from an image's parameters (the model only when it is installed). */
  function applyReuse(r: ReuseParameters): void {
    form.prompt = r.prompt;
    form.negativePrompt = r.negativePrompt;
    if (r.model && installed.value.some((m) => m.id === r.model)) form.model = r.model;
    if (r.steps !== undefined) form.steps = r.steps;
    if (r.guidance !== undefined) form.guidance = r.guidance;
    if (r.width !== undefined) setSize('width', r.width);
    if (r.height !== undefined) setSize('height', r.height);
    if (r.t5 !== undefined) form.t5 = r.t5;
    // Sampling: what the image names (the nearest where the studio lacks it, with the notes shown by the form).
    form.sampler = r.sampler ?? 'euler';
    form.scheduler = r.scheduler ?? 'normal';
    form.shift = r.shift !== undefined ? String(r.shift) : '';
    form.slg = r.slg !== undefined;
    if (r.slg) {
      form.slgLayers = r.slg.layers.join(', ');
      form.slgScale = r.slg.scale;
      form.slgStart = r.slg.start;
      form.slgEnd = r.slg.end;
    }
    reuseNotes.value = r.samplingNotes ?? [];
    // An image made from an image: the same source, mask, strength and fit (kept in <data>/inputs/).
    if (r.init) void useInitImageStore().useInit(r.init);
    if (r.seed !== undefined && parseSeed(r.seed) !== null) {
      form.seed = parseSeed(r.seed)!;
      form.seedLocked = true;
      form.seedMode = 'consecutive';
      form.images = 1;
    }
    form.axis = 'none';
    // LoRAs: the ones the library has (found by hash); the missing ones are named in the notes.
    if (r.loras) {
      form.loras = r.loras.filter((l) => l.sha256 !== undefined).map((l) => ({ name: l.name, sha256: l.sha256!, strength: l.strength, enabled: true }));
      const missing = r.loras.filter((l) => l.sha256 === undefined);
      if (missing.length) reuseNotes.value = [...reuseNotes.value, `Not in the LoRA library: ${missing.map((l) => `${l.name}${l.hash ? ` (${l.hash})` : ''}`).join(', ')}. Import ${missing.length === 1 ? 'it' : 'them'} under LoRAs to use ${missing.length === 1 ? 'it' : 'them'}.`];
    } else form.loras = [];
    errors.value = {};
  }

  /** Applies a pending "Reuse parameters" (the view calls this when shown, after the models are loaded). */
  function takeReuse(): boolean {
    const r = pendingReuse.value;
    pendingReuse.value = undefined;
    if (!r) return false;
    applyReuse(r);
    return true;
  }

  // ---- token counts (debounced; the answer for an older text is dropped) ----

  let tokenSeq = 0;
  let tokenTimer: ReturnType<typeof setTimeout> | undefined;
  async function countTokens(): Promise<void> {
    const seq = ++tokenSeq;
    if (!form.model || !installed.value.some((m) => m.id === form.model)) {
      tokens.value = undefined;
      return;
    }
    try {
      const r = await studio().call('models.countTokens', { model: form.model, texts: [stripLoraTags(form.prompt).slice(0, GENERATION_LIMITS.maxPromptChars), form.negativePrompt.slice(0, GENERATION_LIMITS.maxPromptChars)], t5: form.t5 });
      if (seq !== tokenSeq) return;
      tokens.value = { limits: r.limits, prompt: r.counts[0]!, negative: r.counts[1]! };
      tokensError.value = undefined;
    } catch (err) {
      if (seq !== tokenSeq) return;
      tokens.value = undefined;
      tokensError.value = StudioError.from(err).message;
    }
  }
  function scheduleTokenCount(delayMs = 150): void {
    if (tokenTimer) clearTimeout(tokenTimer);
    tokenTimer = setTimeout(() => {
      tokenTimer = undefined;
      void countTokens();
    }, delayMs);
  }
  watch(() => [form.prompt, form.negativePrompt, form.model, form.t5, modelsLoaded.value], () => scheduleTokenCount());

  // ---- submit ----

  async function submit(): Promise<{ jobId: number } | undefined> {
    const built = buildSubmission(form, randomSeed, { skipLayers: chosen.value?.installed?.skipLayers });
    if (!built.ok) {
      formChecked = new Set(Object.keys(built.errors) as (keyof FieldErrors)[]);
      errors.value = built.errors;
      return undefined;
    }
    formChecked = new Set();
    // Image to image: the init image's reference, strength, fit and mask (stores/init-image.ts).
    try {
      const init = useInitImageStore().initForSubmit();
      // Outpaint / "Only masked" (stores/inpaint-area.ts) go into the same init.
      if (init) built.value.params.init = useInpaintAreaStore().withArea(init);
      else if (built.value.sweep.axis?.kind === 'strength') throw new StudioError('invalid_input', 'A strength sweep needs an init image: drop or choose one above.', { field: 'sweep' });
    } catch (err) {
      const e = StudioError.from(err);
      errors.value = e.details?.field === 'sweep' ? { sweep: e.message } : {};
      submitError.value = e.message;
      return undefined;
    }
    errors.value = {};
    const request = built.value;
    return attempt(
      {
        busy: (on) => (submitting.value = on),
        clear: () => (submitError.value = undefined),
        failed: (e) => (submitError.value = e.message),
      },
      async () => {
        const r = await studio().call('jobs.submit', request);
        const s = request.sweep.seeds;
        lastSeed.value = s.mode === 'consecutive' ? s.first : s.mode === 'list' ? s.seeds[0] : undefined;
        return { jobId: r.jobId };
      },
    );
  }

  function resetForm(): void {
    const model = form.model;
    Object.assign(form, defaultForm());
    if (model) chooseModel(model);
  }

  return {
    form,
    models,
    modelsLoaded,
    modelsError,
    installed,
    chosen,
    catalogId,
    presets,
    guidanceOff,
    count,
    sizeWarning,
    errors,
    submitting,
    submitError,
    lastSeed,
    tokens,
    tokensError,
    pendingReuse,
    reuseNotes,
    modelShift,
    slgUnavailable,
    slgBlocks,
    samplingPresets,
    applySamplingPreset,
    loadModels,
    chooseModel,
    choosePreset,
    setSize,
    setSeed,
    reuseLast,
    offerReuse,
    applyReuse,
    takeReuse,
    countTokens,
    submit,
    resetForm,
  };
});
