// How a set of compared images is laid out and labelled — shared by the Compare view and the grid
// export (core/images/grid.ts), so the screen and the PNG say the same thing.
//
// The parameters that differ between the images are found from the images themselves (their rows),
// not from the job that made them: a seed sweep differs in the seed only; a two-axis sweep (seed ×
// guidance, seed × steps, seed × model, seed × sampler/schedule/shift/SLG scale) differs in exactly two parameters and holds every
// combination once — that set is shown as rows × columns with the axis values as headers.
import { SAMPLER_LABELS, SCHEDULER_LABELS } from './generation';
import { quoteA1111Value } from './metadata';

export interface CompareSubject {
  id: number;
  prompt: string;
  negativePrompt: string;
  seed: string | null;
  steps: number | null;
  guidance: number | null;
  width: number;
  height: number;
  model: string;
  /** Sampling ids of our own images (absent for imported ones). */
  sampler?: string | undefined;
  scheduler?: string | undefined;
  shift?: number | undefined;
  slgScale?: number | undefined;
  /** Our images' LoRAs (name, strength); absent when none was used. */
  loras?: readonly { name: string; strength: number }[] | undefined;
  /** Image to image: the strength (A1111's "Denoising strength"). */
  strength?: number | undefined;
}

export type AxisKey = 'seed' | 'guidance' | 'steps' | 'model' | 'sampler' | 'scheduler' | 'shift' | 'slgScale' | 'loras' | 'strength' | 'size' | 'prompt' | 'negativePrompt';

/** Checked in this order; the first two that differ make the axes of a two-axis grid. */
export const AXIS_KEYS: readonly AxisKey[] = ['seed', 'guidance', 'steps', 'model', 'sampler', 'scheduler', 'shift', 'slgScale', 'loras', 'strength', 'size', 'prompt', 'negativePrompt'];

/** Display names; the A1111 field names are used in the exported `parameters`. */
export const AXIS_LABELS: Record<AxisKey, string> = {
  seed: 'Seed',
  guidance: 'CFG',
  steps: 'Steps',
  model: 'Model',
  sampler: 'Sampler',
  scheduler: 'Schedule',
  shift: 'Shift',
  slgScale: 'SLG',
  loras: 'LoRA',
  strength: 'Strength',
  size: 'Size',
  prompt: 'Prompt',
  negativePrompt: 'Negative prompt',
};
const A1111_NAMES: Record<AxisKey, string> = {
  seed: 'Seed',
  guidance: 'CFG scale',
  steps: 'Steps',
  model: 'Model',
  sampler: 'Sampler',
  scheduler: 'Schedule type',
  shift: 'Shift',
  slgScale: 'SLG scale',
  loras: 'LoRA',
  strength: 'Denoising strength',
  size: 'Size',
  prompt: 'Prompt',
  negativePrompt: 'Negative prompt',
};

const label = (labels: Readonly<Record<string, string>>, id: string | undefined): string => (id === undefined ? '' : (labels[id] ?? id));

export function axisValue(item: CompareSubject, key: AxisKey): string {
  switch (key) {
    case 'seed':
      return item.seed ?? '';
    case 'guidance':
      return item.guidance === null ? '' : String(item.guidance);
    case 'steps':
      return item.steps === null ? '' : String(item.steps);
    case 'model':
      return item.model;
    case 'sampler':
      return label(SAMPLER_LABELS, item.sampler);
    case 'scheduler':
      return label(SCHEDULER_LABELS, item.scheduler);
    case 'shift':
      return item.shift === undefined ? '' : String(item.shift);
    case 'slgScale':
      // Without SLG (our image with a sampler recorded but no SLG scale) the value is "off".
      return item.slgScale !== undefined ? String(item.slgScale) : item.scheduler !== undefined ? 'off' : '';
    case 'loras':
      // "name 0.5" per LoRA; our image without any (a LoRA switched off) is "off".
      return item.loras && item.loras.length > 0 ? item.loras.map((l) => `${l.name} ${l.strength}`).join(', ') : item.scheduler !== undefined ? 'off' : '';
    case 'strength':
      return item.strength === undefined ? '' : String(item.strength);
    case 'size':
      return `${item.width}x${item.height}`;
    case 'prompt':
      return item.prompt;
    case 'negativePrompt':
      return item.negativePrompt;
  }
}

/** The parameters whose value is not the same for every image, in AXIS_KEYS order. */
export function differingKeys(items: readonly CompareSubject[]): AxisKey[] {
  return AXIS_KEYS.filter((k) => new Set(items.map((i) => axisValue(i, k))).size > 1);
}

/** Distinct values in order of first appearance. */
function distinct(values: readonly string[]): string[] {
  return [...new Set(values)];
}

export interface Axis {
  key: AxisKey;
  label: string;
  values: string[];
}

export interface CompareLayout {
  /** 'axes': rows × columns of a two-axis set; 'list': images in order, `columns` per row. */
  kind: 'list' | 'axes';
  columns: number;
  rows: number;
  /** cells[r * columns + c] = index into items, or null for an empty cell. */
  cells: (number | null)[];
  differing: AxisKey[];
  /** Two-axis sets: the row axis (the seed when it is one of the two) and the column axis. */
  rowAxis?: Axis;
  columnAxis?: Axis;
}

/**
 * Columns that make `n` cells of aspect `cellAspect` (width/height) the largest inside a box of
 * `boxW`×`boxH` (each cell also needs `extraH` pixels for its caption and `gap` between cells).
 */
export function bestColumns(n: number, boxW: number, boxH: number, cellAspect = 1, extraH = 0, gap = 0): number {
  if (n <= 1 || boxW <= 0 || boxH <= 0) return Math.max(1, n);
  let best = 1;
  let bestSide = -1;
  for (let c = 1; c <= n; c++) {
    const r = Math.ceil(n / c);
    const w = (boxW - gap * (c - 1)) / c;
    const h = (boxH - gap * (r - 1)) / r - extraH;
    const side = Math.min(w, h * cellAspect);
    if (side > bestSide + 1e-9) {
      bestSide = side;
      best = c;
    }
  }
  return best;
}

/** The two-axis reading of a set, when it is one (every combination exactly once). */
function twoAxes(items: readonly CompareSubject[], differing: readonly AxisKey[]): { row: Axis; column: Axis } | undefined {
  if (differing.length !== 2 || items.length < 4) return undefined;
  // The seed (if it is an axis) runs down the rows, the other parameter across the columns, as in
  // A1111's X/Y plot with seeds on Y.
  const [a, b] = differing as [AxisKey, AxisKey];
  const rowKey = b === 'seed' ? b : a;
  const colKey = rowKey === a ? b : a;
  const rows = distinct(items.map((i) => axisValue(i, rowKey)));
  const cols = distinct(items.map((i) => axisValue(i, colKey)));
  if (rows.length < 2 || cols.length < 2 || rows.length * cols.length !== items.length) return undefined;
  const seen = new Set(items.map((i) => `${axisValue(i, rowKey)}\u0000${axisValue(i, colKey)}`));
  if (seen.size !== items.length) return undefined;
  return {
    row: { key: rowKey, label: AXIS_LABELS[rowKey], values: rows },
    column: { key: colKey, label: AXIS_LABELS[colKey], values: cols },
  };
}

/**
 * THE order of compared images, whichever surface opens them (a Gallery selection, "Compare these seeds" on a job, a
 * URL): the order they were made — image ids ascending. Within a job that is its generation (sweep) order: an image's
 * id is its generation's, numbered at submit in sweep order. Repeated ids are dropped.
 */
export function compareOrder(ids: readonly number[]): number[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}

/**
 * The layout of a set: rows × columns for a two-axis sweep, else `columns` per row (default: the
 * squarest grid).
 */
export function compareLayout(items: readonly CompareSubject[], columns?: number): CompareLayout {
  const differing = differingKeys(items);
  const axes = twoAxes(items, differing);
  if (axes) {
    const { row, column } = axes;
    const cells: (number | null)[] = new Array<number | null>(row.values.length * column.values.length).fill(null);
    items.forEach((item, index) => {
      const r = row.values.indexOf(axisValue(item, row.key));
      const c = column.values.indexOf(axisValue(item, column.key));
      cells[r * column.values.length + c] = index;
    });
    return { kind: 'axes', columns: column.values.length, rows: row.values.length, cells, differing, rowAxis: row, columnAxis: column };
  }
  const n = items.length;
  const cols = Math.max(1, Math.min(n, columns ?? Math.ceil(Math.sqrt(n))));
  const rows = Math.max(1, Math.ceil(n / cols));
  const cells = Array.from({ length: rows * cols }, (_, k) => (k < n ? k : null));
  return { kind: 'list', columns: cols, rows, cells, differing };
}

function shortValue(key: AxisKey, value: string): string {
  if (key === 'prompt' || key === 'negativePrompt') return value.length > 40 ? `${value.slice(0, 39)}…` : value;
  if (key === 'size') return value.replace('x', '×');
  return value;
}

/** "CFG 4.5", "28 steps", "Seed 1000" … one parameter of one image, for labels and headers. */
export function formatAxisValue(key: AxisKey, value: string): string {
  if (key === 'steps') return `${value} steps`;
  if (key === 'seed') return `Seed ${value || '—'}`;
  return `${AXIS_LABELS[key]} ${shortValue(key, value)}`;
}

/** The caption of one cell: its seed, then every other parameter that differs between the images. */
export function cellLabel(item: CompareSubject, layout: Pick<CompareLayout, 'differing'>): string {
  const parts = [formatAxisValue('seed', axisValue(item, 'seed'))];
  for (const key of layout.differing) {
    if (key !== 'seed') parts.push(formatAxisValue(key, axisValue(item, key)));
  }
  return parts.join(' · ');
}

/**
 * The A1111 `parameters` text of an exported grid: the shared prompt, then one line of fields in
 * which a parameter that differs lists every value in grid order, quoted like any other value with a
 * comma (`Seed: "1000, 1001, 1002, 1003"`), plus the grid's shape and, for a two-axis set, its axes
 * in the X/Y-plot vocabulary (`X Type: CFG scale, X Values: "3.5, 7"`).
 */
export function formatGridParameters(items: readonly CompareSubject[], layout: CompareLayout, appVersion: string): string {
  const ordered = layout.cells.filter((c): c is number => c !== null).map((i) => items[i]!);
  const first = ordered[0];
  if (!first) return '';
  const differing = new Set(layout.differing);
  const value = (key: AxisKey): string => {
    const values = ordered.map((i) => axisValue(i, key));
    return differing.has(key) ? values.join(', ') : values[0]!;
  };
  const fields: [string, string][] = [];
  if (first.steps !== null || differing.has('steps')) fields.push([A1111_NAMES.steps, value('steps')]);
  if (first.guidance !== null || differing.has('guidance')) fields.push([A1111_NAMES.guidance, value('guidance')]);
  for (const key of ['sampler', 'scheduler', 'shift', 'slgScale', 'strength'] as const) {
    if (first[key] !== undefined || differing.has(key)) fields.push([A1111_NAMES[key], value(key)]);
  }
  if ((first.loras && first.loras.length > 0) || differing.has('loras')) fields.push([A1111_NAMES.loras, value('loras')]);
  fields.push([A1111_NAMES.seed, value('seed')], [A1111_NAMES.size, value('size')]);
  if (first.model !== '' || differing.has('model')) fields.push([A1111_NAMES.model, value('model')]);
  fields.push(['Grid', `${layout.columns}x${layout.rows}`]);
  if (layout.columnAxis && layout.rowAxis) {
    fields.push(
      ['X Type', A1111_NAMES[layout.columnAxis.key]],
      ['X Values', layout.columnAxis.values.join(', ')],
      ['Y Type', A1111_NAMES[layout.rowAxis.key]],
      ['Y Values', layout.rowAxis.values.join(', ')],
    );
  }
  fields.push(['Version', `sd35-studio ${appVersion}`]);
  const parts: string[] = [];
  const prompt = differing.has('prompt') ? '' : first.prompt;
  const negative = differing.has('negativePrompt') ? '' : first.negativePrompt;
  if (prompt !== '') parts.push(prompt);
  if (negative !== '') parts.push(`Negative prompt: ${negative}`);
  parts.push(fields.map(([k, v]) => `${k}: ${quoteA1111Value(v)}`).join(', '));
  return parts.join('\n');
}
