import { describe, expect, it } from 'vitest';
import { StudioError } from '../../src-shared/errors';
import { GENERATION_LIMITS } from '../../src-shared/generation';
import { encodePng } from '../formats/png';
import { parseHostMessage, parseWorkerMessage, type HostToWorker, type WorkerToHost } from './protocol';

const PNG_BYTES = new Uint8Array(encodePng({ width: 2, height: 2, channels: 3, data: new Uint8Array(12) }, []));

const model = { folder: '/models/sd35', ep: 'cpu', memory: 'balanced' } as const;
const request = { prompt: 'a cat', negativePrompt: '', seed: '42', steps: 4, guidance: 4.5, width: 64, height: 64, t5: true };

describe('host → worker messages', () => {
  const valid: HostToWorker[] = [
    { type: 'load', requestId: 1, model },
    { type: 'load', requestId: 1, model: { ...model, probeCacheDir: '/data/op-probes' } },
    { type: 'generate', requestId: 2, model: { ...model, threads: 1 }, request, previews: true },
    { type: 'generate', requestId: 3, generationId: 17, model, request, previews: false, testHold: 'after-step:1' },
    { type: 'generate', requestId: 4, model, request, previews: false, testHold: null },
    { type: 'cancel' },
    { type: 'cancel', requestId: 2 },
    { type: 'shutdown' },
  ];
  it.each(valid.map((m) => [m.type, m] as const))('accepts %s', (_, m) => {
    expect(parseHostMessage(m)).toEqual({ ok: true, message: m });
  });

  const malformed: unknown[] = [
    null,
    42,
    'generate',
    {},
    { type: 'frobnicate' },
    { type: 'load', requestId: -1, model },
    { type: 'load', requestId: 1, model: { ...model, ep: 'tpu' } },
    { type: 'load', requestId: 1, model: { ...model, memory: 'huge' } },
    { type: 'load', requestId: 1, model: { ...model, folder: '' } },
    { type: 'generate', requestId: 1, model, request: { ...request, seed: 42 }, previews: true },
    { type: 'generate', requestId: 1, model, request: { ...request, extra: 1 }, previews: true },
    { type: 'generate', requestId: 1, model, request },
    { type: 'cancel', requestId: 'x' },
    { type: 'shutdown', now: true },
  ];
  it('rejects malformed messages with a reason', () => {
    for (const m of malformed) {
      const r = parseHostMessage(m);
      expect(r.ok, JSON.stringify(m)).toBe(false);
      if (!r.ok) expect(r.problem.length).toBeGreaterThan(0);
    }
  });

  it('leaves parameter ranges to the pipeline (so they come back as invalid_input, not as a dropped message)', () => {
    expect(parseHostMessage({ type: 'generate', requestId: 1, model, request: { ...request, width: 65, steps: 0 }, previews: false }).ok).toBe(true);
    const tooLong = 'x'.repeat(GENERATION_LIMITS.maxPromptChars + 1);
    expect(parseHostMessage({ type: 'generate', requestId: 1, model, request: { ...request, prompt: tooLong, negativePrompt: tooLong }, previews: false }).ok).toBe(true);
    const beyondGuard = 'x'.repeat(GENERATION_LIMITS.maxKeptPromptChars + 1);
    expect(parseHostMessage({ type: 'generate', requestId: 1, model, request: { ...request, prompt: beyondGuard }, previews: false }).ok).toBe(false);
  });
});

describe('worker → host messages', () => {
  const rgb = new Uint8Array(2 * 2 * 3);
  const valid: WorkerToHost[] = [
    { type: 'ready', protocol: 2, pid: 123, transport: 'process' },
    {
      type: 'loaded',
      requestId: 1,
      folder: '/m',
      reused: false,
      layout: 'optimum',
      hasT5: true,
      ep: 'cpu',
      epFallbackReason: 'CUDA is not available',
      precision: 'fp16',
      clipHidden: 'penultimate',
      loadMs: 12.5,
    },
    { type: 'step', requestId: 1, step: 1, total: 4, elapsedMs: 3 },
    { type: 'step', requestId: 1, step: 2, total: 4, elapsedMs: 5, preview: { width: 2, height: 2, png: PNG_BYTES } },
    {
      type: 'result',
      requestId: 1,
      rgb,
      width: 2,
      height: 2,
      ep: 'cpu',
      precision: 'fp32',
      clipHidden: 'last',
      t5: false,
      timings: { loadMs: 0, encodeMs: 1, denoiseMs: 2, decodeMs: 3, totalMs: 6 },
      dropped: { clip: 0, t5: 3 },
      shift: 3,
      modelReused: true,
    },
    { type: 'error', requestId: 1, error: new StudioError('cancelled', 'The generation was cancelled.').toWire() },
    { type: 'error', error: { code: 'internal', message: 'boom', details: { file: 'x' } } },
    { type: 'log', level: 'warn', message: 'hello' },
  ];
  it.each(valid.map((m) => [m.type, m] as const))('accepts %s', (_, m) => {
    expect(parseWorkerMessage(m)).toEqual({ ok: true, message: m });
  });

  it('accepts a Buffer as bytes (what advanced serialization may deliver)', () => {
    const r = parseWorkerMessage({ type: 'step', requestId: 1, step: 1, total: 1, elapsedMs: 0, preview: { width: 1, height: 1, png: Buffer.from(PNG_BYTES) } });
    expect(r.ok).toBe(true);
  });

  const malformed: unknown[] = [
    undefined,
    [],
    { type: 'ready', protocol: 1, pid: 1, transport: 'process' },
    { type: 'step', requestId: 1, step: 0, total: 4, elapsedMs: 0 },
    { type: 'step', requestId: 1, step: 1, total: 4, elapsedMs: 0, preview: { width: 2, height: 2, png: new Uint8Array(5) } },
    { type: 'step', requestId: 1, step: 1, total: 4, elapsedMs: 0, preview: { width: 1, height: 1, png: [1, 2, 3] } },
    { type: 'step', requestId: 1, step: 1, total: 4, elapsedMs: 0, preview: { width: 1, height: 1, data: new Uint8Array(3) } },
    { type: 'result', requestId: 1, rgb: new Uint8Array(3), width: 2, height: 2, ep: 'cpu', precision: 'fp32', clipHidden: 'last', t5: true, timings: { loadMs: 0, encodeMs: 0, denoiseMs: 0, decodeMs: 0, totalMs: 0 }, dropped: { clip: 0, t5: 0 }, shift: 3, modelReused: false },
    { type: 'error', requestId: 1, error: { code: 'no_such_code', message: 'x' } },
    { type: 'log', level: 'shout', message: 'x' },
    { type: 'toString' },
    { type: '__proto__' },
  ];
  it('rejects malformed messages with a reason', () => {
    for (const m of malformed) {
      const r = parseWorkerMessage(m);
      expect(r.ok, String((m as { type?: unknown } | undefined)?.type)).toBe(false);
    }
  });
});
