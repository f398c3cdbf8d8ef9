// The number behind <ProgressBar>: how far along, for the bar's width and aria-valuenow.

export interface BarState {
  /** 0–100, a whole number rounded down (a bar never says 100 before the end); undefined: indeterminate. */
  percent: number | undefined;
  /** 0–1, for the fill. */
  fraction: number;
}

/** `value` of `max`; indeterminate when either is not known (null, not finite, or a max of 0). */
export function barState(value: number | null | undefined, max: number): BarState {
  if (value === null || value === undefined || !Number.isFinite(value) || !Number.isFinite(max) || !(max > 0)) {
    return { percent: undefined, fraction: 0 };
  }
  const fraction = Math.min(1, Math.max(0, value / max));
  return { percent: Math.floor(fraction * 100), fraction };
}
