// Behaviour of each compare.* handler through StudioCore's API (params parsed by the contract's own
// schemas, as both transports do): each test checks the effect — what a later read, the database or
// the exported PNG shows — not only the shape of the result.
import sharp from 'sharp';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { methods, type MethodName, type ParamsOf, type ResultOf } from '../../../src-shared/api';
import { isStudioError } from '../../../src-shared/errors';
import { parseTextChunks } from '../../../src-shared/metadata';
import { removeTempDirs, tempDir } from '../../testing/temp';
import { makeMeta, makePixels } from '../../testing/history/fixtures';
import { readPngInfo } from '../../formats/png';
import { nodeAdapters } from '../node-adapters';
import { StudioCore } from '../studio';

let core: StudioCore;
beforeEach(async () => {
  const env = { HF_HOME: tempDir(), HF_ENDPOINT: 'http://127.0.0.1:9' };
  core = await StudioCore.open({ dataDir: tempDir('sd35-compare-api-'), adapters: nodeAdapters(env), env, runtime: 'cli', appVersion: '4.5.6' });
});
afterEach(() => core.close());
afterAll(removeTempDirs);

async function call<M extends MethodName>(m: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
  const parsed = methods[m].params.parse(params);
  const result = await (core.api[m] as (p: unknown) => Promise<unknown>)(parsed);
  return methods[m].result.parse(result) as ResultOf<M>;
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return isStudioError(err) ? err.code : String(err);
  }
  return undefined;
}

/** The PNG of a `download` export, taken from the one-time store as `GET /download/<token>` would. */
function downloaded(out: ResultOf<'compare.export'>): Buffer {
  if (out.delivery !== 'download') throw new Error(`expected a download, got ${out.delivery}`);
  const taken = core.downloads.take(out.url.slice('/download/'.length));
  if (taken.status !== 'ok') throw new Error(`download ${taken.status}`);
  return Buffer.from(taken.download.data);
}

function fileNameOf(out: ResultOf<'compare.export'>): string | undefined {
  return out.delivery === 'cancelled' ? undefined : out.fileName;
}

async function seedImages(seeds: string[], guidance: number[] = []): Promise<number[]> {
  const ids: number[] = [];
  for (const [k, seed] of seeds.entries()) {
    const meta = makeMeta({ seed, guidance: guidance[k] ?? 4.5, width: 64, height: 64 });
    ids.push((await core.history.saveImage({ pixels: makePixels(64, 64, k), meta })).id);
  }
  return ids;
}

describe('compare.* handlers', () => {
  it('compare.create saves the ordered ids, name and job; compare.get and compare.list then show it', async () => {
    const ids = await seedImages(['1000', '1001', '1002']);
    const created = await call('compare.create', { name: 'fox seeds', imageIds: [ids[2]!, ids[0]!], jobId: 3 });
    expect(created).toMatchObject({ name: 'fox seeds', jobId: 3, imageIds: [ids[2], ids[0]] });
    expect((await call('compare.get', { id: created.id })).items.map((i) => i.seed)).toEqual(['1002', '1000']);
    expect((await call('compare.list', {})).items.map((c) => c.id)).toEqual([created.id]);
    expect(await codeOf(call('compare.create', { imageIds: [ids[0]!, 424242] }))).toBe('not_found');
    expect((await call('compare.list', {})).items).toHaveLength(1);
  });

  it('compare.create refuses 1 or 17 images and repeats at the contract', async () => {
    const bad = [{ imageIds: [1] }, { imageIds: Array.from({ length: 17 }, (_, i) => i + 1) }, { imageIds: [1, 1] }];
    for (const p of bad) expect(methods['compare.create'].params.safeParse(p).success).toBe(false);
  });

  it('compare.rename changes what compare.get and compare.list say', async () => {
    const ids = await seedImages(['1', '2']);
    const { id } = await call('compare.create', { imageIds: ids });
    expect(await call('compare.rename', { id, name: 'winner: seed 2' })).toMatchObject({ id, name: 'winner: seed 2' });
    expect((await call('compare.get', { id })).name).toBe('winner: seed 2');
    expect((await call('compare.list', {})).items[0]?.name).toBe('winner: seed 2');
    expect(await codeOf(call('compare.rename', { id: id + 1, name: 'x' }))).toBe('not_found');
  });

  it('compare.delete removes the comparison (get is not_found) and keeps the images', async () => {
    const ids = await seedImages(['1', '2']);
    const { id } = await call('compare.create', { imageIds: ids });
    expect(await call('compare.delete', { id })).toEqual({ deleted: true });
    expect(await codeOf(call('compare.get', { id }))).toBe('not_found');
    expect((await call('compare.list', {})).items).toEqual([]);
    expect(await call('compare.delete', { id })).toEqual({ deleted: false });
    expect((await call('gallery.get', { id: ids[0]! })).id).toBe(ids[0]);
  });

  it('gallery.delete of a compared image leaves the comparison readable without it', async () => {
    const ids = await seedImages(['1', '2', '3']);
    const { id } = await call('compare.create', { imageIds: ids });
    await call('gallery.delete', { ids: [ids[1]!] });
    expect(await call('compare.get', { id })).toMatchObject({ imageIds: [ids[0], ids[2]], trashed: 1 });
    await call('gallery.emptyTrash', {});
    expect(await call('compare.get', { id })).toMatchObject({ imageIds: [ids[0], ids[2]], trashed: 0 });
  });

  it('compare.jobImages lists the images of the job that made them', async () => {
    const { jobId, generationIds } = core.history.generations.createJob(
      { prompt: 'a fox', negativePrompt: '', steps: 4, guidance: 0, width: 64, height: 64, model: 'sd3.5-large-turbo' },
      ['10', '11'],
      core.history.now(),
    );
    for (const [k, g] of generationIds.entries()) {
      core.history.generations.markRunning(g, core.history.now());
      await core.history.saveImage({ generationId: g, pixels: makePixels(64, 64, k), meta: makeMeta({ seed: String(10 + k), width: 64, height: 64 }) });
    }
    expect(await call('compare.jobImages', { jobId })).toEqual({ jobId, imageIds: generationIds });
  });

  it('compare.export returns comparison-<id>.png: the grid of its live images with the axes in parameters', async () => {
    const ids = await seedImages(['7', '7', '8', '8'], [3.5, 7, 3.5, 7]);
    const { id } = await call('compare.create', { imageIds: ids });
    const out = await call('compare.export', { id });
    if (out.delivery !== 'download') throw new Error('under Node an export is a download');
    expect(out).toMatchObject({ fileName: `comparison-${id}.png`, mimeType: 'image/png' });
    const png = downloaded(out);
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height]).toEqual([out.width, out.height]);
    expect(out.width).toBeGreaterThan(2 * 256);
    const parsed = parseTextChunks(readPngInfo(png).chunks);
    expect(parsed?.extra).toMatchObject({ Seed: '7, 7, 8, 8', 'X Type': 'CFG scale', 'Y Values': '7, 8', Version: 'sd35-studio 4.5.6' });
    // One image fewer after a delete: the export follows the comparison.
    await call('gallery.delete', { ids: [ids[3]!] });
    const fewer = parseTextChunks(readPngInfo(downloaded(await call('compare.export', { id }))).chunks);
    expect(fewer?.extra.Seed).toBe('7, 7, 8');
  });

  it('compare.export runs one at a time: a second export while one runs is a conflict, the next one after it works', async () => {
    const ids = await seedImages(['1', '2', '3', '4']);
    const { id } = await call('compare.create', { imageIds: ids });
    const first = call('compare.export', { id });
    expect(await codeOf(call('compare.export', { id }))).toBe('conflict');
    expect(fileNameOf(await first)).toBe(`comparison-${id}.png`);
    expect(fileNameOf(await call('compare.export', { id }))).toBe(`comparison-${id}.png`);
  });

  it('compare.export with a FileSaver (the desktop save dialog) saves the PNG there and registers no download; a closed dialog is cancelled', async () => {
    const saves: { suggested: string; data: Uint8Array }[] = [];
    let answer: { fileName: string } | undefined = { fileName: 'my grid.png' };
    core.close();
    const env = { HF_HOME: tempDir(), HF_ENDPOINT: 'http://127.0.0.1:9' };
    const saver = {
      save: async (suggested: string, data: Uint8Array) => {
        saves.push({ suggested, data });
        return answer;
      },
    };
    core = await StudioCore.open({ dataDir: tempDir('sd35-compare-save-'), adapters: { ...nodeAdapters(env), saver }, env, runtime: 'cli', appVersion: '4.5.6' });
    const ids = await seedImages(['5', '6']);
    const { id } = await call('compare.create', { imageIds: ids });
    const out = await call('compare.export', { id });
    expect(out).toMatchObject({ delivery: 'saved', fileName: 'my grid.png' });
    expect(saves.map((s) => s.suggested)).toEqual([`comparison-${id}.png`]);
    const meta = await sharp(Buffer.from(saves[0]!.data)).metadata();
    expect(out.delivery === 'saved' && [out.width, out.height]).toEqual([meta.width, meta.height]);
    expect(core.downloads.pending).toBe(false);
    answer = undefined;
    expect(await call('compare.export', { id })).toEqual({ delivery: 'cancelled' });
    expect(saves).toHaveLength(2);
  });
});
