// The LoRA library service behind the contract: uploads in ordered chunks (browser mode), import by path
// (refused in browser mode), progress in files, a loras.changed event per change.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LorasEvent } from '../../../src-shared/schemas/loras';
import { writeTestLora } from '../../testing/lora/lora-files';
import { removeTempDirs, tempDir } from '../../testing/temp';
import { LoraService } from './service';

afterAll(removeTempDirs);

function lora(seed: number): string {
  const file = path.join(tempDir(), `style ${seed}.safetensors`);
  writeTestLora(file, 'diffusers', [{ module: 'transformer_blocks.0.attn.to_q', rank: 2, in: 32, out: 32, seed }]);
  return file;
}

describe('LoraService', () => {
  it('takes an upload in ordered chunks, imports it under the file name, and removes the upload', () => {
    const events: LorasEvent[] = [];
    const data = tempDir();
    const s = new LoraService({ dataRoot: data, runtime: 'browser', emit: (e) => void events.push(e) });
    const bytes = fs.readFileSync(lora(1));
    const cut = 100;
    const first = s.upload({ offset: 0, dataBase64: bytes.subarray(0, cut).toString('base64') });
    expect(first.received).toBe(cut);
    expect(() => s.upload({ uploadId: first.uploadId, offset: cut + 1, dataBase64: 'AA==' })).toThrow(/has 100 bytes; this chunk starts at 101/u);
    expect(s.upload({ uploadId: first.uploadId, offset: cut, dataBase64: bytes.subarray(cut).toString('base64') }).received).toBe(bytes.length);
    const r = s.import([{ uploadId: first.uploadId, fileName: 'C:\\loras\\Ink Wash.safetensors' }]);
    expect(r.rejected).toEqual([]);
    expect(r.imported.map((e) => e.name)).toEqual(['Ink Wash']);
    expect(fs.readdirSync(path.join(data, 'loras', '.uploads'))).toEqual([]);
    expect(s.list().map((e) => [e.name, e.rank, e.a1111Hash.length, e.autoV2.length])).toEqual([['Ink Wash', 2, 12, 10]]);
    expect(events.map((e) => [e.kind, e.progress?.status, e.progress?.done, e.progress?.total])).toEqual([
      ['import', 'running', 0, 1],
      ['import', 'done', 1, 1],
    ]);
    // Browser mode never reads a server path; a finished upload cannot be imported twice.
    const again = s.import([{ path: lora(2) }, { uploadId: first.uploadId, fileName: 'x.safetensors' }]);
    expect(again.imported).toEqual([]);
    expect(again.rejected.map((x) => x.reason)).toEqual([
      'In browser mode, a LoRA is uploaded (loras.upload), not named by a path.',
      'That upload is not here (finished, or older than a day): send the file again.',
    ]);
  });

  it('imports by path in the app, refuses an unusable file with the reason, renames and removes with an event each', () => {
    const events: LorasEvent[] = [];
    const s = new LoraService({ dataRoot: tempDir(), runtime: 'electron', emit: (e) => void events.push(e) });
    const junk = path.join(tempDir(), 'junk.safetensors');
    fs.writeFileSync(junk, Buffer.from('not a safetensors file at all'));
    const r = s.import([{ path: lora(3) }, { path: junk }, { path: 'relative.safetensors' }]);
    expect(r.imported.map((e) => e.name)).toEqual(['style 3']);
    expect(r.rejected.map((x) => x.name)).toEqual([junk, 'relative.safetensors']);
    expect(r.rejected[1]!.reason).toBe('Not an absolute path: relative.safetensors');
    expect(s.rename('style 3', 'ink').name).toBe('ink');
    expect(s.remove('ink').name).toBe('ink');
    expect(s.list()).toEqual([]);
    expect(events.map((e) => e.kind)).toEqual(['import', 'import', 'import', 'import', 'rename', 'remove']);
  });

  it('links by path in the app (the view says so, the file stays), and never takes a link from a browser client', () => {
    const app = new LoraService({ dataRoot: tempDir(), runtime: 'electron', emit: () => undefined });
    const file = lora(4);
    const r = app.import([{ path: file, link: true }]);
    expect(r.imported).toMatchObject([{ name: 'style 4', linked: true }]);
    expect(JSON.stringify(r.imported)).not.toContain(file); // the contract's view carries no server path
    expect(app.remove('style 4').linked).toBe(true);
    expect(fs.existsSync(file)).toBe(true);
    const browser = new LoraService({ dataRoot: tempDir(), runtime: 'browser', emit: () => undefined });
    const b = browser.import([{ path: file, link: true }]);
    expect(b.imported).toEqual([]);
    expect(b.rejected[0]!.reason).toBe('In browser mode, a LoRA is uploaded (loras.upload), not named by a path.');
  });
});
