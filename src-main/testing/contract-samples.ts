// For the contract test: one valid params sample per method and one trigger per event. The test
// lists methods and events from api.ts, so a new method without a sample here fails it.
import type { EventName, MethodName, StudioClient } from '../../src-shared/api';
import type { StudioImageMeta } from '../../src-shared/metadata';
import { encodePng } from '../core/images/png';
import type { StudioCore } from '../core/studio';

export interface SampleContext {
  core: StudioCore;
  /** A fresh gallery image for this call. */
  newImage(): Promise<number>;
  /** An image of this transport's run that stays live. */
  imageId: number;
  /** The image the transport's gallery.delete sample put in the trash. */
  trashedId?: number;
  /** A repo the hub emulator serves (slowly, so a download can be paused mid-way). */
  repo: string;
  /** The id models.download returned in this transport's run. */
  downloadId?: string;
  /** A local model folder, registered with models.import before the run. */
  folder: string;
  importedId: string;
  /** A tiny model folder that really generates (e2e/support/tiny-model.ts), for the jobs.* samples. */
  tinyModel: string;
  /** The job jobs.submit queued in this transport's run. */
  jobId?: number;
  /** The comparison compare.create saved in this transport's run. */
  comparisonId?: number;
}

export function sampleMeta(prompt = 'a lighthouse at dusk, oil painting'): StudioImageMeta {
  return {
    prompt,
    negativePrompt: 'blurry',
    seed: '42',
    steps: 28,
    guidance: 4.5,
    width: 64,
    height: 64,
    shift: 3,
    scheduler: 'flow-match-euler',
    model: { id: 'sd3.5-medium' },
    ep: 'cpu',
    precision: 'fp16',
    rng: 'torch-cpu-mt19937',
    t5: true,
    appVersion: '0.0.0-test',
  };
}

export function tinyPixels(seed = 1): { width: number; height: number; channels: 3; data: Uint8Array } {
  const data = new Uint8Array(64 * 64 * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * seed * 31) & 255;
  return { width: 64, height: 64, channels: 3, data };
}

export function tinyPngBase64(): string {
  return encodePng(tinyPixels(7), [{ keyword: 'parameters', text: 'imported cat\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 5, Size: 64x64, Model: other' }]).toString('base64');
}

export const METHOD_SAMPLES: Record<MethodName, (ctx: SampleContext) => unknown> = {
  'system.info': () => ({}),
  'system.diagnostics': () => ({}),
  'settings.get': () => ({}),
  'settings.set': () => ({ memoryMode: 'low' }),
  'gallery.query': () => ({ search: 'lighthouse', limit: 10 }),
  'gallery.get': (c) => ({ id: c.imageId }),
  'gallery.setFavorite': (c) => ({ id: c.imageId, favorite: true }),
  'gallery.delete': async (c) => {
    c.trashedId = await c.newImage();
    return { ids: [c.trashedId] };
  },
  'gallery.restore': (c) => ({ ids: [c.trashedId!] }),
  'gallery.emptyTrash': () => ({ olderThanDays: 30 }),
  'gallery.import': () => ({ files: [{ name: 'other-tool.png', dataBase64: tinyPngBase64() }] }),
  'gallery.reuse': (c) => ({ id: c.imageId }),
  'gallery.export': (c) => ({ id: c.imageId, metadata: false }),
  'gallery.reveal': (c) => ({ id: c.imageId }),
  'models.list': () => ({}),
  'models.download': (c) => ({ ref: c.repo }),
  'models.pause': (c) => ({ id: c.downloadId! }),
  'models.resume': (c) => ({ id: c.downloadId! }),
  'models.cancel': (c) => ({ id: c.downloadId! }),
  'models.verify': (c) => ({ id: c.importedId }),
  'models.remove': (c) => ({ id: c.importedId }),
  'models.import': (c) => ({ folder: c.folder }),
  'models.setToken': () => ({ token: 'hf_contractTestToken123' }),
  'models.clearToken': () => ({}),
  'models.tokenStatus': () => ({}),
  // The test repo's tokenizers are stand-ins (specials only; tokenizer_3 refused by the tokenizer library): empty
  // texts and no T5. The counts on the real SD3.5 tokenizers are tested in core/handlers/tokens.test.ts.
  'models.countTokens': (c) => ({ model: c.importedId, texts: ['', ''], t5: false }),
  'jobs.submit': (c) => ({
    params: { prompt: 'a lighthouse at dusk', negativePrompt: '', model: c.tinyModel, steps: 2, guidance: 0, width: 64, height: 64, t5: false },
    sweep: { seeds: { mode: 'list', seeds: ['6952411511246973023', '1000'] } },
  }),
  'jobs.list': () => ({ limit: 20 }),
  'jobs.cancel': (c) => ({ jobId: c.jobId! }),
  'jobs.retry': (c) => ({ jobId: c.jobId! }),
  'jobs.pause': () => ({}),
  'jobs.resume': () => ({}),
  'jobs.moveToFront': (c) => ({ jobId: c.jobId! }),
  'jobs.clearFinished': () => ({}),
  'jobs.unloadModel': () => ({}),
  'compare.create': async (c) => ({ name: 'contract', imageIds: [c.imageId, await c.newImage()] }),
  'compare.get': (c) => ({ id: c.comparisonId! }),
  'compare.list': () => ({ limit: 10 }),
  'compare.rename': (c) => ({ id: c.comparisonId!, name: 'renamed' }),
  'compare.jobImages': (c) => ({ jobId: c.core.history.get(c.imageId).jobId }),
  'compare.export': (c) => ({ id: c.comparisonId! }),
  'compare.delete': (c) => ({ id: c.comparisonId! }),
};

/** Remembers what a call returned when later samples need it. */
export function rememberResult(method: MethodName, result: unknown, ctx: SampleContext): void {
  if (method === 'models.download') ctx.downloadId = (result as { id: string }).id;
  if (method === 'models.import') ctx.importedId = (result as { id: string }).id;
  if (method === 'jobs.submit') ctx.jobId = (result as { jobId: number }).jobId;
  if (method === 'compare.create') ctx.comparisonId = (result as { id: number }).id;
}

/** An invalid params value per method (violates its schema). */
export const INVALID_SAMPLES: Partial<Record<MethodName, unknown>> = {
  'settings.set': { memoryMode: 'turbo' },
  'system.info': { unexpected: 1 },
  'gallery.query': { limit: 501 },
  'gallery.get': { id: -1 },
  'gallery.delete': { ids: [] },
  'gallery.import': { files: [{ path: 'x', dataBase64: 'AA==' }] },
  'models.download': { ref: '' },
  'models.setToken': { token: 'has spaces in it' },
  'models.import': { folder: 42 },
  'jobs.submit': {
    params: { prompt: 'x', negativePrompt: '', model: 'sd3.5-medium', steps: 2, guidance: 0, width: 64, height: 64, t5: false },
    sweep: { seeds: { mode: 'list', seeds: ['18446744073709551616'] } },
  },
  'jobs.list': { limit: 0 },
  'jobs.moveToFront': { jobId: 'one' },
  'compare.create': { imageIds: [1] },
  'compare.rename': { id: 1, name: '   ' },
};

/** Something a client does that makes the core emit the event. */
export const EVENT_TRIGGERS: Record<EventName, (client: StudioClient, ctx: SampleContext) => Promise<unknown>> = {
  'settings.changed': (c) => c.call('settings.set', { livePreviews: false }),
  'gallery.changed': (c, ctx) => c.call('gallery.setFavorite', { id: ctx.imageId, favorite: false }),
  'models.event': (c, ctx) => c.call('models.remove', { id: ctx.importedId }),
  'job.changed': (c) => c.call('jobs.pause', {}).then(() => c.call('jobs.resume', {})),
  'job.progress': (c, ctx) => submitTinyJob(c, ctx),
  'job.generationDone': (c, ctx) => submitTinyJob(c, ctx),
  'job.failed': (c) =>
    c.call('jobs.submit', {
      params: { prompt: 'no such model', negativePrompt: '', model: 'not-installed-model', steps: 1, guidance: 0, width: 64, height: 64, t5: false },
      sweep: { seeds: { mode: 'list', seeds: ['1'] } },
    }),
};

function submitTinyJob(c: StudioClient, ctx: SampleContext): Promise<unknown> {
  return c.call('jobs.submit', {
    params: { prompt: 'a red cube', negativePrompt: '', model: ctx.tinyModel, steps: 2, guidance: 0, width: 64, height: 64, t5: false },
    sweep: { seeds: { mode: 'consecutive', first: '1000', count: 1 } },
  });
}
