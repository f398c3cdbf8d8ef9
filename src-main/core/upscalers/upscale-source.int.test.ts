// An upscaled image names its source (issue #16 "the results and their sources in the gallery and Compare"), over a
// real data folder (SQLite file, PNG files) with Lanczos (no worker request): the gallery record's upscaledFrom for
// an upscale of ours and of another tool's image, the upscaled FILE's own record of its source (inside sd35studio,
// or the sd35studio-upscale chunk beside the tool's chunks), and the importer reading that back.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PARAMETERS_KEYWORD, parseStudioJson, parseTextChunks, STUDIO_KEYWORD, UPSCALE_KEYWORD } from '../../../src-shared/metadata';
import { sampleMeta } from '../../testing/contract-samples';
import { waitUntil } from '../../testing/poll';
import { REPO } from '../../testing/processes';
import { removeTempDirs, tempDir } from '../../testing/temp';
import { encodePng, readPngInfo } from '../../formats/png';
import { nodeAdapters } from '../node-adapters';
import { StudioCore } from '../studio';

afterAll(removeTempDirs);

const ENV = { ...process.env, SD35_ORT_THREADS: '1', HF_ENDPOINT: 'http://127.0.0.1:9' };

function pixels(width: number, height: number): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) rgb.set([(x * 11) % 256, (y * 5) % 256, (x + y) % 256], (y * width + x) * 3);
  return rgb;
}

const sha = (b: Uint8Array) => crypto.createHash('sha256').update(b).digest('hex');

describe('an upscaled image names its source in the gallery and in its file', () => {
  it('ours and another tool\'s: upscaledFrom (sha256 + gallery id), the file\'s record, the importer reads it back', async () => {
    const dataDir = tempDir('sd35-upscale-source-');
    const core = await StudioCore.open({ dataDir, adapters: nodeAdapters(ENV), env: ENV, runtime: 'electron', appVersion: '0.0.0-test', workerEntry: path.join(REPO, 'out', 'main', 'worker.js') });
    const upscale = async (imageId: number): Promise<number> => {
      const { jobId } = await core.api['jobs.upscale']({ imageId, with: 'lanczos', scale: 2 });
      await waitUntil(() => core.jobs.store.require(jobId).status === 'done', 'the upscale job', 1200, 50);
      return core.jobs.store.require(jobId).generations[0]!.imageId!;
    };
    try {
      // One of ours.
      const ours = await core.history.saveImage({ pixels: { width: 48, height: 32, channels: 3, data: pixels(48, 32) }, meta: sampleMeta() });
      const oursSha = sha(fs.readFileSync(path.join(dataDir, ours.path)));
      const up1 = await upscale(ours.id);
      expect((await core.api['gallery.get']({ id: up1 })).upscaledFrom).toEqual({ sha256: oursSha, imageId: ours.id, upscaler: 'lanczos', scale: 2 });
      const chunks1 = readPngInfo(fs.readFileSync(core.history.imagePath(up1)!)).chunks;
      expect(parseStudioJson(chunks1.find((c) => c.keyword === STUDIO_KEYWORD)!.text)?.upscale?.source).toEqual({ sha256: oursSha, imageId: ours.id });
      expect(chunks1.some((c) => c.keyword === UPSCALE_KEYWORD)).toBe(false);

      // Another tool's PNG (A1111 parameters): its chunks stay, ours records the source beside them.
      const foreign = encodePng({ width: 40, height: 30, channels: 3, data: pixels(40, 30) }, [{ keyword: PARAMETERS_KEYWORD, text: 'a cat\nSteps: 4, Seed: 7, Size: 40x30, Model: other' }]);
      const theirs = await core.history.importFile(foreign, 'cat.png');
      const up2 = await upscale(theirs.id);
      const d2 = await core.api['gallery.get']({ id: up2 });
      expect(d2.upscaledFrom).toEqual({ sha256: sha(foreign), imageId: theirs.id, upscaler: 'lanczos', scale: 2 });
      expect(d2.prompt).toBe('a cat');
      const file2 = fs.readFileSync(core.history.imagePath(up2)!);
      const chunks2 = readPngInfo(file2).chunks;
      expect(chunks2.map((c) => c.keyword)).toEqual([PARAMETERS_KEYWORD, UPSCALE_KEYWORD]);
      const read = parseTextChunks(chunks2)!;
      expect(read).toMatchObject({ source: 'a1111', prompt: 'a cat', seed: '7' });
      expect(read.upscale).toMatchObject({ source: { sha256: sha(foreign), imageId: theirs.id }, upscaler: 'lanczos', scale: 2, width: 80, height: 60 });

      // The upscaled foreign file imported (as another gallery would): its record survives; the gallery id it names
      // belongs to the gallery that wrote it, so the record keeps the sha256 only.
      const again = await core.history.importFile(file2, 'cat-x2.png');
      const d3 = await core.api['gallery.get']({ id: again.id });
      expect(d3.upscaledFrom).toEqual({ sha256: sha(foreign), upscaler: 'lanczos', scale: 2 });
      expect(d3.imported?.parameters).toMatchObject({ source: 'a1111', prompt: 'a cat' });
      expect(d3.imported?.parameters).not.toHaveProperty('upscale');
      expect(d3.meta).toMatchObject({ upscale: { source: { sha256: sha(foreign), imageId: theirs.id } } });

      // A plain image says nothing; the page the grid reads carries the record too.
      expect((await core.api['gallery.get']({ id: ours.id })).upscaledFrom).toBeUndefined();
      const page = await core.api['gallery.query']({});
      expect(page.items.find((i) => i.id === up2)?.upscaledFrom?.imageId).toBe(theirs.id);
    } finally {
      core.close();
    }
  }, 120_000);
});
