// Imported images keep the size they were generated at: for every real file of
// ../shared/fixtures/foreign-png (driven by its expected.json), the generation row holds the size the
// tool recorded (the file's own size when it recorded none), the image row the pixel size, and the
// detail panel's text states both when they differ.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { fixtureFor } from '../../../e2e/support/fixtures';
import { describeSize } from '../../../src-shared/image-size';
import { removeTempDirs } from '../../testing/temp';
import type { Db } from '../db';
import { HistoryService } from './service';
import { openTestDb, tempDataDir } from '../../testing/history/fixtures';

interface FixtureEntry {
  tool: string;
  ihdrSize: [number, number];
  expected: { width: number | null; height: number | null };
}

const dir = fixtureFor('import-sizes.int.test', 'the per-file import size tests', 'foreign-png', 'expected.json');
const files: Record<string, FixtureEntry> = dir ? (JSON.parse(fs.readFileSync(dir, 'utf8')) as { files: Record<string, FixtureEntry> }).files : {};

const open: Db[] = [];
afterEach(() => {
  while (open.length) open.pop()!.close();
});
afterAll(removeTempDirs);

function service(): HistoryService {
  const data = tempDataDir();
  const db = openTestDb(data);
  open.push(db);
  return new HistoryService({ db, dataDir: data });
}

describe.skipIf(!dir)('imported sizes (foreign-png/expected.json)', () => {
  for (const [file, entry] of Object.entries(files)) {
    const [pixelWidth, pixelHeight] = entry.ihdrSize;
    const recorded = entry.expected.width !== null && entry.expected.height !== null;
    const width = recorded ? entry.expected.width! : pixelWidth;
    const height = recorded ? entry.expected.height! : pixelHeight;

    it(`${file} (${entry.tool}): generated at ${width}×${height}, saved at ${pixelWidth}×${pixelHeight}`, async () => {
      const s = service();
      const bytes = fs.readFileSync(path.join(path.dirname(dir!), file));
      if (file.endsWith('.jpg')) {
        await expect(s.importFile(bytes, file)).rejects.toMatchObject({ code: 'invalid_input' });
        return;
      }
      const rec = await s.importFile(bytes, file);
      expect(rec).toMatchObject({ width, height, pixelWidth, pixelHeight });
      expect(s.query().items[0]).toMatchObject({ id: rec.id, width, height, pixelWidth, pixelHeight });
      const detail = s.get(rec.id);
      expect(detail).toMatchObject({ width, height, pixelWidth, pixelHeight });
      // "Reuse parameters" asks for the image that was made, not the file's size.
      expect(s.reuse(rec.id)).toMatchObject({ width, height });
      const extra = (detail.imported?.parameters?.extra as Record<string, unknown> | undefined) ?? null;
      const text = describeSize({ ...detail, extra });
      if (width === pixelWidth && height === pixelHeight) expect(text).toBe(`${width}×${height}`);
      else expect(text).toMatch(new RegExp(`^${width}×${height}, saved at ${pixelWidth}×${pixelHeight} \\((hires|upscaled|reduced|cropped)`));
      if (file === 'a1111-04.png') expect(text).toBe('892×1156, saved at 1784×2312 (hires ×2)');
    });
  }
});
