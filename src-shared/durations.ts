// Durations for people, one set of formatters for the CLI and the UI (job ETAs, download ETAs, timings).

/** "850 ms", "12 s", "2 min 05 s", "1 h 04 min"; empty for a negative or unknown value. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** A clock for a terminal's progress line: "0:12", "12:05", "1:02:03"; "--:--" when unknown. */
export function formatClock(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '--:--';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

/** "45 s left", "about 3 min left", "about 2 h 5 min left"; empty when unknown. */
export function formatTimeLeft(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s left`;
  const m = Math.round(s / 60);
  if (m < 60) return `about ${m} min left`;
  const h = Math.floor(m / 60);
  return `about ${h} h ${m % 60} min left`;
}

/** "850 ms", "2,374 ms", "12.3 s": a measured time, exact to the ms up to 10 s (a breakdown is read to the ms). */
export function formatTiming(ms: number): string {
  return ms >= 10_000 ? formatSeconds(ms) : `${Math.round(ms).toLocaleString('en-US')} ms`;
}

/** "2.4 s", "12.3 s": a measured time in seconds with one decimal (the CLI's load and image lines). */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
