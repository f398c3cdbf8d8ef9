// Multi-selection over an ordered list shown as a grid (the gallery), with the habits of desktop file
// managers: click selects one, Ctrl/Cmd+click toggles, Shift+click selects the range from the anchor,
// Ctrl/Cmd+Shift+click adds that range. Keyboard: arrows move the focus (by one, or by a row), Space
// toggles, Shift+arrows extend from the anchor. Pure functions over ids, so the store and the view
// share them and they stay easy to reason about.

export interface SelectionState {
  selected: ReadonlySet<number>;
  /** Where a Shift range starts: the last item clicked or toggled. */
  anchor: number | undefined;
}

export type ClickKind = 'single' | 'toggle' | 'range' | 'add-range';

export function clickKind(e: { shiftKey: boolean; ctrlKey: boolean; metaKey: boolean }, isMac: boolean): ClickKind {
  const mod = isMac ? e.metaKey : e.ctrlKey;
  if (e.shiftKey) return mod ? 'add-range' : 'range';
  return mod ? 'toggle' : 'single';
}

/** The ids from index a to index b of `order`, both included, in list order. */
export function rangeIds(order: readonly number[], a: number, b: number): number[] {
  const lo = Math.max(0, Math.min(a, b));
  const hi = Math.min(order.length - 1, Math.max(a, b));
  return order.slice(lo, hi + 1);
}

/**
 * The selection after a click on `id` (at `index` in `order`). `indexOf` finds the anchor's index;
 * a range without a (still present) anchor starts at the clicked item.
 */
export function applyClick(
  state: SelectionState,
  kind: ClickKind,
  id: number,
  order: readonly number[],
  indexOf: (id: number) => number | undefined,
): SelectionState {
  const index = indexOf(id);
  if (index === undefined) return state;
  switch (kind) {
    case 'single':
      return { selected: new Set([id]), anchor: id };
    case 'toggle': {
      const next = new Set(state.selected);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return { selected: next, anchor: id };
    }
    case 'range':
    case 'add-range': {
      const anchorIndex = state.anchor === undefined ? undefined : indexOf(state.anchor);
      const from = anchorIndex ?? index;
      const ids = rangeIds(order, from, index);
      const next = kind === 'range' ? new Set(ids) : new Set([...state.selected, ...ids]);
      return { selected: next, anchor: anchorIndex === undefined ? id : state.anchor };
    }
  }
}

export type MoveKey = 'ArrowLeft' | 'ArrowRight' | 'ArrowUp' | 'ArrowDown' | 'Home' | 'End' | 'PageUp' | 'PageDown';

export function isMoveKey(key: string): key is MoveKey {
  return ['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End', 'PageUp', 'PageDown'].includes(key);
}

/**
 * The index the focus moves to in a grid of `columns` columns holding `count` items.
 * Home/End go to the first/last item (with Ctrl) or the start/end of the row; PageUp/PageDown move
 * by `pageRows` rows. The result is clamped to the list.
 */
export function moveIndex(
  from: number,
  key: MoveKey,
  count: number,
  columns: number,
  options: { ctrl?: boolean; pageRows?: number } = {},
): number {
  if (count <= 0) return -1;
  const cols = Math.max(1, columns);
  const clamp = (i: number): number => Math.max(0, Math.min(count - 1, i));
  if (from < 0 || from >= count) return key === 'End' || key === 'PageDown' ? count - 1 : 0;
  const page = Math.max(1, options.pageRows ?? 3) * cols;
  switch (key) {
    case 'ArrowLeft':
      return clamp(from - 1);
    case 'ArrowRight':
      return clamp(from + 1);
    case 'ArrowUp':
      return from - cols >= 0 ? from - cols : from;
    case 'ArrowDown':
      // From the last full row onto a shorter last row: land on its last item, like file managers.
      return from + cols < count ? from + cols : Math.floor(from / cols) < Math.floor((count - 1) / cols) ? count - 1 : from;
    case 'Home':
      return options.ctrl ? 0 : from - (from % cols);
    case 'End':
      return options.ctrl ? count - 1 : clamp(from - (from % cols) + cols - 1);
    case 'PageUp':
      return from - page >= 0 ? from - page : from % cols;
    case 'PageDown':
      return clamp(from + page);
  }
}

/** After a keyboard move: Shift extends from the anchor; a plain move leaves the selection alone. */
export function applyMove(
  state: SelectionState,
  fromId: number | undefined,
  toIndex: number,
  shift: boolean,
  order: readonly number[],
  indexOf: (id: number) => number | undefined,
): SelectionState {
  const toId = order[toIndex];
  if (toId === undefined || !shift) return state;
  const anchorId = state.anchor !== undefined && indexOf(state.anchor) !== undefined ? state.anchor : (fromId ?? toId);
  const anchorIndex = indexOf(anchorId) ?? toIndex;
  return { selected: new Set(rangeIds(order, anchorIndex, toIndex)), anchor: anchorId };
}

/** Space on the focused item: toggle it (Shift+Space: select the range from the anchor). */
export function applySpace(
  state: SelectionState,
  id: number,
  shift: boolean,
  order: readonly number[],
  indexOf: (id: number) => number | undefined,
): SelectionState {
  return applyClick(state, shift ? 'range' : 'toggle', id, order, indexOf);
}

/** Removes ids that are gone from the list; keeps the anchor only when it is still there. */
export function pruneSelection(state: SelectionState, present: (id: number) => boolean): SelectionState {
  let changed = false;
  const next = new Set<number>();
  for (const id of state.selected) {
    if (present(id)) next.add(id);
    else changed = true;
  }
  const anchor = state.anchor !== undefined && present(state.anchor) ? state.anchor : undefined;
  if (!changed && anchor === state.anchor) return state;
  return { selected: changed ? next : state.selected, anchor };
}
