// The detail panel read "Time: denoise ms 2,374 ms" beside a "Duration" and a "Time: total ms" that differed:
// one row now, one total, the stages in the order they run.
import { describe, expect, it } from 'vitest';
import { timeBreakdown } from './time-breakdown';

const STARTED = '2026-01-01T10:00:00.000Z';
const FINISHED = '2026-01-01T10:00:03.100Z'; // 3,100 ms: includes waiting for the worker, not the worker's total

describe('timeBreakdown', () => {
  it("one total (the worker's: the model load, then the pipeline's encode → decode) and the stages in pipeline order with their own words", () => {
    // As the worker sent them for a tiny-model image: totalMs is the pipeline's own span, the load came before it.
    const text = timeBreakdown({ timings: { totalMs: 3058, decodeMs: 8, denoiseMs: 42, encodeMs: 3009, loadMs: 4774 }, startedAt: STARTED, finishedAt: FINISHED });
    expect(text).toBe(`${(4774 + 3058).toLocaleString('en-US')} ms: load 4,774 ms · text encode 3,009 ms · denoise 42 ms · decode 8 ms`);
    expect(text).not.toMatch(/ms ms|denoise ms|3,100/);
    expect(timeBreakdown({ timings: { totalMs: 2544, encodeMs: 80, denoiseMs: 2374, decodeMs: 90 }, startedAt: null, finishedAt: null })).toBe(
      '2,544 ms: text encode 80 ms · denoise 2,374 ms · decode 90 ms',
    );
  });

  it('without the worker total, the started → finished span is the one total', () => {
    expect(timeBreakdown({ timings: { denoiseMs: 2374 }, startedAt: STARTED, finishedAt: FINISHED })).toBe('3,100 ms: denoise 2,374 ms');
    expect(timeBreakdown({ timings: null, startedAt: STARTED, finishedAt: FINISHED })).toBe('3,100 ms');
  });

  it('a stage it does not know keeps its name; nothing known is no row', () => {
    expect(timeBreakdown({ timings: { totalMs: 500, upscaleMs: 40 }, startedAt: null, finishedAt: null })).toBe('500 ms: upscale 40 ms');
    expect(timeBreakdown({ timings: null, startedAt: null, finishedAt: null })).toBeUndefined();
  });
});
