// For the contract test: one valid params sample per method and one trigger per event. The test
// lists methods and events from api.ts, so a new method without a sample here fails it.
import type { EventName, MethodName, StudioClient } from '../../src-shared/api';
import type { StudioImageMeta } from '../../src-shared/metadata';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodePng } from '../formats/png';
import { writeSrGraph } from '../../e2e/support/tiny-sr';
import { writeTestLora } from './lora/lora-files';
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
  /** The input inputs.put kept in this transport's run. */
  inputSha256?: string;
  /** The upload loras.upload began, and the LoRA loras.import made of it (renamed by loras.rename). */
  loraUploadId?: string;
  loraName?: string;
  /** The upload upscalers.upload began, and the upscaler upscalers.import made of it (removed by upscalers.remove). */
  upscalerUploadId?: string;
  upscalerName?: string;
}

let loraSeq = 0;
/** A small valid SD3 LoRA (diffusers keys) as base64, for loras.upload. */
export function testLoraBase64(seed = 1): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-contract-lora-'));
  try {
    const file = path.join(dir, 'x.safetensors');
    writeTestLora(file, 'diffusers', [{ module: 'transformer_blocks.0.attn.to_q', rank: 2, in: 32, out: 32, seed }]);
    return fs.readFileSync(file).toString('base64');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

let upscalerSeq = 0;
/** The tiny ×2 super-resolution graph (e2e/support/tiny-sr.ts) as base64, for upscalers.upload. */
export function testUpscalerBase64(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-contract-sr-'));
  try {
    const file = path.join(dir, 'x2.onnx');
    writeSrGraph(file, 'float32');
    return fs.readFileSync(file).toString('base64');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
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
  // An imported folder with a vae_encoder/ answers 'present' (one without it is refused: no repository to fetch from;
  // the download itself is tested in core/models/encoder-addition.int.test.ts). The graph stands in for an encoder.
  'models.addEncoder': (c) => {
    fs.cpSync(path.join(c.folder, 'vae_decoder'), path.join(c.folder, 'vae_encoder'), { recursive: true });
    return { id: c.importedId, dryRun: true };
  },
  'models.remove': (c) => ({ id: c.importedId }),
  'models.import': (c) => ({ folder: c.folder }),
  'models.setToken': () => ({ token: 'hf_contractTestToken123' }),
  'models.clearToken': () => ({}),
  'models.tokenStatus': () => ({}),
  // The test repo's tokenizers are stand-ins (specials only; tokenizer_3 refused by the tokenizer library): empty
  // texts and no T5. The counts on the real SD3.5 tokenizers are tested in core/handlers/tokens.test.ts.
  'models.countTokens': (c) => ({ model: c.importedId, texts: ['', ''], t5: false }),
  'inputs.put': () => ({ kind: 'image', dataBase64: encodePng(tinyPixels(3), []).toString('base64') }),
  'inputs.get': (c) => ({ sha256: c.inputSha256! }),
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
  'jobs.upscale': (c) => ({ imageId: c.imageId, with: 'lanczos', scale: 2 }),
  'upscalers.list': () => ({}),
  'upscalers.upload': () => ({ offset: 0, dataBase64: testUpscalerBase64() }),
  'upscalers.import': (c) => ({ file: { uploadId: c.upscalerUploadId!, fileName: 'contract-x2.onnx', name: `contract-${++upscalerSeq}` } }),
  'upscalers.remove': (c) => ({ name: c.upscalerName! }),
  'compare.create': async (c) => ({ name: 'contract', imageIds: [c.imageId, await c.newImage()] }),
  'compare.get': (c) => ({ id: c.comparisonId! }),
  'compare.list': () => ({ limit: 10 }),
  'compare.rename': (c) => ({ id: c.comparisonId!, name: 'renamed' }),
  'compare.jobImages': (c) => ({ jobId: c.core.history.get(c.imageId).jobId }),
  'compare.export': (c) => ({ id: c.comparisonId! }),
  'compare.delete': (c) => ({ id: c.comparisonId! }),
  'loras.list': () => ({}),
  'loras.upload': () => ({ offset: 0, dataBase64: testLoraBase64(++loraSeq) }),
  'loras.import': (c) => ({ files: [{ uploadId: c.loraUploadId!, fileName: 'contract.safetensors', name: `contract ${++loraSeq}` }] }),
  'loras.rename': (c) => ({ name: c.loraName!, to: `${c.loraName!} renamed` }),
  'loras.remove': (c) => ({ name: c.loraName! }),
};

/** Remembers what a call returned when later samples need it. */
export function rememberResult(method: MethodName, result: unknown, ctx: SampleContext): void {
  if (method === 'models.download') ctx.downloadId = (result as { id: string }).id;
  if (method === 'models.import') ctx.importedId = (result as { id: string }).id;
  if (method === 'jobs.submit') ctx.jobId = (result as { jobId: number }).jobId;
  if (method === 'compare.create') ctx.comparisonId = (result as { id: number }).id;
  if (method === 'upscalers.upload') ctx.upscalerUploadId = (result as { uploadId: string }).uploadId;
  if (method === 'upscalers.import') ctx.upscalerName = (result as { imported: { name: string } }).imported.name;
  if (method === 'loras.upload') ctx.loraUploadId = (result as { uploadId: string }).uploadId;
  if (method === 'loras.import') ctx.loraName = (result as { imported: { name: string }[] }).imported[0]?.name;
  if (method === 'loras.rename') ctx.loraName = (result as { name: string }).name;
  if (method === 'inputs.put') ctx.inputSha256 = (result as { sha256: string }).sha256;
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
  'inputs.put': { kind: 'image', path: '/etc/passwd' },
  'inputs.get': { sha256: '../../etc/passwd' },
  'jobs.list': { limit: 0 },
  'jobs.moveToFront': { jobId: 'one' },
  'jobs.upscale': { imageId: 1, with: '../x', scale: 3 },
  'compare.create': { imageIds: [1] },
  'compare.rename': { id: 1, name: '   ' },
  'loras.upload': { offset: -1, dataBase64: '' },
  'upscalers.upload': { offset: 0, uploadId: 'not-an-id', dataBase64: '' },
  'upscalers.import': { file: { path: '/x.onnx', uploadId: '0'.repeat(32) } },
  'upscalers.remove': { name: '../x' },
  'loras.import': { files: [{ path: '/x.safetensors', uploadId: '0'.repeat(32) }] },
};

/** Something a client does that makes the core emit the event. */
export const EVENT_TRIGGERS: Record<EventName, (client: StudioClient, ctx: SampleContext) => Promise<unknown>> = {
  'settings.changed': (c) => c.call('settings.set', { livePreviews: false }),
  'gallery.changed': (c, ctx) => c.call('gallery.setFavorite', { id: ctx.imageId, favorite: false }),
  'models.event': (c, ctx) => c.call('models.remove', { id: ctx.importedId }),
  'job.changed': (c) => c.call('jobs.pause', {}).then(() => c.call('jobs.resume', {})),
  'job.progress': (c, ctx) => submitTinyJob(c, ctx),
  'job.generationDone': (c, ctx) => submitTinyJob(c, ctx),
  'upscalers.changed': async (c) => {
    const { uploadId } = await c.call('upscalers.upload', { offset: 0, dataBase64: testUpscalerBase64() });
    return c.call('upscalers.import', { file: { uploadId, fileName: 'event.onnx', name: `event-${++upscalerSeq}` } });
  },
  'loras.changed': async (c) => {
    const { uploadId } = await c.call('loras.upload', { offset: 0, dataBase64: testLoraBase64(++loraSeq) });
    return c.call('loras.import', { files: [{ uploadId, fileName: `event ${loraSeq}.safetensors` }] });
  },
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

/** The 64-bit ComfyUI seed the contract test sends through every transport (docs/architecture.md §2). */
export const BIG_SEED = '6952411511246973023';

/** Resolves once `test` holds, checking every 50 ms (bounded: a state that never comes fails the test). */
async function eventually(test: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`effect missing: ${what}`);
}

async function modelState(c: StudioClient, id: string): Promise<string | undefined> {
  return (await c.call('models.list', {})).models.find((m) => m.id === id)?.state;
}

/**
 * The effect of a call, read back through the same client (so through the transport): a handler that answers
 * the right shape but does nothing (gallery.delete reporting deleted: 0, a models.pause that leaves the download
 * running) fails here. Methods without an entry are read-only or have their effect proven in their room's tests
 * (jobs.* in core/jobs/queue.int.test.ts, compare.* in core/handlers/compare.int.test.ts).
 */
export const METHOD_EFFECTS: Partial<Record<MethodName, (client: StudioClient, ctx: SampleContext, result: unknown) => Promise<void>>> = {
  'settings.set': async (c) => check((await c.call('settings.get', {})).memoryMode === 'low', 'settings.set → settings.get memoryMode low'),
  'gallery.setFavorite': async (c, ctx) => check((await c.call('gallery.get', { id: ctx.imageId })).favorite, 'gallery.setFavorite → favorite'),
  'gallery.delete': async (c, ctx, result) => {
    check((result as { deleted: number }).deleted === 1, 'gallery.delete reports deleted: 1');
    check((await c.call('gallery.get', { id: ctx.trashedId! })).deletedAt !== null, 'gallery.delete → the image is in the trash');
    const page = await c.call('gallery.query', { search: 'lighthouse', limit: 500 });
    check(!page.items.some((i) => i.id === ctx.trashedId), 'gallery.delete → the image leaves the gallery');
  },
  'gallery.restore': async (c, ctx, result) => {
    check((result as { restored: number }).restored === 1, 'gallery.restore reports restored: 1');
    check((await c.call('gallery.get', { id: ctx.trashedId! })).deletedAt === null, 'gallery.restore → out of the trash');
  },
  'gallery.import': async (c, _ctx, result) => {
    const ids = (result as { imported: { id: number }[] }).imported?.map((i) => i.id) ?? [];
    check(ids.length === 1, 'gallery.import imports the one file');
    check((await c.call('gallery.get', { id: ids[0]! })).prompt === 'imported cat', 'gallery.import → the prompt the other tool wrote');
  },
  'models.download': (c, ctx) => eventually(async () => (await modelState(c, ctx.downloadId!)) === 'downloading', 'models.download → downloading'),
  'models.addEncoder': async (c, ctx, result) => {
    check((result as { state: string }).state === 'present', 'models.addEncoder on a folder with vae_encoder/ → present');
    const entry = (await c.call('models.list', {})).models.find((m) => m.id === ctx.importedId);
    check(entry?.installed?.vaeEncoder === true, 'models.addEncoder → models.list says the model has the VAE encoder');
  },
  'models.pause': (c, ctx) => eventually(async () => (await modelState(c, ctx.downloadId!)) === 'paused', 'models.pause → paused'),
  'models.resume': (c, ctx) => eventually(async () => (await modelState(c, ctx.downloadId!)) === 'downloading', 'models.resume → downloading'),
  'models.cancel': (c, ctx) =>
    eventually(async () => {
      const s = await modelState(c, ctx.downloadId!);
      return s === undefined || s === 'not-installed';
    }, 'models.cancel → the download is gone'),
  'models.import': async (c, ctx) => check((await modelState(c, ctx.importedId)) === 'installed', 'models.import → listed as installed'),
  'models.remove': async (c, ctx) => check((await modelState(c, ctx.importedId)) === undefined, 'models.remove → no longer listed'),
  'jobs.submit': async (c, ctx) => {
    const job = (await c.call('jobs.list', { limit: 200 })).items.find((j) => j.id === ctx.jobId);
    check(JSON.stringify(job?.generations.map((g) => g.seed)) === JSON.stringify([BIG_SEED, '1000']), 'jobs.submit → the 64-bit seed, exact, in jobs.list');
  },
  'upscalers.import': async (c, ctx) =>
    check((await c.call('upscalers.list', {})).upscalers.some((u) => u.name === ctx.upscalerName && u.scale === 2), 'upscalers.import → listed at ×2'),
  'upscalers.remove': async (c, ctx) => check(!(await c.call('upscalers.list', {})).upscalers.some((u) => u.name === ctx.upscalerName), 'upscalers.remove → no longer listed'),
  'loras.import': async (c, ctx) => check((await c.call('loras.list', {})).loras.some((l) => l.name === ctx.loraName), 'loras.import → listed'),
  'loras.rename': async (c, ctx) => check((await c.call('loras.list', {})).loras.some((l) => l.name === ctx.loraName), 'loras.rename → listed under the new name'),
  'loras.remove': async (c, ctx) => check(!(await c.call('loras.list', {})).loras.some((l) => l.name === ctx.loraName), 'loras.remove → no longer listed'),
  'compare.rename': async (c, ctx) => check((await c.call('compare.get', { id: ctx.comparisonId! })).name === 'renamed', 'compare.rename → compare.get name'),
  'compare.delete': async (c, ctx, result) => {
    check((result as { deleted: boolean }).deleted, 'compare.delete reports deleted');
    const err = await c.call('compare.get', { id: ctx.comparisonId! }).then(
      () => null,
      (e: unknown) => e as { code?: string },
    );
    check(err?.code === 'not_found', 'compare.delete → compare.get is not_found');
  },
};
