import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { events } from './api';
import { generationStepSchema, progress, progressFraction, progressSchema, stepProgress } from './progress';
import { modelEntrySchema, modelEventSchema, modelsListSchema } from './schemas/models';

/** Every object key a schema can carry, nested objects, arrays, optionals and unions included. */
function keysOf(schema: z.ZodType, into = new Set<string>()): Set<string> {
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
  if (def.type === 'object') {
    for (const [k, v] of Object.entries((schema as z.ZodObject).shape)) {
      into.add(k);
      keysOf(v as z.ZodType, into);
    }
  } else if (def.type === 'union') {
    for (const o of def.options as z.ZodType[]) keysOf(o, into);
  } else if (def.type === 'optional' || def.type === 'nullable' || def.type === 'default') {
    keysOf(def.innerType as z.ZodType, into);
  } else if (def.type === 'array') {
    keysOf(def.element as z.ZodType, into);
  } else if (def.type === 'pipe') {
    keysOf(def.in as z.ZodType, into);
  }
  return into;
}

const LEGACY = ['doneBytes', 'totalBytes', 'bytesPerSecond', 'etaSeconds'];
const progressEvents = modelEventSchema.options.filter((o) => ['download-progress', 'verify-progress'].includes(o.shape.type.value));

describe('THE progress shape', () => {
  it('builds each task with its unit and validates', () => {
    expect(progressSchema.parse(progress('download', { status: 'running', done: 5, total: 10, rate: 2, etaMs: 2500, label: 'a.onnx' }))).toEqual({
      task: 'download',
      unit: 'bytes',
      status: 'running',
      done: 5,
      total: 10,
      rate: 2,
      etaMs: 2500,
      label: 'a.onnx',
    });
    expect(progress('import', { status: 'done', done: 3, total: 3 })).toMatchObject({ unit: 'files', rate: null, etaMs: null });
    // The unit follows from the task: a generate value in bytes is refused, as is an unknown field.
    expect(progressSchema.safeParse({ ...progress('generate', { status: 'running', done: 1, total: 4 }), unit: 'bytes' }).success).toBe(false);
    expect(progressSchema.safeParse({ ...progress('generate', { status: 'running', done: 1, total: 4 }), step: 1 }).success).toBe(false);
    expect(progressSchema.safeParse({ ...progress('verify', { status: 'running', done: -1, total: 4 }) }).success).toBe(false);
    expect(progressSchema.safeParse({ ...progress('verify', { status: 'running', done: Number.NaN, total: 4 }) }).success).toBe(false);
  });

  it('fraction: done / total, 1 once done, 0 while the total is not known', () => {
    expect(progressFraction({ status: 'running', done: 1, total: 4 })).toBe(0.25);
    expect(progressFraction({ status: 'running', done: 9, total: 4 })).toBe(1);
    expect(progressFraction({ status: 'running', done: 3, total: 0 })).toBe(0);
    expect(progressFraction({ status: 'done', done: 0, total: 0 })).toBe(1);
  });
});

describe('THE generation-step shape', () => {
  it('validates a step and refuses what is not one', () => {
    expect(generationStepSchema.parse({ step: 1, total: 4, elapsedMs: 12.5 })).toEqual({ step: 1, total: 4, elapsedMs: 12.5 });
    for (const bad of [
      { step: 0, total: 4, elapsedMs: 0 },
      { step: 1.5, total: 4, elapsedMs: 0 },
      { step: 1, total: 0, elapsedMs: 0 },
      { step: 1, total: 4, elapsedMs: -1 },
      { step: 1, total: 4 },
      { step: 1, total: 4, elapsedMs: 0, etaMs: 5 },
    ]) {
      expect(generationStepSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it('becomes THE progress shape for job.progress: steps, steps per second, the ETA as given', () => {
    // 3 steps in 600 ms = 5 steps per second (computed here by hand).
    expect(stepProgress({ step: 3, total: 8, elapsedMs: 600 }, 4200)).toEqual({
      task: 'generate',
      unit: 'steps',
      status: 'running',
      done: 3,
      total: 8,
      rate: 5,
      etaMs: 4200,
    });
    expect(stepProgress({ step: 1, total: 8, elapsedMs: 0 }, null)).toMatchObject({ rate: null, etaMs: null });
    expect(events['job.progress'].safeParse({ jobId: 1, generationId: 2, progress: stepProgress({ step: 1, total: 4, elapsedMs: 10 }, 30), jobStatus: 'running' }).success).toBe(true);
  });
});

describe('the legacy progress fields stay gone', () => {
  it('no progress event of the contract declares doneBytes, totalBytes, bytesPerSecond, etaSeconds (or the old step fields)', () => {
    expect(progressEvents).toHaveLength(2);
    for (const schema of [...progressEvents, events['job.progress']]) {
      const keys = keysOf(schema);
      expect(keys.has('progress')).toBe(true);
      for (const legacy of [...LEGACY, 'step', 'elapsedMs']) expect(keys.has(legacy), legacy).toBe(false);
    }
  });

  it('a payload that adds a legacy field back is refused at the boundary', () => {
    const p = progress('download', { status: 'running', done: 1, total: 2 });
    const ok = { type: 'download-progress', id: 'm', progress: p, files: [{ path: 'a', stage: 'downloading', progress: p }] };
    expect(modelEventSchema.safeParse(ok).success).toBe(true);
    for (const legacy of LEGACY) {
      expect(modelEventSchema.safeParse({ ...ok, [legacy]: 1 }).success, legacy).toBe(false);
      expect(modelEventSchema.safeParse({ ...ok, files: [{ ...ok.files[0], [legacy]: 1 }] }).success, `file ${legacy}`).toBe(false);
    }
    const verify = { type: 'verify-progress', id: 'm', progress: progress('verify', { status: 'running', done: 1, total: 2, label: 'a' }) };
    expect(modelEventSchema.safeParse(verify).success).toBe(true);
    expect(modelEventSchema.safeParse({ ...verify, doneBytes: 1, totalBytes: 2 }).success).toBe(false);
    // A download event carries a download progress, never another task's.
    expect(modelEventSchema.safeParse({ ...ok, progress: progress('verify', { status: 'running', done: 1, total: 2 }) }).success).toBe(false);
  });

  it('the models.list row carries THE progress shape too, and a row with a legacy field is refused', () => {
    const download = modelEntrySchema.shape.download.unwrap();
    const keys = keysOf(download);
    expect(keys.has('progress')).toBe(true);
    for (const legacy of LEGACY) expect(keys.has(legacy), legacy).toBe(false);

    const p = progress('download', { status: 'paused', done: 1, total: 2 });
    const row = { id: 'm', source: 'hub', displayName: 'm', state: 'paused', sizeOnDisk: 0, download: { commit: 'c', t5: true, progress: p } };
    expect(modelEntrySchema.safeParse(row).success).toBe(true);
    const list = (models: unknown[]) => modelsListSchema.parse({ models, modelsDir: '/m', freeDiskBytes: null, machine: { ramBytes: 1 } }).models;
    expect(list([row])).toHaveLength(1);
    for (const legacy of LEGACY) {
      const withLegacy = { ...row, download: { ...row.download, [legacy]: 1 } };
      expect(modelEntrySchema.safeParse(withLegacy).success, legacy).toBe(false);
      // The list drops the row that does not fit (its own rule: one bad entry never hides the others).
      expect(list([withLegacy, row]).map((m) => m.id), legacy).toEqual(['m']);
    }
    // The old shape alone (bytes without a progress) is refused, and so is another task's progress.
    const { progress: _dropped, ...noProgress } = row.download;
    expect(modelEntrySchema.safeParse({ ...row, download: { ...noProgress, doneBytes: 1, totalBytes: 2 } }).success).toBe(false);
    expect(modelEntrySchema.safeParse({ ...row, download: { ...row.download, progress: progress('verify', { status: 'running', done: 1, total: 2 }) } }).success).toBe(false);
  });
});
