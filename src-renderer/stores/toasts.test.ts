import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useToastsStore } from './toasts';

describe('toasts store', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it('dismisses after its timeout, holds while hovered, and gives a few seconds more after', () => {
    const s = useToastsStore();
    const id = s.notify('info', 'Saved.', { timeoutMs: 2000 });
    s.hold(id, true);
    vi.advanceTimersByTime(10_000);
    expect(s.toasts.map((t) => t.id)).toEqual([id]);
    s.hold(id, false);
    vi.advanceTimersByTime(2999);
    expect(s.toasts).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(s.toasts).toHaveLength(0);
  });

  it('keeps one undo offer (the newest), at most four toasts, and errors stay longer', () => {
    const s = useToastsStore();
    const a = s.notify('undo', 'Moved 1 image to the trash.', { undoToken: 'a', timeoutMs: 8000 });
    const b = s.notify('undo', 'Moved 2 images to the trash.', { undoToken: 'b', timeoutMs: 8000 });
    expect(s.undoToast?.id).toBe(b);
    expect(s.toasts.some((t) => t.id === a)).toBe(false);
    for (let i = 0; i < 5; i++) s.notify('info', `n${i}`);
    expect(s.toasts).toHaveLength(4);
    const e = s.notify('error', 'Could not delete');
    vi.advanceTimersByTime(4001);
    expect(s.toasts.map((t) => t.id)).toEqual([e]);
    vi.advanceTimersByTime(4000);
    expect(s.toasts).toHaveLength(0);
  });

  it('a toast with timeout 0 stays until dismissed', () => {
    const s = useToastsStore();
    const id = s.notify('import', 'No files were imported.', { timeoutMs: 0, details: ['a.png: not a PNG'] });
    vi.advanceTimersByTime(60_000);
    expect(s.toasts[0]!.details).toEqual(['a.png: not a PNG']);
    s.dismiss(id);
    expect(s.toasts).toHaveLength(0);
  });
});
