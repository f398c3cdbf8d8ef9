import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';
import type { ResultOf } from '../../src-shared/api';
import { setStudio } from '../studio';
import { fakeClient, type FakeClient } from '../testing/fake-client';
import { FORM_STORAGE_KEY, buildSubmission, defaultForm, restoreForm, setFormStorage, useGenerateStore, type GenerateForm } from './generate';
import { useGalleryStore } from './gallery';
import { useModelsStore } from './models';
import { PARAM_TEXT, jobParamsSchema, paramErrors, seedMessage, type ParamField } from '../../src-shared/generation';

type Entry = ResultOf<'models.list'>['models'][number];
const installed = (id: string, catalogId?: Entry['catalogId'], t5 = true): Entry => ({
  id,
  source: catalogId ? 'catalog' : 'import',
  displayName: id,
  ...(catalogId ? { catalogId } : {}),
  state: 'installed',
  installed: { path: `/models/${id}`, layout: 'optimum', t5 },
  sizeOnDisk: 1,
});

function memoryStorage(): Map<string, string> & { getItem(k: string): string | null; setItem(k: string, v: string): void } {
  const m = new Map<string, string>() as Map<string, string> & { getItem(k: string): string | null; setItem(k: string, v: string): void };
  m.getItem = (k) => m.get(k) ?? null;
  m.setItem = (k, v) => void m.set(k, v);
  return m;
}

const form = (patch: Partial<GenerateForm>): GenerateForm => ({ ...defaultForm(), prompt: 'a cat', model: 'sd3.5-medium', ...patch });

describe('buildSubmission', () => {
  it('a locked seed and 4 images: 4 consecutive seeds from it', () => {
    const r = buildSubmission(form({ seed: '1000', seedLocked: true, images: 4 }));
    expect(r.ok && r.value.sweep).toEqual({ seeds: { mode: 'consecutive', first: '1000', count: 4 } });
    expect(r.ok && r.value.params).toMatchObject({ prompt: 'a cat', model: 'sd3.5-medium', steps: 40, guidance: 4.5, width: 1024, height: 1024, t5: true });
  });
  it('an unlocked seed draws the first seed fresh each time; random mode lets the queue draw them', () => {
    const r = buildSubmission(form({ seed: '5', seedLocked: false, images: 2 }), () => '77');
    expect(r.ok && r.value.sweep.seeds).toEqual({ mode: 'consecutive', first: '77', count: 2 });
    const rr = buildSubmission(form({ seedMode: 'random', images: 3 }));
    expect(rr.ok && rr.value.sweep.seeds).toEqual({ mode: 'random', count: 3 });
  });
  it('a two-axis sweep: 2 seeds × 2 guidance values', () => {
    const r = buildSubmission(form({ seed: '7', seedLocked: true, images: 2, axis: 'guidance', axisValues: '3, 6' }));
    expect(r.ok && r.value.sweep).toEqual({ seeds: { mode: 'consecutive', first: '7', count: 2 }, axis: { kind: 'guidance', values: [3, 6] } });
  });
  it('says what is wrong, per field', () => {
    const r = buildSubmission(form({ prompt: ' ', model: '', steps: 0, width: 1000, seed: 'abc', seedLocked: true, axis: 'steps', axisValues: 'x' }));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(Object.keys(r.errors).sort()).toEqual(['model', 'prompt', 'seed', 'steps', 'sweep', 'width']);
    expect(r.errors.width).toContain('multiple of 16');
  });
  it('more than 64 images (seeds × axis values) is refused by the shared sweep schema', () => {
    const r = buildSubmission(form({ seed: '1', seedLocked: true, images: 33, axis: 'guidance', axisValues: '1 2' }));
    expect(!r.ok && r.errors.sweep).toMatch(/at most 64/);
  });
  it('a seed list', () => {
    const r = buildSubmission(form({ seedMode: 'list', seedList: '3, 1 18446744073709551615' }));
    expect(r.ok && r.value.sweep.seeds).toEqual({ mode: 'list', seeds: ['3', '1', '18446744073709551615'] });
    expect(buildSubmission(form({ seedMode: 'list', seedList: '3, -1' })).ok).toBe(false);
  });
});

describe('the form shows THE schema\'s words (src-shared/generation.ts), next to each field', () => {
  const errorsOf = (patch: Partial<GenerateForm>) => {
    const r = buildSubmission(form(patch));
    expect(r.ok).toBe(false);
    return r.ok ? {} : r.errors;
  };
  it('a seed of 2^64 names the range; a 200 KB prompt says its length; a blank prompt; out-of-range numbers', () => {
    const big = '18446744073709551616';
    expect(errorsOf({ seed: big, seedLocked: true }).seed).toBe(seedMessage(big));
    expect(errorsOf({ seed: big, seedLocked: true }).seed).toMatch(/from 0 to 18446744073709551615/);
    const long = 'x'.repeat(200 * 1024);
    expect(errorsOf({ prompt: long }).prompt).toBe(PARAM_TEXT.promptLength('prompt', long));
    expect(errorsOf({ prompt: long }).prompt).not.toMatch(/Too big/);
    expect(errorsOf({ prompt: '  ' }).prompt).toBe(PARAM_TEXT.promptBlank);
    expect(errorsOf({ steps: 0 }).steps).toBe(PARAM_TEXT.steps(0));
    expect(errorsOf({ guidance: 31 }).guidance).toBe(PARAM_TEXT.guidance(31));
    expect(errorsOf({ width: 1000 }).width).toBe(PARAM_TEXT.side('width', 1000));
    expect(errorsOf({ images: 0 }).images).toBe(PARAM_TEXT.images(0));
    expect(errorsOf({ model: '' }).model).toBe(PARAM_TEXT.modelMissing);
  });
});

describe('restoreForm', () => {
  it('keeps good fields, replaces bad ones with defaults, survives garbage', () => {
    const f = restoreForm(JSON.stringify({ prompt: 'kept', steps: 'nine', images: 4, axisModels: ['a', 3], extra: 1 }));
    expect(f.prompt).toBe('kept');
    expect(f.images).toBe(4);
    expect(f.steps).toBe(defaultForm().steps);
    expect(f.axisModels).toEqual([]);
    expect(restoreForm('{not json')).toEqual(defaultForm());
  });
});

describe('generate store', () => {
  let client: FakeClient;
  let storage: ReturnType<typeof memoryStorage>;
  beforeEach(() => {
    setActivePinia(createPinia());
    storage = memoryStorage();
    setFormStorage(storage);
    client = fakeClient({
      'models.list': () => ({ models: [installed('sd3.5-medium', 'sd3.5-medium'), installed('sd3.5-large-turbo', 'sd3.5-large-turbo', false)], modelsDir: '/m', freeDiskBytes: null, machine: { ramBytes: 1 } }),
      'models.countTokens': ({ texts }) => ({ limits: { clip: 75, t5: 255 }, counts: texts.map((t) => ({ clip: t.split(' ').length * 40, t5: t.length })) }),
      'jobs.submit': () => ({ jobId: 9, generationIds: [1, 2, 3, 4] }),
      'gallery.reuse': () => ({ prompt: 'from the gallery', negativePrompt: 'blurry', seed: '42', steps: 4, guidance: 0, width: 1216, height: 832, model: 'sd3.5-large-turbo' }),
    });
    setStudio(client);
  });
  afterEach(() => {
    setFormStorage(undefined);
    vi.useRealTimers();
  });

  it('choosing Large Turbo fills its defaults (4 steps, guidance 0, no T5 when installed without)', async () => {
    const s = useGenerateStore();
    await s.loadModels();
    expect(s.form.model).toBe('sd3.5-medium');
    s.chooseModel('sd3.5-large-turbo');
    expect([s.form.steps, s.form.guidance, s.form.t5]).toEqual([4, 0, false]);
    expect(s.guidanceOff).toBe(true);
  });

  it('warns outside the recommended area, and presets are multiples of 16', async () => {
    const s = useGenerateStore();
    await s.loadModels();
    s.chooseModel('sd3.5-large-turbo');
    expect(s.sizeWarning).toBeUndefined();
    s.setSize('width', 2048);
    s.setSize('height', 2048);
    expect(s.form.aspect).toBe('custom');
    expect(s.sizeWarning).toMatch(/4\.19 MP.*0\.8–1\.2 MP/);
    s.choosePreset('16:9');
    expect(s.form.width % 16 + (s.form.height % 16)).toBe(0);
    expect(s.form.width).toBeGreaterThan(s.form.height);
  });

  it('survives a restart: the form is written to storage and read back by a fresh store', async () => {
    const s = useGenerateStore();
    s.form.prompt = 'kept across restarts';
    s.setSeed('1234');
    await Promise.resolve();
    await new Promise((r) => setTimeout(r, 0));
    expect(JSON.parse(storage.getItem(FORM_STORAGE_KEY)!).prompt).toBe('kept across restarts');
    setActivePinia(createPinia());
    const again = useGenerateStore();
    expect(again.form.prompt).toBe('kept across restarts');
    expect([again.form.seed, again.form.seedLocked]).toEqual(['1234', true]);
  });

  it('counts tokens with the model’s tokenizers (debounced: one call for a burst of typing)', async () => {
    vi.useFakeTimers();
    const s = useGenerateStore();
    await s.loadModels();
    s.form.prompt = 'burst';
    s.form.prompt = 'burst of';
    s.form.prompt = 'burst of typing';
    await vi.advanceTimersByTimeAsync(200);
    // Only this burst's calls: a store of an earlier test may still have a real 150 ms timer pending on a busy
    // machine, and its count (of another text) lands in the shared client.
    const calls = client.calls.filter((c) => c.method === 'models.countTokens' && (c.params as { texts: string[] }).texts[0]!.startsWith('burst'));
    expect(calls).toHaveLength(1);
    expect(calls[0]!.params).toEqual({ model: 'sd3.5-medium', texts: ['burst of typing', ''], t5: true });
    expect(s.tokens?.prompt.clip).toBe(120);
  });

  it('submits the sweep and remembers the first seed for "Reuse last"', async () => {
    const s = useGenerateStore();
    await s.loadModels();
    s.form.prompt = 'lighthouse';
    s.form.images = 4;
    const r = await s.submit();
    expect(r).toEqual({ jobId: 9 });
    const sent = client.calls.find((c) => c.method === 'jobs.submit')!.params as { sweep: { seeds: { first: string } } };
    expect(s.lastSeed).toBe(sent.sweep.seeds.first);
    s.reuseLast();
    expect([s.form.seed, s.form.seedLocked]).toEqual([sent.sweep.seeds.first, true]);
  });

  it('does not submit an invalid form, and shows why', async () => {
    const s = useGenerateStore();
    await s.loadModels();
    s.form.prompt = '';
    expect(await s.submit()).toBeUndefined();
    expect(s.errors.prompt).toBe(PARAM_TEXT.promptBlank);
    expect(client.calls.some((c) => c.method === 'jobs.submit')).toBe(false);
  });

  it('a shown message goes as soon as its field is valid; the others stay until they are', async () => {
    const s = useGenerateStore();
    await s.loadModels();
    s.form.prompt = 'lighthouse';
    s.setSeed('18446744073709551616');
    s.form.steps = 0;
    expect(await s.submit()).toBeUndefined();
    expect(Object.keys(s.errors).sort()).toEqual(['seed', 'steps']);
    s.setSeed('18446744073709551615');
    await nextTick();
    expect(s.errors).toEqual({ steps: PARAM_TEXT.steps(0) });
    s.form.steps = 151;
    await nextTick();
    expect(s.errors).toEqual({ steps: PARAM_TEXT.steps(151) });
    s.form.steps = 28;
    await nextTick();
    expect(s.errors).toEqual({});
    expect(client.calls.some((c) => c.method === 'jobs.submit')).toBe(false);
  });

  it('"Reuse parameters" in the Gallery hands the parameters here; the form takes them once', async () => {
    const s = useGenerateStore();
    await s.loadModels();
    await useGalleryStore().reuse(5);
    expect(s.pendingReuse?.prompt).toBe('from the gallery');
    expect(s.takeReuse()).toBe(true);
    expect(s.form).toMatchObject({ prompt: 'from the gallery', negativePrompt: 'blurry', seed: '42', seedLocked: true, model: 'sd3.5-large-turbo', steps: 4, width: 1216, height: 832, images: 1 });
    expect(s.takeReuse()).toBe(false);
  });
});

describe('generate store: the model list arriving late', () => {
  it('keeps steps and size typed before the list came, and fills the defaults into an untouched form', async () => {
    setActivePinia(createPinia());
    setFormStorage(memoryStorage());
    setStudio(
      fakeClient({
        'models.list': () => ({ models: [installed('sd3.5-large-turbo', 'sd3.5-large-turbo')], modelsDir: '/m', freeDiskBytes: null, machine: { ramBytes: 1 } }),
      }),
    );
    const typed = useGenerateStore();
    typed.form.steps = 6;
    await typed.loadModels();
    expect([typed.form.model, typed.form.steps]).toEqual(['sd3.5-large-turbo', 6]);

    setActivePinia(createPinia());
    setFormStorage(memoryStorage());
    const fresh = useGenerateStore();
    await fresh.loadModels();
    expect([fresh.form.model, fresh.form.steps, fresh.form.guidance]).toEqual(['sd3.5-large-turbo', 4, 0]);
    setFormStorage(undefined);
  });
});

describe('generate store: the models store\'s live list', () => {
  it('a model installed after the form opened appears without a reload and becomes the choice; a removed one goes', async () => {
    setActivePinia(createPinia());
    setFormStorage(memoryStorage());
    let listed: Entry[] = [];
    const client = fakeClient({ 'models.list': () => ({ models: listed, modelsDir: '/m', freeDiskBytes: null, machine: { ramBytes: 1 } }) });
    setStudio(client);
    const s = useGenerateStore();
    await s.loadModels();
    expect([s.installed.length, s.form.model]).toEqual([0, '']);
    // Installed elsewhere (the Models view, the CLI): the core says so with models.event.
    listed = [installed('sd3.5-medium', 'sd3.5-medium')];
    client.emit('models.event', { type: 'models-changed' });
    await vi.waitFor(() => expect(s.installed.map((m) => m.id)).toEqual(['sd3.5-medium']));
    await nextTick();
    expect(s.form.model).toBe('sd3.5-medium');
    expect(s.models).toBe(useModelsStore().models); // one list, not a copy
    listed = [installed('sd3.5-large-turbo', 'sd3.5-large-turbo')];
    client.emit('models.event', { type: 'models-changed' });
    await vi.waitFor(() => expect(s.installed.map((m) => m.id)).toEqual(['sd3.5-large-turbo']));
    await nextTick();
    expect(s.form.model).toBe('sd3.5-large-turbo');
    expect(client.listenerCount('models.event')).toBe(1);
    setFormStorage(undefined);
  });
});

describe('the Advanced group', () => {
  it('sends sampler, schedule, an explicit shift and SLG; an empty shift leaves the model its own', () => {
    const r = buildSubmission(form({ sampler: 'dpmpp_2m', scheduler: 'beta', shift: '2.5', guidance: 5, slg: true, slgLayers: '7, 8', slgScale: 2.5 }));
    expect(r.ok && r.value.params).toMatchObject({ sampler: 'dpmpp_2m', scheduler: 'beta', shift: 2.5, slg: { layers: [7, 8], scale: 2.5, start: 0.01, end: 0.2 } });
    const plain = buildSubmission(form({}));
    expect(plain.ok && plain.value.params).toMatchObject({ sampler: 'euler', scheduler: 'normal' });
    expect(plain.ok && 'shift' in plain.value.params).toBe(false);
  });
  it('refuses a bad shift or SLG window per field', () => {
    const r = buildSubmission(form({ shift: '0' }));
    expect(!r.ok && r.errors.shift).toBe('The shift must be a number from 0.01 to 100 (got 0).');
    const s = buildSubmission(form({ slg: true, slgStart: 0.5, slgEnd: 0.2 }));
    expect(!s.ok && s.errors.slg).toMatch(/start must be below its end/);
  });
  it('samplers and schedules are sweep axes (checkbox lists); shift and SLG scale take number lists', () => {
    const a = buildSubmission(form({ axis: 'sampler', axisSamplers: ['euler', 'dpmpp_2m'] }));
    expect(a.ok && a.value.sweep.axis).toEqual({ kind: 'sampler', values: ['euler', 'dpmpp_2m'] });
    const b = buildSubmission(form({ axis: 'scheduler', axisSchedulers: [] }));
    expect(!b.ok && b.errors.sweep).toBe('Choose the schedules to compare.');
    const c = buildSubmission(form({ axis: 'shift', axisValues: '1.5, 3' }));
    expect(c.ok && c.value.sweep.axis).toEqual({ kind: 'shift', values: [1.5, 3] });
    const d = buildSubmission(form({ axis: 'slgScale', axisValues: '0, 2.8' }));
    expect(d.ok && d.value.sweep.axis).toEqual({ kind: 'slgScale', values: [0, 2.8] });
  });
  it('SLG layers beyond the chosen model\'s joint blocks, or a model SLG cannot run on: the core\'s words, no submit', () => {
    const outside = buildSubmission(form({ guidance: 5, slg: true, slgLayers: '2, 7, 9' }), () => '1', { skipLayers: { available: true, blocks: 4 } });
    expect(!outside.ok && outside.errors.slg).toBe("SLG layers 7, 9 are outside this model's 4 joint blocks (0–3).");
    const inside = buildSubmission(form({ guidance: 5, slg: true, slgLayers: '1, 3' }), () => '1', { skipLayers: { available: true, blocks: 4 } });
    expect(inside.ok && inside.value.params.slg?.layers).toEqual([1, 3]);
    const reason = 'Skip-Layer Guidance is not available for this model: no blocks.';
    const off = buildSubmission(form({ guidance: 5, slg: true }), () => '1', { skipLayers: { available: false, reason } });
    expect(!off.ok && off.errors.slg).toBe(reason);
  });
  it('the SLG toggle is greyed out with the reason the models list gives for the chosen model (and for guidance ≤ 1)', async () => {
    setActivePinia(createPinia());
    const reason = 'Skip-Layer Guidance is not available for this model: its transformer graph has no nodes named /transformer_blocks.N/….';
    const withSupport = (id: string, skipLayers: NonNullable<Entry['installed']>['skipLayers']): Entry => {
      const e = installed(id);
      return { ...e, installed: { ...e.installed!, ...(skipLayers ? { skipLayers } : {}) } };
    };
    setStudio(
      fakeClient({
        'models.list': () => ({
          models: [withSupport('folder:medium', { available: true, blocks: 24 }), withSupport('folder:other', { available: false, reason }), withSupport('folder:unknown', undefined)],
          modelsDir: '/m',
          freeDiskBytes: null,
          machine: { ramBytes: 1 },
        }),
      }),
    );
    const s = useGenerateStore();
    await s.loadModels();
    s.chooseModel('folder:medium');
    s.form.guidance = 5;
    expect([s.slgUnavailable, s.slgBlocks]).toEqual([undefined, 24]);
    s.chooseModel('folder:other');
    s.form.guidance = 5;
    expect([s.slgUnavailable, s.slgBlocks]).toEqual([reason, undefined]);
    s.chooseModel('folder:unknown');
    s.form.guidance = 5;
    expect(s.slgUnavailable).toBeUndefined();
    s.form.guidance = 1;
    expect(s.slgUnavailable).toMatch(/needs classifier-free guidance/);
  });
  it('a kept form with an unknown sampler falls back to the default', () => {
    const restored = restoreForm(JSON.stringify({ ...defaultForm(), sampler: 'lms', scheduler: 'karras', axisSamplers: ['euler', 'x'] }));
    expect(restored).toMatchObject({ sampler: 'euler', scheduler: 'normal', axisSamplers: ['euler'] });
  });
  it('Reuse fills sampler, schedule, shift and SLG, and keeps the notes about what the studio lacks', () => {
    const store = useGenerateStore();
    store.applyReuse({
      prompt: 'p',
      negativePrompt: '',
      sampler: 'euler_ancestral',
      scheduler: 'beta',
      shift: 3,
      samplingNotes: ['The image was made with the sampler "dpmpp_2m_sde"…'],
    });
    expect(store.form).toMatchObject({ sampler: 'euler_ancestral', scheduler: 'beta', shift: '3', slg: false });
    expect(store.reuseNotes).toHaveLength(1);
  });
});

describe("the Advanced group's messages are THE schema's (src-shared/generation.ts), as the pipeline and the CLI say them", () => {
  /** What jobParamsSchema + paramErrors say for `patch` on otherwise valid parameters — derived here, not copied. */
  const schemaSays = (patch: Record<string, unknown>, field: ParamField): string | undefined => {
    const r = jobParamsSchema.safeParse({ prompt: 'a cat', negativePrompt: '', model: 'sd3.5-medium', steps: 40, guidance: 4.5, width: 1024, height: 1024, t5: true, ...patch });
    return r.success ? undefined : paramErrors(r.error)[field];
  };
  it.each([
    [{ sampler: 'ddim' }, { sampler: 'ddim' }, 'sampler'],
    [{ scheduler: 'karras' }, { scheduler: 'karras' }, 'scheduler'],
    [{ shift: '0' }, { shift: 0 }, 'shift'],
    [{ shift: '250' }, { shift: 250 }, 'shift'],
    [{ slg: true, guidance: 5, slgLayers: '7', slgScale: 20 }, { slg: { layers: [7], scale: 20, start: defaultForm().slgStart, end: defaultForm().slgEnd } }, 'slg'],
    [{ slg: true, guidance: 5, slgLayers: '7', slgEnd: 1.5 }, { slg: { layers: [7], scale: defaultForm().slgScale, start: defaultForm().slgStart, end: 1.5 } }, 'slg'],
    [{ slg: true, guidance: 5, slgLayers: '7', slgStart: 0.5, slgEnd: 0.2 }, { slg: { layers: [7], scale: defaultForm().slgScale, start: 0.5, end: 0.2 } }, 'slg'],
  ] as [Partial<GenerateForm>, Record<string, unknown>, ParamField][])('%j', (formPatch, paramsPatch, field) => {
    const said = schemaSays(paramsPatch, field);
    expect(said).toBeTruthy();
    const r = buildSubmission(form(formPatch as Partial<GenerateForm>));
    expect(!r.ok && r.errors[field as keyof typeof r.errors]).toBe(said);
  });
  it('in words, never zod\'s "Too big: expected number …"', () => {
    const r = buildSubmission(form({ slg: true, guidance: 5, slgLayers: '7', slgScale: 20 }));
    expect(!r.ok && r.errors.slg).toBe('Skip-Layer Guidance: scale must be a number from 0 to 10 (got 20).');
  });
});
