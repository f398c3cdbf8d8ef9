import { describe, expect, it } from 'vitest';
import { formatClock, formatDuration, formatSeconds, formatTimeLeft, formatTiming } from './durations';

describe('durations', () => {
  it('formatDuration', () => {
    expect(formatDuration(750)).toBe('750 ms');
    expect(formatDuration(12_400)).toBe('12 s');
    expect(formatDuration(125_000)).toBe('2 min 05 s');
    expect(formatDuration(3_840_000)).toBe('1 h 04 min');
    expect(formatDuration(-1)).toBe('');
  });
  it('formatClock', () => {
    expect(formatClock(12_000)).toBe('0:12');
    expect(formatClock(725_000)).toBe('12:05');
    expect(formatClock(3_723_000)).toBe('1:02:03');
    expect(formatClock(null)).toBe('--:--');
  });
  it('formatTiming: exact ms below 10 s, seconds with one decimal from there', () => {
    expect(formatTiming(850)).toBe('850 ms');
    expect(formatTiming(2374.4)).toBe('2,374 ms');
    expect(formatTiming(9_999)).toBe('9,999 ms');
    expect(formatTiming(10_000)).toBe('10.0 s');
    expect(formatTiming(12_345)).toBe('12.3 s');
  });
  it('formatSeconds', () => {
    expect(formatSeconds(2_350)).toBe('2.4 s');
    expect(formatSeconds(0)).toBe('0.0 s');
  });
  it('formatTimeLeft', () => {
    expect(formatTimeLeft(45_000)).toBe('45 s left');
    expect(formatTimeLeft(180_000)).toBe('about 3 min left');
    expect(formatTimeLeft(7_500_000)).toBe('about 2 h 5 min left');
    expect(formatTimeLeft(undefined)).toBe('');
  });
});
