import { describe, expect, it } from 'vitest';
import { isStudioError } from '../../../src-shared/errors';
import { requiredFiles } from '../../model-folder/layouts';
import type { TreeEntry } from './hub';
import { planDownload } from './selection';

const sha = (c: string) => c.repeat(64);
function tree(paths: string[]): TreeEntry[] {
  return paths.map((p, i) => (p.endsWith('.data') ? { path: p, size: 1000 + i, oid: 'a'.repeat(40), lfsSha256: sha('b') } : { path: p, size: 10 + i, oid: 'c'.repeat(40) }));
}
// A TensorStack repo listing: the files its pipeline reads (the one list, model-folder/layouts.ts), external data
// beside two graphs, and files a download leaves out.
const BASE = [
  ...requiredFiles('tensorstack', { t5: false }),
  'model_index.json',
  'text_encoder_2/model.onnx.data',
  'unet/model.onnx.data',
  'vae_encoder/model.onnx',
  'README.md',
];
const T5 = [...requiredFiles('tensorstack', { t5: true }).filter((f) => !BASE.includes(f)), 'text_encoder_3/model.onnx.data'];

describe('planDownload', () => {
  it('plans a subfolder-rooted repo (Stability AI _io16/_io32 exports): the needed files of the _io32 root, repo paths kept', () => {
    const inSub = (sub: string) => [...BASE, ...T5].map((p) => `${sub}/${p}`);
    const paths = ['README.md', 'LICENSE.md', ...inSub('sd_io16'), ...inSub('sd_io32'), 'sd_io32/config.json', 'sd_io32/scheduler/extra.txt'];
    const plan = planDownload('o/r', tree(paths), { t5: true, pageUrl: 'u' });
    expect(plan).toMatchObject({ root: 'sd_io32', layout: 'tensorstack', t5: true });
    expect(plan.files.every((f) => f.path.startsWith('sd_io32/'))).toBe(true);
    expect(plan.files.map((f) => f.path)).toEqual(expect.arrayContaining(['sd_io32/unet/model.onnx.data', 'sd_io32/text_encoder_3/model.onnx', 'sd_io32/scheduler/extra.txt']));
    expect(plan.files.map((f) => f.path)).toContain('sd_io32/vae_encoder/model.onnx'); // image to image
    expect(plan.files.map((f) => f.path)).not.toContain('sd_io32/config.json');
    expect(planDownload('o/r', tree([...BASE, ...T5]), { t5: true, pageUrl: 'u' }).root).toBe('');
  });

  it('plans the selected files with LFS sha256 or git oid', () => {
    const plan = planDownload('o/r', tree([...BASE, ...T5]), { t5: true, pageUrl: 'u' });
    expect(plan.layout).toBe('tensorstack');
    expect(plan.t5).toBe(true);
    expect(plan.files.map((f) => f.path)).toContain('vae_encoder/model.onnx'); // image to image
    expect(plan.files.find((f) => f.path === 'unet/model.onnx.data')).toMatchObject({ expectedSha256: sha('b') });
    expect(plan.files.find((f) => f.path === 'unet/model.onnx')).toMatchObject({ gitOid: 'c'.repeat(40) });
    expect(plan.totalBytes).toBe(plan.files.reduce((s, f) => s + f.size, 0));
    expect(planDownload('o/r', tree([...BASE, ...T5]), { t5: false, pageUrl: 'u' }).files.some((f) => f.path.includes('_3/'))).toBe(false);
  });

  it('downloads without T5 when the repo has none', () => {
    expect(planDownload('o/r', tree(BASE), { t5: true, pageUrl: 'u' }).t5).toBe(false);
  });

  it('takes only text files from scheduler/, and refuses a repo with hundreds of junk files there', () => {
    const junk = Array.from({ length: 300 }, (_, i) => `scheduler/junk-${i}.json`);
    const err = (() => {
      try {
        planDownload('o/r', tree([...BASE, ...junk]), { t5: false, pageUrl: 'u' });
      } catch (e) {
        return e;
      }
    })();
    expect(isStudioError(err, 'invalid_input')).toBe(true);
    expect((err as Error).message).toContain('300 files');
    const binaries = planDownload('o/r', tree([...BASE, 'scheduler/payload.bin', 'scheduler/evil.onnx', 'scheduler/notes.txt']), { t5: false, pageUrl: 'u' });
    expect(binaries.files.filter((f) => f.path.startsWith('scheduler/')).map((f) => f.path).sort()).toEqual(['scheduler/notes.txt', 'scheduler/scheduler_config.json']);
    const big = tree([...BASE, 'scheduler/huge.json']).map((e) => (e.path === 'scheduler/huge.json' ? { ...e, size: 50 * 1024 * 1024 } : e));
    expect(() => planDownload('o/r', big, { t5: false, pageUrl: 'u' })).toThrow(/scheduler/);
  });

  it('refuses a repo that is not an SD3 ONNX export, or lacks files, before any byte', () => {
    const notSd3 = (() => {
      try {
        planDownload('o/r', tree(['config.json', 'model.safetensors']), { t5: true, pageUrl: 'https://hf.co/o/r' });
      } catch (e) {
        return e;
      }
    })();
    expect(isStudioError(notSd3, 'invalid_input')).toBe(true);
    expect((notSd3 as Error).message).toContain('not an SD3 ONNX export');
    expect(() => planDownload('o/r', tree(BASE.filter((p) => p !== 'tokenizer_2/merges.txt')), { t5: false, pageUrl: 'u' })).toThrow(/tokenizer_2\/merges.txt/);
  });
});
