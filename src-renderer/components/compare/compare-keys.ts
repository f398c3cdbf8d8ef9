// Compare's keyboard, on the window while the view is shown (a cell that leaves the DOM — solo, swipe… — takes the
// focus with it, and the keys must keep working): arrows move between cells, Space picks, Delete trashes, 1–9 show
// one image, Escape steps back, F flips in flicker, 0 / + / − fit and zoom.
import { nextTick, onBeforeUnmount, onMounted, type Ref } from 'vue';
import type { useCompareStore } from '../../stores/compare';
import type { SharedViewport } from './useSharedViewport';
import type { StageMode } from './viewport';

export type CompareMode = 'grid' | 'swipe' | 'flicker' | 'difference';

export interface CompareKeyState {
  store: ReturnType<typeof useCompareStore>;
  vp: SharedViewport;
  stageEl: Ref<HTMLElement | undefined>;
  labels: Ref<string[]>;
  columns: Ref<number>;
  stageMode: Ref<StageMode | undefined>;
  mode: Ref<CompareMode>;
  solo: Ref<number | undefined>;
  focus: Ref<number>;
  showSaved: Ref<boolean>;
  showB: Ref<boolean>;
}

export function useCompareKeys(s: CompareKeyState): { focusCell: (k: number) => void } {
  function focusCell(k: number): void {
    s.focus.value = k;
    void nextTick(() => s.stageEl.value?.querySelector<HTMLElement>(`[data-index="${k}"]`)?.focus());
  }

  function moveFocus(key: string): void {
    const l = s.store.layout;
    const n = s.store.items.length;
    const cells = l.kind === 'axes' ? l.cells : Array.from({ length: n }, (_, k) => k);
    const cols = l.kind === 'axes' ? l.columns : Math.max(1, Math.min(s.columns.value, n));
    let pos = cells.indexOf(s.focus.value);
    if (pos < 0) pos = 0;
    const step = key === 'ArrowLeft' ? -1 : key === 'ArrowRight' ? 1 : key === 'ArrowUp' ? -cols : cols;
    for (let p = pos + step; p >= 0 && p < cells.length; p += step) {
      const k = cells[p];
      if (k !== null && k !== undefined) return focusCell(k);
    }
  }

  function onKey(e: KeyboardEvent): void {
    const { store, vp } = s;
    if (!store.active || e.defaultPrevented) return;
    const t = e.target as HTMLElement;
    if (t.closest('input, textarea, select, [contenteditable="true"], nav, dialog')) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const onButton = !!t.closest('button');
    const n = store.items.length;
    if (!n) return;
    const item = store.items[s.focus.value];
    if (['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown'].includes(e.key) && !s.stageMode.value) {
      e.preventDefault();
      moveFocus(e.key);
    } else if (e.key === ' ' && !onButton) {
      e.preventDefault();
      if (item) void store.togglePick(item.id);
    } else if (e.key === 'Delete' || (e.key === 'Backspace' && !onButton)) {
      e.preventDefault();
      if (item) void store.trash(item.id, s.labels.value[s.focus.value] ?? `Image ${item.id}`);
    } else if (/^[1-9]$/.test(e.key)) {
      const k = Number(e.key) - 1;
      if (k < n) {
        e.preventDefault();
        s.solo.value = k;
        s.focus.value = k;
      }
    } else if (e.key === 'Escape') {
      if (s.solo.value !== undefined) s.solo.value = undefined;
      else if (s.mode.value !== 'grid') s.mode.value = 'grid';
      else if (s.showSaved.value) s.showSaved.value = false;
      else return;
      e.preventDefault();
      focusCell(s.focus.value);
    } else if ((e.key === 'f' || e.key === 'F') && s.mode.value === 'flicker') {
      s.showB.value = !s.showB.value;
    } else if (e.key === '0') {
      vp.fit();
    } else if (e.key === '+' || e.key === '=') {
      vp.zoomBy(1.25);
    } else if (e.key === '-') {
      vp.zoomBy(0.8);
    }
  }

  onMounted(() => window.addEventListener('keydown', onKey));
  onBeforeUnmount(() => window.removeEventListener('keydown', onKey));
  return { focusCell };
}
