import { describe, expect, it } from 'vitest';
import type { GalleryItem } from '../../src-shared/schemas/gallery';
import { importHeadline, importInBatches, type FileToImport, type ImportEntry } from './gallery-import';

const file = (name: string, chars: number, extra: Partial<FileToImport> = {}): FileToImport => ({
  name,
  size: chars,
  read: async () => 'x'.repeat(chars),
  ...extra,
});
const fakeItem = (id: number) => ({ id }) as GalleryItem;

describe('importInBatches', () => {
  it('splits browser files under the character budget and the per-call file cap; paths go without reading', async () => {
    const sent: ImportEntry[][] = [];
    let id = 0;
    const files = [file('a.png', 40), file('b.png', 40), file('c.png', 40), file('d.png', 10, { path: '/x/d.png', read: () => Promise.reject(new Error('must not read')) })];
    const out = await importInBatches(
      files,
      async (batch) => {
        sent.push(batch);
        return { imported: batch.map(() => fakeItem(++id)), rejected: [] };
      },
      undefined,
      { chars: 100, files: 3, fileBytes: 1000 },
    );
    expect(sent.map((b) => b.length)).toEqual([2, 2]);
    expect(sent[1]![1]).toEqual({ path: '/x/d.png' });
    expect(out.imported).toHaveLength(4);
    expect(out.calls).toBe(2);
  });

  it('rejects too-large and unreadable files with the reason, and a failed call rejects only its own files', async () => {
    let call = 0;
    const seen: number[] = [];
    const out = await importInBatches(
      [file('big.png', 5000), file('bad.png', 1, { read: () => Promise.reject(new Error('permission denied')) }), file('one.png', 60), file('two.png', 60)],
      async (batch) => {
        call++;
        if (call === 1) throw new Error('connection lost');
        return { imported: [fakeItem(9)], rejected: [{ name: (batch[0] as { name: string }).name, reason: 'not a PNG' }] };
      },
      (list) => seen.push(list.length),
      { chars: 100, files: 200, fileBytes: 1000 },
    );
    expect(out.rejected.map((r) => r.name)).toEqual(['big.png', 'bad.png', 'one.png', 'two.png']);
    expect(out.rejected[0]!.reason).toMatch(/larger than/);
    expect(out.rejected[1]!.reason).toBe('could not be read: permission denied');
    expect(out.rejected[2]!.reason).toBe('connection lost');
    expect(out.rejected[3]!.reason).toBe('not a PNG');
    expect(seen).toEqual([1]);
  });

  it('headlines', () => {
    expect(importHeadline(0, 1)).toBe('The file was not imported.');
    expect(importHeadline(0, 3)).toBe('No files were imported.');
    expect(importHeadline(1, 0)).toBe('Imported 1 image.');
    expect(importHeadline(2, 1)).toBe('Imported 2 images; 1 rejected.');
  });
});
