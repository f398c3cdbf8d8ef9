import { describe, expect, it } from 'vitest';
import type { JobView } from '../../../src-shared/schemas/jobs';
import { jobSummary, promptHead, seedsText } from './format';

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
  it('queue card meta line: the axis values replace the base value they override', () => {
    const seeds = { mode: 'consecutive', first: '2000', count: 2 } as const;
    const base = (sweep: JobView['sweep']): JobView => ({ ...job(sweep), params: { ...job(sweep).params, model: 'tiny-sd35', guidance: 4, width: 256, height: 256 } });
    expect(jobSummary(base({ seeds }))).toBe('tiny-sd35 · 4 steps · guidance 4 · 256 × 256 · seeds 2000–2001');
    expect(jobSummary(base({ seeds, axis: { kind: 'guidance', values: [3, 6] } }))).toBe('tiny-sd35 · 4 steps · guidance 3, 6 · 256 × 256 · seeds 2000–2001');
    expect(jobSummary(base({ seeds, axis: { kind: 'steps', values: [8, 16] } }))).toBe('tiny-sd35 · 8, 16 steps · guidance 4 · 256 × 256 · seeds 2000–2001');
    const names: Record<string, string> = { a: 'Medium', b: 'Large Turbo', 'tiny-sd35': 'Tiny' };
    expect(jobSummary(base({ seeds, axis: { kind: 'model', values: ['a', 'b'] } }), (id) => names[id] ?? id)).toBe(
      'models Medium, Large Turbo · 4 steps · guidance 4 · 256 × 256 · seeds 2000–2001',
    );
  });
  it('seeds of a job, exact past 2^53', () => {
    expect(seedsText(job({ seeds: { mode: 'consecutive', first: '1000', count: 4 } }))).toBe('seeds 1000–1003');
    expect(seedsText(job({ seeds: { mode: 'consecutive', first: '18446744073709551612', count: 4 } }))).toBe('seeds 18446744073709551612–18446744073709551615');
    expect(seedsText(job({ seeds: { mode: 'consecutive', first: '7', count: 1 } }))).toBe('seed 7');
    expect(seedsText(job({ seeds: { mode: 'random', count: 2 } }, ['11', '22']))).toBe('random seeds 11, 22');
    // Every seed, none cut: the card clamps the line and "More" shows the rest.
    expect(seedsText(job({ seeds: { mode: 'list', seeds: ['1', '2', '3', '4', '5'] } }))).toBe('seeds 1, 2, 3, 4, 5');
    expect(seedsText(job({ seeds: { mode: 'random', count: 5 } }, ['11', '22', '33', '44', '55']))).toBe('random seeds 11, 22, 33, 44, 55');
  });
  it('prompt heads collapse whitespace and cut with an ellipsis', () => {
    expect(promptHead('  a\n\ncat  ')).toBe('a cat');
    expect(promptHead('x'.repeat(100), 10)).toBe(`${'x'.repeat(9)}…`);
  });
});
