// The olive flavor of the tiny model (the fusions ONNX Runtime's optimizer makes for DirectML) on the
// CPU: the raw fused graphs fail at session creation, the portability pass makes them load, and a whole
// generation equals the standard twin's within one level per pixel, in both layouts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ort } from './ort';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder, encodeModel, type Attr } from '../../e2e/support/onnx-builder';
import { writeTinyModel } from '../../e2e/support/tiny-model';
import { StudioError } from '../../src-shared/errors';
import { derivedGraphsModelId } from '../model-folder/derived-graphs';
import { checkFolder } from '../model-folder/layouts';
import { readOnnxGraph } from '../model-folder/onnx-graph';
import { listOps, opKey, opLabel } from '../model-folder/ops';
import { clearProbeMemory, probeOps } from './ort-probe';
import { checkModelGraphs } from './verdict';
import { checkGraphOps, unsupportedOpsError } from './portability';
import { generate, type GenerateRequest } from './pipeline';
import { LoadedModel } from './sessions';

const REQ: GenerateRequest = { prompt: 'a photo of a cat', negativePrompt: 'blurry', seed: '7', steps: 3, guidance: 4.5, width: 64, height: 64, t5: true };
let tmp: string;
const CPU = { ep: 'cpu' as const, memory: 'low' as const, threads: 1, get graphsDir() { return path.join(tmp, 'graphs'); } };
const dir = (layout: string, flavor: string) => path.join(tmp, `${layout}-${flavor}`);

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-olive-'));
  for (const layout of ['optimum', 'tensorstack'] as const) {
    for (const flavor of ['olive', 'olive-twin'] as const) {
      await writeTinyModel(dir(layout, flavor), { layout, io: layout === 'tensorstack' ? 'fp16' : 'fp32', size: 'micro', flavor });
    }
  }
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('the olive flavor on the CPU', () => {
  for (const layout of ['optimum', 'tensorstack'] as const) {
    const transformer = layout === 'optimum' ? 'transformer' : 'unet';

    it(`${layout}: the graphs hold the fusions, and the raw ones fail at session creation`, async () => {
      const ops = (component: string) => listOps(readOnnxGraph(path.join(dir(layout, 'olive'), component, 'model.onnx'), { nodes: true })).map(opLabel);
      expect(ops(transformer)).toEqual(expect.arrayContaining(['com.microsoft.NhwcConv(1)', 'com.microsoft.BiasSplitGelu(1)', 'com.microsoft.BiasAdd(1)']));
      expect(ops('vae_decoder')).toContain('com.microsoft.GroupNorm(1)');
      expect(ops(transformer).filter((o) => o.startsWith('com.microsoft'))).toHaveLength(3);
      // The twin is all standard ops.
      for (const c of [transformer, 'vae_decoder']) {
        expect(listOps(readOnnxGraph(path.join(dir(layout, 'olive-twin'), c, 'model.onnx'), { nodes: true })).filter((o) => o.domain !== '')).toEqual([]);
      }
      for (const c of [transformer, 'vae_decoder']) {
        await expect(ort.InferenceSession.create(path.join(dir(layout, 'olive'), c, 'model.onnx'), { logSeverityLevel: 4 }), c).rejects.toThrow(
          /Could not find an implementation|Failed to find kernel/,
        );
      }
    });

    it(`${layout}: the probes find exactly the fused ops missing on the CPU, all rewritable`, async () => {
      const graph = readOnnxGraph(path.join(dir(layout, 'olive'), transformer, 'model.onnx'), { nodes: true });
      const check = await checkGraphOps(graph, `${transformer}/model.onnx`, 'cpu');
      expect(check.missing.map(opLabel).sort()).toEqual(['com.microsoft.BiasAdd(1)', 'com.microsoft.BiasSplitGelu(1)', 'com.microsoft.NhwcConv(1)']);
      expect(check.blocked).toEqual([]);
    });

    it(`${layout}: the portable graphs load, and the image equals the standard twin's within one level per pixel`, async () => {
      const olive = await LoadedModel.load(dir(layout, 'olive'), CPU);
      const twin = await LoadedModel.load(dir(layout, 'olive-twin'), CPU);
      try {
        const a = await generate(olive, REQ);
        const b = await generate(twin, REQ);
        expect(olive.rewrittenOps).toEqual([
          { component: 'transformer', op: 'com.microsoft.BiasAdd', count: 1 },
          { component: 'transformer', op: 'com.microsoft.BiasSplitGelu', count: 1 },
          { component: 'transformer', op: 'com.microsoft.NhwcConv', count: 1 },
          { component: 'vae_decoder', op: 'com.microsoft.GroupNorm', count: 1 },
        ]);
        expect(twin.rewrittenOps).toEqual([]);
        // The portable graphs are in the studio's folder, one per rewritten component; the model folder is only read.
        const mine = path.join(CPU.graphsDir, derivedGraphsModelId(dir(layout, 'olive')));
        expect(fs.readdirSync(mine).sort()).toEqual(['transformer', 'vae_decoder']);
        for (const c of ['transformer', 'vae_decoder']) expect(fs.readdirSync(path.join(mine, c))).toEqual([expect.stringMatching(/^portable-[0-9a-f]{32}\.onnx$/)]);
        for (const c of [transformer, 'vae_decoder']) expect(fs.readdirSync(path.join(dir(layout, 'olive'), c)).filter((n) => !n.startsWith('model.onnx')), c).toEqual([]);
        expect(a.rgb.length).toBe(b.rgb.length);
        let worst = 0;
        let differing = 0;
        for (let i = 0; i < a.rgb.length; i++) {
          const d = Math.abs(a.rgb[i]! - b.rgb[i]!);
          worst = Math.max(worst, d);
          if (d > 0) differing++;
        }
        expect(worst, `${differing} of ${a.rgb.length} values differ`).toBeLessThanOrEqual(1);
        // Not a flat image: the comparison means something.
        expect(Math.max(...a.rgb) - Math.min(...a.rgb)).toBeGreaterThan(20);
      } finally {
        await olive.release();
        await twin.release();
      }
    });
  }

  it('an op with no kernel and no rewrite is a precise StudioError: op, file, provider, providers that have it, what to do', async () => {
    const graph = readOnnxGraph(path.join(dir('optimum', 'olive'), 'transformer', 'model.onnx'), { nodes: true });
    const check = await checkGraphOps(graph, 'transformer/model.onnx', 'cpu');
    // As if NhwcConv had no rewrite.
    const blocked = { ...check, blocked: check.missing.filter((o) => o.opType === 'NhwcConv') };
    const none = unsupportedOpsError(blocked, 'The model in /m cannot run here', new Map([['cpu', false]]));
    expect(none).toBeInstanceOf(StudioError);
    expect(none.code).toBe('unavailable');
    expect(none.message).toContain('com.microsoft.NhwcConv(1) (float32) in transformer/model.onnx has no kernel on the CPU and no rewrite');
    expect(none.message).toContain('No execution provider on this machine has it');
    expect(none.message).toMatch(/use an export in the standard optimum layout/);
    expect(none.details).toMatchObject({ op: 'com.microsoft.NhwcConv', file: 'transformer/model.onnx', provider: 'cpu', providersWithKernel: [] });
    const some = unsupportedOpsError({ ...blocked, provider: 'coreml' }, 'x', new Map([['dml', true]]));
    expect(some.message).toContain('has no kernel on CoreML or the CPU and no rewrite');
    expect(some.message).toContain('Providers here that have it: DirectML');
  });

  it('at load: an op with no kernel on the provider and no rewrite fails with the precise StudioError', async () => {
    const folder = path.join(tmp, 'blocked');
    fs.cpSync(dir('optimum', 'olive-twin'), folder, { recursive: true });
    // A VAE whose one node is an op the CPU provider lacks and the pass does not rewrite.
    const g = new GraphBuilder('vae');
    const inputs = Array.from({ length: 6 }, (_, i) => g.input(i === 0 ? 'latent_sample' : `x${i}`, 'float32', ['b']));
    g.contrib('GatedRelativePositionBias', inputs, { num_heads: { i: 2 } }, ['sample']);
    g.output('sample', 'float32', ['b']);
    fs.writeFileSync(path.join(folder, 'vae_decoder', 'model.onnx'), encodeModel(g));
    let err: unknown;
    try {
      const m = await LoadedModel.load(folder, { ...CPU, memory: 'balanced' });
      await m.release();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StudioError);
    const e = err as StudioError;
    expect(e.code).toBe('unavailable');
    expect(e.message).toContain(`The model in ${folder} cannot run here`);
    expect(e.message).toContain('com.microsoft.GatedRelativePositionBias(1) (float32) in vae_decoder/model.onnx has no kernel on the CPU and no rewrite');
    expect(e.message).toMatch(/No execution provider on this machine has it|Providers here that have it/);
    expect(e.details).toMatchObject({ op: 'com.microsoft.GatedRelativePositionBias', file: 'vae_decoder/model.onnx', provider: 'cpu' });
    expect(fs.readdirSync(path.join(folder, 'vae_decoder')).sort()).toEqual(['model.onnx', 'model.onnx_data']);
  });
});

describe('a hostile model folder (issue 18 §1)', () => {
  it('symlinks named like the old temporary files, and one named like the old portable graph, leave the canary untouched', async () => {
    const folder = path.join(tmp, 'hostile-tmp');
    fs.cpSync(dir('optimum', 'olive'), folder, { recursive: true });
    const canary = path.join(tmp, 'canary-bashrc');
    fs.writeFileSync(canary, 'echo canary\n');
    // The attack: every pid a worker might have, for the graph the pass used to write beside the original.
    const pids = new Set([process.pid, ...Array.from({ length: 400 }, (_, i) => Math.max(1, process.pid - 200 + i))]);
    for (const c of ['transformer', 'vae_decoder']) {
      for (const pid of pids) fs.symlinkSync(canary, path.join(folder, c, `model.portable.onnx.${pid}.tmp`));
      fs.symlinkSync(canary, path.join(folder, c, 'model.portable.onnx'));
    }
    const model = await LoadedModel.load(folder, CPU);
    try {
      await generate(model, { ...REQ, steps: 1 });
      expect(model.rewrittenOps.map((r) => r.component)).toContain('vae_decoder');
    } finally {
      await model.release();
    }
    expect(fs.readFileSync(canary, 'utf8')).toBe('echo canary\n');
    for (const c of ['transformer', 'vae_decoder']) expect(fs.lstatSync(path.join(folder, c, 'model.portable.onnx')).isSymbolicLink()).toBe(true);
  });

  it('a symlinked component folder is refused at import and at load, and nothing is written where it points', async () => {
    const folder = path.join(tmp, 'hostile-link');
    const elsewhere = path.join(tmp, 'elsewhere');
    fs.cpSync(dir('optimum', 'olive'), folder, { recursive: true });
    fs.mkdirSync(elsewhere, { recursive: true });
    fs.renameSync(path.join(folder, 'vae_decoder'), path.join(elsewhere, 'vae_decoder'));
    fs.symlinkSync(path.join(elsewhere, 'vae_decoder'), path.join(folder, 'vae_decoder'));
    const before = fs.readdirSync(path.join(elsewhere, 'vae_decoder')).sort();

    const check = await checkFolder(folder);
    expect(check.ok).toBe(false);
    expect(check.problems.join('\n')).toContain('vae_decoder/ is a symbolic link or lies outside the model folder');
    await expect(LoadedModel.load(folder, CPU)).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringContaining('vae_decoder/') });
    expect(fs.readdirSync(path.join(elsewhere, 'vae_decoder')).sort()).toEqual(before);
  });
});

describe('a hostile graph cannot poison the op-probe cache (issue 18 §2)', () => {
  const hostileGroupNorm = (file: string, attrs: Record<string, Attr>): void => {
    const g = new GraphBuilder('vae');
    g.input('latent_sample', 'float32', [1, 4, 2, 2]);
    const gamma = g.init('gamma', { type: 'float32', dims: [4], data: new Float32Array(4).fill(1) });
    const beta = g.init('beta', { type: 'float32', dims: [4], data: new Float32Array(4) });
    g.contrib('GroupNorm', ['latent_sample', gamma, beta], attrs, ['sample']);
    g.output('sample', 'float32', [1, 4, 2, 2]);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, encodeModel(g));
  };

  it('an inconclusive probe of odd attributes (pre-download check) is neither cached nor taken for the real op, across restarts', async () => {
    const cacheDir = path.join(tmp, 'poison-cache');
    const hostile = path.join(tmp, 'poison-repo', 'vae_decoder', 'model.onnx');
    // The same op, opset and element types as the olive VAE's GroupNorm; a string where ORT wants an int.
    hostileGroupNorm(hostile, { groups: { i: 2 }, activation: { s: 'swish' }, epsilon: { f: 1e-5 }, channels_last: { i: 0 } });
    const real = listOps(readOnnxGraph(path.join(dir('optimum', 'olive'), 'vae_decoder', 'model.onnx'), { nodes: true })).find((o) => o.opType === 'GroupNorm')!;
    const odd = listOps(readOnnxGraph(hostile, { nodes: true })).find((o) => o.opType === 'GroupNorm')!;
    expect(opKey(odd)).toBe(opKey(real));
    clearProbeMemory();
    const verdict = await checkModelGraphs([{ file: 'vae_decoder/model.onnx', path: hostile }], { ep: 'cpu', cacheDir });
    expect(verdict.verdict).toBe('runs'); // inconclusive: not evidence against the op
    for (const f of fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir) : []) {
      expect(Object.values(JSON.parse(fs.readFileSync(path.join(cacheDir, f), 'utf8')) as object)).not.toContainEqual(expect.objectContaining({ supported: true, detail: expect.stringContaining('inconclusive') }));
    }
    // A restart (memory cleared), then the real olive model with the same cache: its GroupNorm is rewritten.
    clearProbeMemory();
    const model = await LoadedModel.load(dir('optimum', 'olive'), { ...CPU, probeCacheDir: cacheDir });
    try {
      await generate(model, { ...REQ, steps: 1 });
      expect(model.rewrittenOps).toContainEqual({ component: 'vae_decoder', op: 'com.microsoft.GroupNorm', count: 1 });
    } finally {
      await model.release();
    }
    clearProbeMemory();
  });

  it('a cached answer a real session contradicts is dropped, and the load goes on with the rewrite', async () => {
    const cacheDir = path.join(tmp, 'contradicted-cache');
    clearProbeMemory();
    const vae = path.join(dir('optimum', 'olive'), 'vae_decoder', 'model.onnx');
    const graph = readOnnxGraph(vae, { nodes: true });
    await probeOps(listOps(graph), graph.opsets, 'cpu', { cacheDir });
    const [file] = fs.readdirSync(cacheDir);
    const cache = JSON.parse(fs.readFileSync(path.join(cacheDir, file!), 'utf8')) as Record<string, { supported: boolean }>;
    // Poison every "no kernel" answer into "supported", as a stale or forged file would.
    const poisoned = Object.keys(cache).filter((k) => !cache[k]!.supported);
    expect(poisoned.length).toBeGreaterThan(0);
    for (const k of poisoned) cache[k] = { supported: true };
    fs.writeFileSync(path.join(cacheDir, file!), JSON.stringify(cache));
    clearProbeMemory();
    const model = await LoadedModel.load(dir('optimum', 'olive'), { ...CPU, memory: 'balanced', probeCacheDir: cacheDir });
    await model.release();
    expect(model.rewrittenOps).toContainEqual({ component: 'vae_decoder', op: 'com.microsoft.GroupNorm', count: 1 });
    const after = JSON.parse(fs.readFileSync(path.join(cacheDir, file!), 'utf8')) as Record<string, { supported: boolean }>;
    for (const k of poisoned) expect(after[k]?.supported, k).toBe(false);
    clearProbeMemory();
  });
});
