import { describe, expect, it } from 'vitest';
import { bestColumns, cellLabel, compareLayout, differingKeys, formatGridParameters, type CompareSubject } from './compare-layout';
import { parseA1111 } from './metadata';

function subject(id: number, over: Partial<CompareSubject> = {}): CompareSubject {
  return { id, prompt: 'a fox', negativePrompt: 'blurry', seed: String(1000 + id), steps: 28, guidance: 4.5, width: 1024, height: 1024, model: 'sd3.5-medium', ...over };
}

describe('compare layout', () => {
  it('a seed sweep differs in the seed only and lays out in the squarest grid', () => {
    const items = [0, 1, 2, 3, 4].map((i) => subject(i));
    expect(differingKeys(items)).toEqual(['seed']);
    const l = compareLayout(items);
    expect(l).toMatchObject({ kind: 'list', columns: 3, rows: 2, cells: [0, 1, 2, 3, 4, null] });
    expect(cellLabel(items[2]!, l)).toBe('Seed 1002');
  });

  it('labels every parameter that differs, not only the seed', () => {
    const items = [subject(0), subject(1, { steps: 40 }), subject(2, { model: 'sd3.5-large' })];
    const l = compareLayout(items);
    expect(l.differing).toEqual(['seed', 'steps', 'model']);
    expect(cellLabel(items[1]!, l)).toBe('Seed 1001 · 40 steps · Model sd3.5-medium');
  });

  it('a LoRA strength or on/off sweep is an axis labelled by name and strength ("off" without the LoRA), and in the grid text', () => {
    const on = (s: number) => ({ scheduler: 'normal', loras: [{ name: 'ink wash', strength: s }] });
    const items = [subject(0, { seed: '7', ...on(0) }), subject(1, { seed: '7', ...on(0.5) }), subject(2, { seed: '8', ...on(0) }), subject(3, { seed: '8', ...on(0.5) })];
    const l = compareLayout(items);
    expect(l.kind).toBe('axes');
    expect(l.columnAxis).toEqual({ key: 'loras', label: 'LoRA', values: ['ink wash 0', 'ink wash 0.5'] });
    expect(cellLabel(items[1]!, l)).toBe('Seed 7 · LoRA ink wash 0.5');
    expect(formatGridParameters(items, l, '1.0.0')).toContain('LoRA: "ink wash 0, ink wash 0.5, ink wash 0, ink wash 0.5"');
    const offItems = [subject(0, { seed: '7', ...on(1) }), subject(1, { seed: '7', scheduler: 'normal' })];
    expect(cellLabel(offItems[1]!, compareLayout(offItems))).toBe('Seed 7 · LoRA off');
    // Imported images (no sampling recorded) have no LoRA value: not an axis.
    expect(differingKeys([subject(0), subject(1)])).toEqual(['seed']);
  });

  it('2 seeds × 2 guidance values are rows (seeds) × columns (guidance) whatever the order', () => {
    const items = [
      subject(1, { seed: '7', guidance: 3.5 }),
      subject(2, { seed: '7', guidance: 7 }),
      subject(3, { seed: '8', guidance: 3.5 }),
      subject(4, { seed: '8', guidance: 7 }),
    ].reverse();
    const l = compareLayout(items);
    expect(l.kind).toBe('axes');
    expect(l.rowAxis).toEqual({ key: 'seed', label: 'Seed', values: ['8', '7'] });
    expect(l.columnAxis).toEqual({ key: 'guidance', label: 'CFG', values: ['7', '3.5'] });
    expect(l.cells.map((c) => items[c!]!.id)).toEqual([4, 3, 2, 1]);
  });

  it('an incomplete two-axis set (a missing combination) stays a list', () => {
    const items = [subject(1, { seed: '7', guidance: 3.5 }), subject(2, { seed: '7', guidance: 7 }), subject(3, { seed: '8', guidance: 3.5 }), subject(4, { seed: '9', guidance: 7 })];
    expect(compareLayout(items).kind).toBe('list');
  });

  it('bestColumns picks the columns that make the cells largest in the box', () => {
    expect(bestColumns(4, 1000, 1000)).toBe(2);
    expect(bestColumns(4, 2000, 500)).toBe(4);
    expect(bestColumns(4, 500, 2000)).toBe(1);
    expect(bestColumns(16, 1600, 900, 1, 24, 8)).toBe(6);
    expect(bestColumns(3, 1200, 400, 16 / 9)).toBe(3);
  });

  it('the grid parameters quote lists like any value with a comma, and parseA1111 reads them back', () => {
    const items = [0, 1, 2, 3].map((i) => subject(i));
    const text = formatGridParameters(items, compareLayout(items), '1.2.3');
    expect(text).toContain('Seed: "1000, 1001, 1002, 1003"');
    const parsed = parseA1111(text);
    expect(parsed.prompt).toBe('a fox');
    expect(parsed.negativePrompt).toBe('blurry');
    expect(parsed.steps).toBe(28);
    expect(parsed.guidance).toBe(4.5);
    expect(parsed.extra.Seed).toBe('1000, 1001, 1002, 1003');
    expect(parsed.extra.Grid).toBe('2x2');
    expect(parsed.extra.Version).toBe('sd35-studio 1.2.3');
  });

  it('a two-axis grid names its axes in the X/Y-plot vocabulary', () => {
    const items = [subject(1, { seed: '7', guidance: 3.5 }), subject(2, { seed: '7', guidance: 7 }), subject(3, { seed: '8', guidance: 3.5 }), subject(4, { seed: '8', guidance: 7 })];
    const parsed = parseA1111(formatGridParameters(items, compareLayout(items), '1'));
    expect(parsed.extra).toMatchObject({ Seed: '7, 7, 8, 8', 'CFG scale': '3.5, 7, 3.5, 7', 'X Type': 'CFG scale', 'X Values': '3.5, 7', 'Y Type': 'Seed', 'Y Values': '7, 8' });
    expect(parsed.steps).toBe(28);
  });
});

describe('sampling axes in Compare', () => {
  it('seeds × samplers make rows × columns labelled with A1111 names; the export names them as A1111 does', () => {
    const items = [
      subject(0, { seed: '1', sampler: 'euler', scheduler: 'sgm_uniform', shift: 3 }),
      subject(1, { seed: '1', sampler: 'dpmpp_2m', scheduler: 'sgm_uniform', shift: 3 }),
      subject(2, { seed: '2', sampler: 'euler', scheduler: 'sgm_uniform', shift: 3 }),
      subject(3, { seed: '2', sampler: 'dpmpp_2m', scheduler: 'sgm_uniform', shift: 3 }),
    ];
    const l = compareLayout(items);
    expect(l).toMatchObject({ kind: 'axes', rowAxis: { key: 'seed', values: ['1', '2'] }, columnAxis: { key: 'sampler', values: ['Euler', 'DPM++ 2M'] } });
    expect(cellLabel(items[1]!, l)).toBe('Seed 1 · Sampler DPM++ 2M');
    const text = formatGridParameters(items, l, '0.1.0');
    expect(text).toContain('Sampler: "Euler, DPM++ 2M, Euler, DPM++ 2M", Schedule type: SGM Uniform, Shift: 3');
    expect(text).toContain('X Type: Sampler, X Values: "Euler, DPM++ 2M"');
    expect(parseA1111(text).extra['X Type']).toBe('Sampler');
  });
  it('schedules, shift and SLG scale differ too ("off" without SLG)', () => {
    const items = [
      subject(0, { sampler: 'euler', scheduler: 'beta', shift: 3 }),
      subject(1, { sampler: 'euler', scheduler: 'simple', shift: 6, slgScale: 2.8 }),
    ];
    const l = compareLayout(items);
    expect(l.differing).toEqual(['seed', 'scheduler', 'shift', 'slgScale']);
    expect(cellLabel(items[0]!, l)).toBe('Seed 1000 · Schedule Beta · Shift 3 · SLG off');
    expect(cellLabel(items[1]!, l)).toBe('Seed 1001 · Schedule Simple · Shift 6 · SLG 2.8');
  });
});
