// Upscale as a job of the queue (docs/architecture.md §5 "Upscale"), over a real SQLite file, the real queue and the
// real inference worker (out/main/worker.js: run `npm run -s build` first). jobs.upscale of a gallery image: one job,
// progress events, a new gallery row at ×2 whose metadata names the source (gallery id + sha256), the upscaler and
// the scale; a cancel while the worker is held after a tile (SD35_TEST_HOLD=upscale-tile:1, never a timer) leaves no
// row and no file, and Retry then finishes it; bad input (too large, an upscaler not in the library) is a StudioError
// with no job, row or file.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSrGraph } from '../../../e2e/support/tiny-sr';
import type { EventName } from '../../../src-shared/api';
import { StudioError } from '../../../src-shared/errors';
import { parseA1111, PARAMETERS_KEYWORD, parseStudioJson, STUDIO_KEYWORD } from '../../../src-shared/metadata';
import { sampleMeta } from '../../testing/contract-samples';
import { jobsListResultSchema } from '../../../src-shared/schemas/jobs';
import { waitUntil } from '../../testing/poll';
import { REPO } from '../../testing/processes';
import { removeTempDirs, tempDir } from '../../testing/temp';
import { encodePng, readPngInfo } from '../../formats/png';
import type { ModelHost } from '../jobs/model-host';
import { nodeAdapters } from '../node-adapters';
import { StudioCore } from '../studio';
import { UpscalerLibrary } from './library';

const WORKER = path.join(REPO, 'out', 'main', 'worker.js');
let sr: string;

beforeAll(() => {
  sr = path.join(tempDir('sd35-upscale-job-'), 'tiny-x2.onnx');
  writeSrGraph(sr, 'float32');
});
afterAll(removeTempDirs);

function until(test: () => boolean, what: string): Promise<void> {
  return waitUntil(test, what, 1200, 50);
}

/** Every file under <data>/images (the gallery's files). */
function imageFiles(dataDir: string): string[] {
  const dir = path.join(dataDir, 'images');
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.png'));
}

async function open(env: NodeJS.ProcessEnv): Promise<{ core: StudioCore; dataDir: string; events: { name: EventName; payload: unknown }[] }> {
  const dataDir = tempDir();
  const core = await StudioCore.open({ dataDir, adapters: nodeAdapters(env), env, runtime: 'electron', appVersion: '0.0.0-test', workerEntry: WORKER });
  const events: { name: EventName; payload: unknown }[] = [];
  core.events.subscribe((name, payload) => events.push({ name, payload }));
  await core.api['settings.set']({ executionProvider: 'cpu' });
  return { core, dataDir, events };
}

function pixels(width: number, height: number): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) rgb.set([(x * 13) % 256, (y * 7) % 256, (x * y) % 256], (y * width + x) * 3);
  return rgb;
}

const BASE_ENV = { ...process.env, SD35_ORT_THREADS: '1', HF_ENDPOINT: 'http://127.0.0.1:9' };

describe('jobs.upscale: upscale as a job of the queue', () => {
  it('Lanczos ×2 of one of our images: one job with progress, a new row at twice the size recording its source', async () => {
    const { core, dataDir, events } = await open(BASE_ENV);
    try {
      const source = await core.history.saveImage({ pixels: { width: 64, height: 64, channels: 3, data: pixels(64, 64) }, meta: sampleMeta() });
      const sourceBytes = fs.readFileSync(path.join(dataDir, source.path));
      const sha = crypto.createHash('sha256').update(sourceBytes).digest('hex');
      const { jobId, generationIds } = await core.api['jobs.upscale']({ imageId: source.id, with: 'lanczos', scale: 2 });
      expect(generationIds).toHaveLength(1);
      await until(() => core.jobs.store.require(jobId).status === 'done', 'the upscale job');
      const job = (await core.api['jobs.list']({})).items.find((j) => j.id === jobId)!;
      expect(job.upscale).toMatchObject({ source: { sha256: sha, imageId: source.id }, upscaler: 'lanczos', scale: 2, width: 128, height: 128 });
      const imageId = job.generations[0]!.imageId!;
      const progress = events.filter((e) => e.name === 'job.progress').map((e) => e.payload as { jobId: number; progress: { task: string; done: number; total: number } });
      expect(progress.filter((p) => p.jobId === jobId).map((p) => `${p.progress.task} ${p.progress.done}/${p.progress.total}`)).toEqual(['generate 1/1']);
      expect(events.some((e) => e.name === 'job.generationDone' && (e.payload as { imageId: number }).imageId === imageId)).toBe(true);

      const page = await core.api['gallery.query']({});
      expect(page.total).toBe(2);
      const d = await core.api['gallery.get']({ id: imageId });
      expect([d.pixelWidth, d.pixelHeight]).toEqual([128, 128]);
      expect([d.width, d.height]).toEqual([64, 64]); // the generation size the source recorded
      expect(d.seed).toBe(sampleMeta().seed);
      const file = fs.readFileSync(core.history.imagePath(imageId)!);
      const chunks = readPngInfo(file).chunks;
      const meta = parseStudioJson(chunks.find((c) => c.keyword === STUDIO_KEYWORD)!.text)!;
      expect(meta.upscale).toEqual({ source: { sha256: sha, imageId: source.id }, upscaler: 'lanczos', scale: 2, sourceWidth: 64, sourceHeight: 64, width: 128, height: 128 });
      expect(meta.prompt).toBe(sampleMeta().prompt);
      expect(parseA1111(chunks.find((c) => c.keyword === PARAMETERS_KEYWORD)!.text).extra).toMatchObject({ 'Postprocess upscale by': '2', 'Postprocess upscaler': 'Lanczos' });
      // The pixels are sharp's Lanczos-3 of the source.
      const want = await sharp(Buffer.from(pixels(64, 64)), { raw: { width: 64, height: 64, channels: 3 } }).resize(128, 128, { fit: 'fill', kernel: 'lanczos3' }).raw().toBuffer();
      const got = await sharp(file).removeAlpha().raw().toBuffer();
      expect(Buffer.compare(got, want)).toBe(0);

      // A source without a prompt (another tool's bare PNG): the job list still has THE shape (the contract's
      // result schema), and the upscaled image keeps the source's empty prompt.
      const bare = await core.history.importFile(encodePng({ width: 32, height: 32, channels: 3, data: pixels(32, 32) }, []), 'bare.png');
      const second = await core.api['jobs.upscale']({ imageId: bare.id, with: 'lanczos', scale: 2 });
      await until(() => core.jobs.store.require(second.jobId).status === 'done', 'the second upscale job');
      const listed = jobsListResultSchema.parse(await core.api['jobs.list']({}));
      expect(listed.items.find((j) => j.id === second.jobId)?.params.prompt).toBe(`Upscale ×2 of Gallery image ${bare.id}`);
      expect((await core.api['gallery.get']({ id: core.jobs.store.require(second.jobId).generations[0]!.imageId! })).prompt).toBe('');
    } finally {
      core.close();
    }
  }, 120_000);

  it('a cancel while the worker is held after tile 1 leaves no row and no file; Retry finishes it with the imported model', async () => {
    const env = { ...BASE_ENV, SD35_TEST_MODE: '1', SD35_TEST_HOLD: 'upscale-tile:1' };
    const { core, dataDir } = await open(env);
    const modelHost = (core.jobs as unknown as { o: { modelHost: ModelHost } }).o.modelHost;
    try {
      const library = new UpscalerLibrary(core.layout.upscalers);
      await library.import(sr, 'tiny-x2', async (file) => (await core.jobs.inferenceHost().upscale({ file, rgb: new Uint8Array(0), width: 0, height: 0, scale: 0 })).scale);
      expect((await core.api['upscalers.list']({})).upscalers).toMatchObject([{ name: 'tiny-x2', scale: 2 }]);
      // Another tool's PNG (A1111 parameters), 400×300: 3 × 2 tiles of 192 px.
      const W = 400;
      const H = 300;
      const foreign = encodePng({ width: W, height: H, channels: 3, data: pixels(W, H) }, [{ keyword: PARAMETERS_KEYWORD, text: 'a cat\nSteps: 4, Seed: 7, Size: 400x300, Model: other' }]);
      const source = await core.history.importFile(foreign, 'cat.png');
      const filesBefore = imageFiles(dataDir);
      expect(filesBefore).toHaveLength(1);

      const { jobId, generationIds } = await core.api['jobs.upscale']({ imageId: source.id, with: 'tiny-x2', scale: 2 });
      const gid = generationIds[0]!;
      await until(() => core.jobs.store.generation(gid)?.step === 1, 'the worker to report tile 1 and hold');
      expect(core.jobs.store.generation(gid)).toMatchObject({ status: 'running', step: 1, total: 7 }); // 6 tiles + the exact size
      expect((await core.api['jobs.cancel']({ jobId })).cancelled).toBe(1);
      await until(() => core.jobs.store.require(jobId).status === 'cancelled', 'the cancelled job');
      expect((await core.api['gallery.query']({})).total).toBe(1);
      expect(imageFiles(dataDir)).toEqual(filesBefore);

      // Retry on a worker that is not held: the whole upscale, into the gallery.
      // Retry on a fresh worker that is not held (a new host reads the model host's env).
      const options = (modelHost as unknown as { options: { env: NodeJS.ProcessEnv } }).options;
      const { SD35_TEST_HOLD: _hold, ...free } = options.env;
      options.env = free;
      await modelHost.unload();
      await core.api['jobs.retry']({ jobId });
      await until(() => core.jobs.store.require(jobId).status === 'done', 'the retried upscale');
      const imageId = core.jobs.store.require(jobId).generations[0]!.imageId!;
      const d = await core.api['gallery.get']({ id: imageId });
      expect([d.pixelWidth, d.pixelHeight]).toEqual([800, 600]);
      expect(d.prompt).toBe('a cat');
      expect(d.meta?.upscale).toMatchObject({ source: { imageId: source.id, sha256: crypto.createHash('sha256').update(foreign).digest('hex') }, upscaler: 'tiny-x2', scale: 2 });
      const params = parseA1111(readPngInfo(fs.readFileSync(core.history.imagePath(imageId)!)).chunks.find((c) => c.keyword === PARAMETERS_KEYWORD)!.text);
      expect(params).toMatchObject({ prompt: 'a cat', seed: '7' });
      expect(params.extra).toMatchObject({ 'Postprocess upscale by': '2', 'Postprocess upscaler': 'tiny-x2' });
      expect(imageFiles(dataDir)).toHaveLength(2);
    } finally {
      core.close();
    }
  }, 180_000);

  it('refuses a result over the limits and an upscaler not in the library: no job, no row, no file', async () => {
    const { core, dataDir } = await open(BASE_ENV);
    try {
      const wide = await core.history.importFile(encodePng({ width: 3000, height: 8, channels: 3, data: new Uint8Array(3000 * 8 * 3) }, []), 'wide.png');
      const small = await core.history.saveImage({ pixels: { width: 64, height: 64, channels: 3, data: pixels(64, 64) }, meta: sampleMeta() });
      const jobsBefore = (await core.api['jobs.list']({})).items.length;
      const cases: [Parameters<StudioCore['api']['jobs.upscale']>[0], RegExp][] = [
        [{ imageId: wide.id, with: 'lanczos', scale: 4 }, /would be 12000×32; at most 8192 px a side/],
        [{ imageId: small.id, with: 'nope', scale: 2 }, /Upscaler "nope" is not in the library/],
        [{ imageId: 999_999, with: 'lanczos', scale: 2 }, /not in the gallery/],
      ];
      for (const [p, reason] of cases) {
        const err = await core.api['jobs.upscale'](p).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, JSON.stringify(p)).toBeInstanceOf(StudioError);
        expect((err as StudioError).message).toMatch(reason);
      }
      expect((await core.api['jobs.list']({})).items).toHaveLength(jobsBefore);
      expect((await core.api['gallery.query']({})).total).toBe(2);
      expect(imageFiles(dataDir)).toHaveLength(2);
      expect(fs.existsSync(path.join(dataDir, 'inputs')) ? fs.readdirSync(path.join(dataDir, 'inputs')) : []).toEqual([]);
    } finally {
      core.close();
    }
  }, 60_000);
});
