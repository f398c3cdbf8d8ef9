// The detail panel read "Time: denoise ms 2,374 ms" beside a "Duration" and a "Time: total ms" that differed:
// one row now, one total, the stages in the order they run.
import { describe, expect, it } from 'vitest';
import { formatMs, timeBreakdown } from './time-breakdown';

const STARTED = '2026-01-01T10:00:00.000Z';
const FINISHED = '2026-01-01T10:00:03.100Z'; // 3,100 ms: includes waiting for the worker, not the worker's total

describe('timeBreakdown', () => {
  it("one total (the worker's) and the stages in pipeline order with their own words", () => {
    const text = timeBreakdown({ timings: { totalMs: 2664, decodeMs: 90, denoiseMs: 2374, encodeMs: 80, loadMs: 120 }, startedAt: STARTED, finishedAt: FINISHED });
    expect(text).toBe('2,664 ms: load 120 ms · text encode 80 ms · denoise 2,374 ms · decode 90 ms');
    expect(text).not.toMatch(/ms ms|denoise ms|3,100/);
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

describe('formatMs', () => {
  it('exact to the ms below 10 s, tenths of a second above', () => {
    expect(formatMs(850)).toBe('850 ms');
    expect(formatMs(2374.4)).toBe('2,374 ms');
    expect(formatMs(12_345)).toBe('12.3 s');
  });
});
