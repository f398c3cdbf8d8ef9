// The detail panel's one "Time" line: the generation's total and where it went, in pipeline order
// ("2,664 ms: load 120 ms · text encode 80 ms · denoise 2,374 ms · decode 90 ms"). One total: the worker's
// `totalMs` (the pipeline's encode → decode, inference/pipeline.ts) plus its `loadMs` (the model load before it,
// inference/worker.ts) when the timings carry them, else the row's started → finished span (older or imported rows).

import { formatTiming } from '../../../src-shared/durations';

/** Stage keys of the worker's timings (inference/pipeline.ts GenerateResult.timings), in the order they run. */
const STAGES: readonly (readonly [key: string, label: string])[] = [
  ['loadMs', 'load'],
  ['encodeMs', 'text encode'],
  ['denoiseMs', 'denoise'],
  ['decodeMs', 'decode'],
];


function span(startedAt: string | null, finishedAt: string | null): number | undefined {
  if (!startedAt || !finishedAt) return undefined;
  const d = Date.parse(finishedAt) - Date.parse(startedAt);
  return Number.isFinite(d) && d >= 0 ? d : undefined;
}

/** The text of the "Time" row, or undefined when nothing about time is known. */
export function timeBreakdown(x: { timings: Record<string, number> | null; startedAt: string | null; finishedAt: string | null }): string | undefined {
  const t = x.timings ?? {};
  const known = (k: string): boolean => typeof t[k] === 'number' && Number.isFinite(t[k]) && t[k] >= 0;
  const total = known('totalMs') ? t.totalMs! + (known('loadMs') ? t.loadMs! : 0) : span(x.startedAt, x.finishedAt);
  const stageKeys = [...STAGES.map(([k]) => k), ...Object.keys(t).filter((k) => k !== 'totalMs' && !STAGES.some(([s]) => s === k)).sort()];
  const parts = stageKeys.filter(known).map((k) => `${STAGES.find(([s]) => s === k)?.[1] ?? k.replace(/Ms$/, '')} ${formatTiming(t[k]!)}`);
  if (total === undefined) return parts.length ? parts.join(' · ') : undefined;
  return parts.length ? `${formatTiming(total)}: ${parts.join(' · ')}` : formatTiming(total);
}
