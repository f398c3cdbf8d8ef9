import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEEP_PER_PASS, checkedComponentDir, derivedGraph, modelGraphsDir, removeDerivedGraphs, writeExclusive, type DerivedGraphSpec } from './derived-graphs';

let tmp: string;
let folder: string;
let root: string;
const component = { component: 'transformer' as const, dir: 'unet', model: '', file: 'unet/model.onnx' };

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-derived-'));
  folder = path.join(tmp, 'model');
  root = path.join(tmp, 'data', 'graphs');
  fs.mkdirSync(path.join(folder, 'unet'), { recursive: true });
  component.model = path.join(folder, 'unet', 'model.onnx');
  fs.writeFileSync(component.model, Buffer.from('original graph'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function spec(key: unknown, produced: Buffer[] = []): DerivedGraphSpec {
  return {
    root,
    modelFolder: folder,
    component,
    pass: 'lora',
    key,
    produce: (source) => {
      const out = Buffer.concat([source, Buffer.from(` + ${JSON.stringify(key)}`)]);
      produced.push(out);
      return out;
    },
  };
}

const mode = (p: string) => fs.statSync(p).mode & 0o777;

describe('derived graphs', () => {
  it('live in <root>/<model id>/<component>/<pass>-<hash>.onnx (0700 folders, 0600 file), made once per inputs', async () => {
    const produced: Buffer[] = [];
    const a = await derivedGraph(spec({ scale: 1 }, produced));
    expect(a.created).toBe(true);
    expect(path.dirname(a.file)).toBe(path.join(modelGraphsDir(root, folder), 'transformer'));
    expect(path.basename(a.file)).toMatch(/^lora-[0-9a-f]{32}\.onnx$/);
    expect(fs.readFileSync(a.file, 'utf8')).toBe('original graph + {"scale":1}');
    expect(a.externalDataDir).toBe(fs.realpathSync(path.join(folder, 'unet')));
    if (process.platform !== 'win32') {
      for (const d of [root, modelGraphsDir(root, folder), path.dirname(a.file)]) expect(mode(d), d).toBe(0o700);
      expect(mode(a.file)).toBe(0o600);
    }
    // Same inputs: the stored graph, not produced again. Another key, or other original bytes: another file.
    const again = await derivedGraph(spec({ scale: 1 }, produced));
    expect(again).toEqual({ ...a, created: false });
    expect(produced).toHaveLength(1);
    const b = await derivedGraph(spec({ scale: 2 }, produced));
    expect(b.file).not.toBe(a.file);
    fs.writeFileSync(component.model, Buffer.from('original graph, changed'));
    const c = await derivedGraph(spec({ scale: 1 }, produced));
    expect(c.file).not.toBe(a.file);
    expect(produced).toHaveLength(3);
    // No temporary file is left behind; the model folder is untouched.
    expect(fs.readdirSync(path.dirname(a.file)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(fs.readdirSync(path.join(folder, 'unet'))).toEqual(['model.onnx']);
  });

  it(`keeps the newest ${KEEP_PER_PASS} graphs of a pass per component, and removes a model's graphs with it`, async () => {
    const files: string[] = [];
    for (let i = 0; i < KEEP_PER_PASS + 2; i++) {
      const g = await derivedGraph(spec({ prune: i }));
      files.push(g.file);
      // mtime order without a clock: each older file is dated back explicitly.
      fs.utimesSync(g.file, 1000 + i, 1000 + i);
    }
    const left = fs.readdirSync(path.dirname(files[0] as string)).filter((n) => n.startsWith('lora-'));
    expect(left).toHaveLength(KEEP_PER_PASS);
    expect(left).toContain(path.basename(files[files.length - 1] as string));
    removeDerivedGraphs(root, folder);
    expect(fs.existsSync(modelGraphsDir(root, folder))).toBe(false);
    expect(fs.existsSync(component.model)).toBe(true);
  });

  it('refuses a pass name that is not one, and a component folder that is a symlink or lies outside', async () => {
    await expect(derivedGraph({ ...spec(1), pass: '../x' })).rejects.toThrow(/not a pass name/);
    const hostile = path.join(tmp, 'hostile');
    const outside = path.join(tmp, 'outside');
    fs.mkdirSync(outside, { recursive: true });
    fs.writeFileSync(path.join(outside, 'model.onnx'), 'elsewhere');
    fs.mkdirSync(hostile, { recursive: true });
    fs.symlinkSync(outside, path.join(hostile, 'unet'));
    expect(() => checkedComponentDir(hostile, 'unet')).toThrow(/symbolic link or lies outside/);
    await expect(
      derivedGraph({ ...spec(1), modelFolder: hostile, component: { ...component, model: path.join(hostile, 'unet', 'model.onnx') } }),
    ).rejects.toMatchObject({ code: 'invalid_input' });
    expect(fs.readdirSync(outside)).toEqual(['model.onnx']);
  });

  it('writeExclusive never opens an existing file for writing', () => {
    const dir = path.join(tmp, 'excl');
    fs.mkdirSync(dir);
    const target = path.join(dir, 'g.onnx');
    const canary = path.join(tmp, 'excl-canary');
    fs.writeFileSync(canary, 'canary');
    fs.symlinkSync(canary, target);
    writeExclusive(target, Buffer.from('graph'));
    // The symlink was replaced by the rename, never written through.
    expect(fs.readFileSync(canary, 'utf8')).toBe('canary');
    expect(fs.lstatSync(target).isFile()).toBe(true);
    expect(fs.readFileSync(target, 'utf8')).toBe('graph');
    expect(fs.readdirSync(dir)).toEqual(['g.onnx']);
  });
});
