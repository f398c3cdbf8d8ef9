import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkFolder, detectLayout, detectModelRoot, hasT5, listFolder, missingFiles, requiredFiles, underRoot } from './layouts';
import { checkExternalData, readOnnxGraph } from './onnx-graph';
import { onnxModel, tempDir, writeSd3Repo } from '../testing/models/repo-fixture';

const root = tempDir('layouts');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('layouts', () => {
  it('detects the layout from the transformer folder', () => {
    expect(detectLayout(['transformer/model.onnx', 'vae_decoder/model.onnx'])).toBe('optimum');
    expect(detectLayout(['unet/model.onnx'])).toBe('tensorstack');
    expect(detectLayout(['unet/model.onnx.data'])).toBeUndefined();
    expect(hasT5(['text_encoder_3/model.onnx', 'tokenizer_3/tokenizer.json'])).toBe(true);
    expect(hasT5(['text_encoder_3/model.onnx'])).toBe(false);
  });

  it('finds the model root: the repo root, else a subfolder the layout check recognises (_io32 preferred)', () => {
    const model = requiredFiles('tensorstack', { t5: true });
    expect(detectModelRoot(model)).toEqual({ root: '', layout: 'tensorstack' });
    const inSub = (sub: string) => model.map((f) => `${sub}/${f}`);
    // Stability's layout: one subfolder per I/O precision beside README/LICENSE/samples.
    const stability = ['README.md', 'sample.png', ...inSub('stable-diffusion-3-5-large_io16'), ...inSub('stable-diffusion-3-5-large_io32')];
    expect(detectModelRoot(stability)).toEqual({ root: 'stable-diffusion-3-5-large_io32', layout: 'tensorstack' });
    expect(detectModelRoot(['README.md', ...inSub('b_io16'), ...inSub('a_fp16')])).toEqual({ root: 'a_fp16', layout: 'tensorstack' });
    // A subfolder without a transformer graph is no model root; nor is a deeper one.
    expect(detectModelRoot(['x/unet/model.onnx.data', 'x/vae_decoder/model.onnx', 'a/b/unet/model.onnx'])).toBeUndefined();
    expect(underRoot(['r/unet/model.onnx', 'README.md', 'rr/x'], 'r')).toEqual(['unet/model.onnx']);
  });

  it('needs the tokenizers, scheduler and every graph; T5 only with T5', () => {
    expect(requiredFiles('tensorstack', { t5: false })).toContain('unet/model.onnx');
    expect(requiredFiles('optimum', { t5: false })).toContain('transformer/model.onnx');
    expect(requiredFiles('optimum', { t5: false })).not.toContain('text_encoder_3/model.onnx');
    expect(requiredFiles('optimum', { t5: true })).toEqual(expect.arrayContaining(['text_encoder_3/model.onnx', 'tokenizer_3/tokenizer.json']));
    expect(missingFiles(requiredFiles('tensorstack', { t5: true }).filter((f) => f !== 'tokenizer/merges.txt'), 'tensorstack', { t5: true })).toEqual([
      'tokenizer/merges.txt',
    ]);
  });

  it('checks a generated folder and lists its files two levels deep', async () => {
    const dir = path.join(root, 'ts');
    await writeSd3Repo(dir, { layout: 'tensorstack', seed: 1, transformerBytes: 4096, clutter: true });
    const check = await checkFolder(dir);
    expect(check).toMatchObject({ ok: true, layout: 'tensorstack', t5: true, problems: [] });
    expect(check.files).toContain('unet/model.onnx.data');
    expect(check.files).not.toContain('Sample.png');
    expect(await listFolder(dir)).toContain('vae copy/model.onnx');
  });
});

describe('the one graph reader and external-data check', () => {
  it('reads the IR version and the external data a graph needs', () => {
    const file = path.join(root, 'ext', 'model.onnx');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, onnxModel({ external: { location: 'model.onnx.data', length: 4096 } }));
    fs.writeFileSync(path.join(root, 'ext', 'model.onnx.data'), Buffer.alloc(4096));
    const graph = readOnnxGraph(file);
    expect(graph.irVersion).toBe(8);
    expect([...graph.externalData]).toEqual([['model.onnx.data', 4096]]);
    expect(checkExternalData(file, graph.externalData)).toEqual([]);
  });

  it('accepts inline weights and refuses junk, truncation and escaping locations', () => {
    const dir = path.join(root, 'bad');
    fs.mkdirSync(dir, { recursive: true });
    const write = (name: string, data: Buffer | string) => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, data);
      return f;
    };
    expect(readOnnxGraph(write('inline.onnx', onnxModel({ inlineBytes: 100_000 }))).externalData.size).toBe(0);
    const full = onnxModel({ inlineBytes: 100_000 });
    expect(() => readOnnxGraph(write('cut.onnx', full.subarray(0, full.length - 1)))).toThrow(/runs past the end|unexpected end/);
    expect(() => readOnnxGraph(write('html.onnx', '<!doctype html><p>403</p>'))).toThrow(/does not start like an ONNX model/);
    expect(() => readOnnxGraph(write('tiny.onnx', Buffer.from([8, 1])))).toThrow(/too small/);
    // A file that exists outside the folder: the check refuses the path before it looks at the file.
    fs.writeFileSync(path.join(root, 'outside.bin'), Buffer.alloc(64));
    for (const location of ['../../etc/passwd', '../outside.bin', path.join(root, 'outside.bin'), 'C:\\Windows\\x.bin']) {
      const f = write('escape.onnx', onnxModel({ external: { location, length: 10 } }));
      const problems = checkExternalData(f, readOnnxGraph(f).externalData);
      expect(problems, location).toEqual([expect.objectContaining({ kind: 'outside', location })]);
    }
    expect(() => readOnnxGraph(path.join(dir, 'absent.onnx'))).toThrow(/ENOENT/);
  });
});
