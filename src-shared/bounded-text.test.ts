import { describe, expect, it } from 'vitest';
import { boundText, listWithMore } from './bounded-text';
import { modelEntrySchema, modelsListSchema } from './schemas/models';

describe('bounded texts', () => {
  it('lists a few and counts the rest', () => {
    expect(listWithMore([])).toBe('');
    expect(listWithMore(['A'])).toBe('A');
    expect(listWithMore(['A', 'B', 'C'])).toBe('A, B and C');
    const ops = Array.from({ length: 300 }, (_, i) => `com.hostile.Op${i}`);
    expect(listWithMore(ops, 2)).toBe('com.hostile.Op0, com.hostile.Op1 and 298 more');
    expect(listWithMore(['x'.repeat(10_000)], 8, 10)).toBe(`${'x'.repeat(9)}…`);
    expect(boundText('abc', 3)).toBe('abc');
    expect(boundText('abcd', 3)).toBe('ab…');
  });
});

describe('models.list keeps the entries that fit (issue 18 §3)', () => {
  const entry = (id: string, text: string) => ({
    id,
    source: 'import',
    displayName: id,
    state: 'installed',
    sizeOnDisk: 1,
    installed: { path: `/m/${id}`, layout: 'optimum', t5: true },
    portability: { verdict: 'blocked', provider: 'cpu', text, rewritten: [], blocked: [] },
  });
  it('drops one entry whose verdict text is past the contract, not the whole list', () => {
    const good = entry('folder:good', 'runs here on the CPU');
    expect(modelEntrySchema.safeParse(good).success, JSON.stringify(modelEntrySchema.safeParse(good).error?.issues)).toBe(true);
    const list = modelsListSchema.parse({
      models: [good, entry('folder:hostile', `cannot run here: ${'com.hostile.Op, '.repeat(400)}`)],
      modelsDir: '/m',
      freeDiskBytes: null,
      machine: { ramBytes: 1 },
    });
    expect(list.models.map((m) => m.id)).toEqual(['folder:good']);
  });
});
