// The model folder is read once, at load (issue #15 §2): the worker carries the scheduler shift and the
// transformer's precision in its loaded model, so making an image reads neither scheduler_config.json nor the
// transformer graph again. Counted with spies on the two readers' file calls, over the real in-process worker.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { writeTinyModel } from '../../e2e/support/tiny-model';
import type { WorkerToHost } from './protocol';
import { InferenceWorker } from './worker';
import { probeBytes } from './ort-probe';

let tmp: string;
let folder: string;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-model-spec-'));
  folder = path.join(tmp, 'model');
  await writeTinyModel(folder, { layout: 'optimum', io: 'fp16', size: 'micro' });
  // A shift of its own (not SD3.5's 3.0), so the test sees it came from this folder.
  fs.writeFileSync(path.join(folder, 'scheduler', 'scheduler_config.json'), JSON.stringify({ _class_name: 'FlowMatchEulerDiscreteScheduler', shift: 2.5 }));
}, 120_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('the model spec, read once at load', () => {
  it('two images: scheduler_config.json read once; the transformer graph not read again after the load; shift and precision reported', async () => {
    const schedulerReads: string[] = [];
    const graphOpens: { file: string; phase: string }[] = [];
    let phase = 'load';
    const readFile = fsp.readFile.bind(fsp);
    const openSync = fs.openSync.bind(fs);
    const readSpy = vi.spyOn(fsp, 'readFile').mockImplementation(((file: fs.PathLike, ...rest: unknown[]) => {
      if (String(file).endsWith(path.join('scheduler', 'scheduler_config.json'))) schedulerReads.push(phase);
      return (readFile as (...a: unknown[]) => unknown)(file, ...rest);
    }) as typeof fsp.readFile);
    const openSpy = vi.spyOn(fs, 'openSync').mockImplementation(((file: fs.PathLike, ...rest: unknown[]) => {
      if (path.resolve(String(file)) === path.join(folder, 'transformer', 'model.onnx')) graphOpens.push({ file: String(file), phase });
      return (openSync as (...a: unknown[]) => number)(file, ...rest);
    }) as typeof fs.openSync);
    const messages: WorkerToHost[] = [];
    // The host's part of a load: op probes asked by the worker, answered here in this process.
    const worker: InferenceWorker = new InferenceWorker(
      {
        send: (m) => {
          messages.push(m);
          if (m.type === 'probe') void Promise.all(m.graphs.map((g) => probeBytes(g, m.provider))).then((results) => worker.receive({ type: 'probed', probeId: m.probeId, results }));
        },
      },
      { SD35_ORT_THREADS: '1' },
    );
    const request = { prompt: 'a lighthouse', negativePrompt: '', seed: '7', steps: 2, guidance: 2, width: 64, height: 64, t5: false };
    const result = (id: number) => messages.find((m) => (m.type === 'result' || m.type === 'error') && m.requestId === id);
    try {
      worker.receive({ type: 'generate', requestId: 1, model: { folder, ep: 'cpu', memory: 'balanced' }, request, previews: false });
      await vi.waitFor(() => expect(result(1)).toBeDefined(), { timeout: 120_000, interval: 20 });
      phase = 'second image';
      worker.receive({ type: 'generate', requestId: 2, model: { folder, ep: 'cpu', memory: 'balanced' }, request: { ...request, seed: '8' }, previews: false });
      await vi.waitFor(() => expect(result(2)).toBeDefined(), { timeout: 120_000, interval: 20 });
    } finally {
      readSpy.mockRestore();
      openSpy.mockRestore();
    }
    const first = result(1)!;
    const second = result(2)!;
    expect(first).toMatchObject({ type: 'result', shift: 2.5, precision: 'fp16' });
    expect(second).toMatchObject({ type: 'result', shift: 2.5, precision: 'fp16', modelReused: true });
    const loaded = messages.filter((m) => m.type === 'loaded');
    expect(loaded.map((m) => [m.reused, m.precision])).toEqual([
      [false, 'fp16'],
      [true, 'fp16'],
    ]);
    // Once per model load, never per image.
    expect(schedulerReads).toEqual(['load']);
    expect(graphOpens.filter((o) => o.phase !== 'load')).toEqual([]);
    // The load opens the transformer graph 3 times (its roles and the graph passes' reads);
    // the precision comes from the roles and adds none (reading it again after the load made 4).
    expect(graphOpens.map((o) => o.phase)).toEqual(['load', 'load', 'load']);
    await worker.shutdown(() => undefined);
  }, 300_000);
});
