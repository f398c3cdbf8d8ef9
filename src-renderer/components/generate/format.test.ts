import { describe, expect, it } from 'vitest';
import type { JobView } from '../../../src-shared/schemas/jobs';
import { formatDuration, promptHead, seedsText } from './format';

const job = (sweep: JobView['sweep'], seeds: string[] = []): JobView => ({
  id: 1,
  createdAt: '2026-01-01T00:00:00.000Z',
  finishedAt: null,
  status: 'queued',
  owner: 'queue',
  params: { prompt: 'p', negativePrompt: '', model: 'm', steps: 4, guidance: 0, width: 64, height: 64, t5: true },
  sweep,
  generations: seeds.map((seed, i) => ({ id: i + 1, seed, status: 'queued' })),
});

describe('generate view text', () => {
  it('durations', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(12_400)).toBe('12 s');
    expect(formatDuration(125_000)).toBe('2 min 05 s');
    expect(formatDuration(3_840_000)).toBe('1 h 04 min');
    expect(formatDuration(-1)).toBe('');
  });
  it('seeds of a job, exact past 2^53', () => {
    expect(seedsText(job({ seeds: { mode: 'consecutive', first: '1000', count: 4 } }))).toBe('seeds 1000–1003');
    expect(seedsText(job({ seeds: { mode: 'consecutive', first: '18446744073709551612', count: 4 } }))).toBe('seeds 18446744073709551612–18446744073709551615');
    expect(seedsText(job({ seeds: { mode: 'consecutive', first: '7', count: 1 } }))).toBe('seed 7');
    expect(seedsText(job({ seeds: { mode: 'random', count: 2 } }, ['11', '22']))).toBe('random seeds 11, 22');
    expect(seedsText(job({ seeds: { mode: 'list', seeds: ['1', '2', '3', '4', '5'] } }))).toBe('seeds 1, 2, 3, 4…');
  });
  it('prompt heads collapse whitespace and cut with an ellipsis', () => {
    expect(promptHead('  a\n\ncat  ')).toBe('a cat');
    expect(promptHead('x'.repeat(100), 10)).toBe(`${'x'.repeat(9)}…`);
  });
});
