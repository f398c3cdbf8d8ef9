import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkFolder, detectLayout, hasT5, listFolder, missingFiles, requiredFiles } from './layouts';
import { checkOnnxFile } from './onnx-check';
import { onnxModel, tempDir, writeSd3Repo } from '../../testing/models/repo-fixture';

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

describe('checkOnnxFile', () => {
  it('reads the IR version and the external data a graph needs', async () => {
    const file = path.join(root, 'ext', 'model.onnx');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, onnxModel({ external: { location: 'model.onnx.data', length: 4096 } }));
    fs.writeFileSync(path.join(root, 'ext', 'model.onnx.data'), Buffer.alloc(4096));
    expect(await checkOnnxFile(file)).toEqual({ ok: true, irVersion: 8, problems: [], externalData: [{ location: 'model.onnx.data', bytesNeeded: 4096 }] });
  });

  it('accepts inline weights and refuses junk, truncation and escaping locations', async () => {
    const dir = path.join(root, 'bad');
    fs.mkdirSync(dir, { recursive: true });
    const write = (name: string, data: Buffer | string) => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, data);
      return f;
    };
    expect((await checkOnnxFile(write('inline.onnx', onnxModel({ inlineBytes: 100_000 })))).ok).toBe(true);
    const full = onnxModel({ inlineBytes: 100_000 });
    expect((await checkOnnxFile(write('cut.onnx', full.subarray(0, full.length - 1)))).problems[0]).toMatch(/runs past the end|unexpected end/);
    expect((await checkOnnxFile(write('html.onnx', '<!doctype html><p>403</p>'))).problems[0]).toMatch(/does not start like an ONNX model/);
    expect((await checkOnnxFile(write('tiny.onnx', Buffer.from([8, 1])))).problems[0]).toMatch(/too small/);
    const escape = await checkOnnxFile(write('escape.onnx', onnxModel({ external: { location: '../../etc/passwd', length: 10 } })));
    expect(escape.problems[0]).toMatch(/outside its folder/);
    expect((await checkOnnxFile(path.join(dir, 'absent.onnx'))).ok).toBe(false);
  });
});
