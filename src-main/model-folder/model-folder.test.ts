import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ort } from '../inference/ort';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel, type TinyModelOptions } from '../../e2e/support/tiny-model';
import { StudioError } from '../../src-shared/errors';
import { openModelFolder } from './layouts';
import { readOnnxGraphInfo } from './onnx-graph';

let tmp: string;
const base: Record<string, string> = {};

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-model-folder-'));
  const make = async (name: string, options: TinyModelOptions): Promise<void> => {
    base[name] = path.join(tmp, name);
    await writeTinyModel(base[name] as string, options);
  };
  await make('optimum', { layout: 'optimum', io: 'fp32', size: 'micro' });
  await make('tensorstack', { layout: 'tensorstack', io: 'fp16', size: 'micro' });
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A copy of a base model folder that a test may damage. */
function copyOf(name: string): string {
  const dir = fs.mkdtempSync(path.join(tmp, `${name}-copy-`));
  fs.cpSync(base[name] as string, dir, { recursive: true });
  return dir;
}

async function failure(p: Promise<unknown>): Promise<StudioError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(StudioError);
    return err as StudioError;
  }
  throw new Error('expected a failure');
}

describe('layout detection and validation', () => {
  it('detects both layouts', async () => {
    const o = await openModelFolder(base.optimum as string);
    expect(o.layout).toBe('optimum');
    expect(o.hasT5).toBe(true);
    expect(o.components.transformer?.file).toBe('transformer/model.onnx');
    const t = await openModelFolder(base.tensorstack as string);
    expect(t.layout).toBe('tensorstack');
    expect(t.components.transformer?.file).toBe('unet/model.onnx');
    expect(t.components.transformer?.model).toBe(path.join(base.tensorstack as string, 'unet', 'model.onnx'));
  });

  it('treats a folder without text_encoder_3 as a model downloaded without T5', async () => {
    const dir = copyOf('optimum');
    fs.rmSync(path.join(dir, 'text_encoder_3'), { recursive: true });
    const info = await openModelFolder(dir);
    expect(info.hasT5).toBe(false);
    expect(info.components.text_encoder_3).toBeUndefined();
  });

  it('names the missing folder', async () => {
    const missing = path.join(tmp, 'nope');
    const err = await failure(openModelFolder(missing));
    expect(err.code).toBe('not_found');
    expect(err.message).toContain(missing);
  });

  it('says when a folder is not a model at all', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'empty-'));
    const err = await failure(openModelFolder(dir));
    expect(err.code).toBe('not_found');
    expect(err.message).toContain('transformer/model.onnx');
    expect(err.message).toContain('unet/model.onnx');
  });

  it('names the folder and file when a model.onnx is missing', async () => {
    const dir = copyOf('tensorstack');
    fs.rmSync(path.join(dir, 'text_encoder_2', 'model.onnx'));
    const err = await failure(openModelFolder(dir));
    expect(err.code).toBe('not_found');
    expect(err.message).toContain(dir);
    expect(err.message).toContain('text_encoder_2/model.onnx');
    expect(err.details).toMatchObject({ folder: dir, file: 'text_encoder_2/model.onnx' });
  });

  it('names the missing external-data file', async () => {
    const dir = copyOf('optimum');
    fs.rmSync(path.join(dir, 'transformer', 'model.onnx_data'));
    const err = await failure(openModelFolder(dir));
    expect(err.code).toBe('not_found');
    expect(err.message).toContain(dir);
    expect(err.message).toContain('transformer/model.onnx_data');
  });

  it('reports truncated external data as an incomplete download', async () => {
    const dir = copyOf('tensorstack');
    const data = path.join(dir, 'vae_decoder', 'model.onnx.data');
    fs.truncateSync(data, fs.statSync(data).size - 10);
    const err = await failure(openModelFolder(dir));
    expect(err.code).toBe('invalid_input');
    expect(err.message).toContain('vae_decoder/model.onnx.data');
    expect(err.message).toMatch(/cut short|incomplete/);
  });

  it('names a missing tokenizer file', async () => {
    const dir = copyOf('optimum');
    fs.rmSync(path.join(dir, 'tokenizer_2', 'merges.txt'));
    const err = await failure(openModelFolder(dir));
    expect(err.code).toBe('not_found');
    expect(err.message).toContain('tokenizer_2/merges.txt');
  });

  it('rejects a damaged model.onnx clearly', async () => {
    const dir = copyOf('optimum');
    fs.writeFileSync(path.join(dir, 'vae_decoder', 'model.onnx'), Buffer.from([0x0a, 0xff, 0xff, 0x01]));
    const err = await failure(openModelFolder(dir));
    expect(err.code).toBe('invalid_input');
    expect(err.message).toContain('vae_decoder');
  });
});

describe('readOnnxGraphInfo', () => {
  it('agrees with ONNX Runtime on every input and output of both layouts', async () => {
    for (const name of ['optimum', 'tensorstack']) {
      const info = await openModelFolder(base[name] as string);
      for (const files of Object.values(info.components).filter((f) => f !== undefined)) {
        const graph = await readOnnxGraphInfo(files.model);
        const s = await ort.InferenceSession.create(files.model, { intraOpNumThreads: 1 });
        const fromOrt = (m: ort.InferenceSession.ValueMetadata): unknown =>
          m.isTensor ? { name: m.name, type: m.type, dims: [...m.shape] } : { name: m.name };
        expect(graph.inputs, files.file).toEqual(s.inputMetadata.map(fromOrt));
        expect(graph.outputs, files.file).toEqual(s.outputMetadata.map(fromOrt));
        expect(graph.initializers.length).toBeGreaterThan(0);
        await s.release();
      }
    }
  });
});

