// The Electron notifier and power-save blocker with fakes of Electron's APIs (the binary is not installed here).
import { describe, expect, it, vi } from 'vitest';

vi.mock('electron', () => ({
  powerSaveBlocker: { start: vi.fn(), stop: vi.fn(), isStarted: vi.fn() },
  BrowserWindow: { getAllWindows: () => [] },
  Notification: class {
    static isSupported() {
      return false;
    }
  },
}));

const { createPowerBlocker } = await import('./power');
const { createNotifier, jobRoute } = await import('./notifier');

describe('power blocker', () => {
  it('holds one OS blocker while any block is held, and releases it with the last', () => {
    const started = new Set<number>();
    let next = 1;
    const api = {
      start: vi.fn(() => {
        started.add(next);
        return next++;
      }),
      stop: vi.fn((id: number) => void started.delete(id)),
      isStarted: (id: number) => started.has(id),
    };
    const blocker = createPowerBlocker(api as never);
    const a = blocker.block('generating');
    const b = blocker.block('downloading');
    expect(api.start).toHaveBeenCalledTimes(1);
    a();
    a(); // twice is harmless
    expect(started.size).toBe(1);
    b();
    expect(started.size).toBe(0);
    expect(api.stop).toHaveBeenCalledTimes(1);
  });
});

describe('notifier', () => {
  function fakeWindow(focused: boolean) {
    return {
      isFocused: () => focused,
      isMinimized: () => true,
      isDestroyed: () => false,
      restore: vi.fn(),
      show: vi.fn(),
      focus: vi.fn(),
      webContents: { executeJavaScript: vi.fn(() => Promise.resolve()) },
    };
  }

  it('stays quiet while the window is focused', () => {
    const show = vi.fn();
    const win = fakeWindow(true);
    createNotifier({ isSupported: () => true, window: () => win as never, show }).notify('Image ready', 'a cat', { jobId: 3 });
    expect(show).not.toHaveBeenCalled();
  });

  it('notifies when the window is not focused; a click focuses the window and opens the job', () => {
    let click: (() => void) | undefined;
    const show = vi.fn((_o: { title: string; body: string }, onClick: () => void) => (click = onClick));
    const win = fakeWindow(false);
    createNotifier({ isSupported: () => true, window: () => win as never, show }).notify('4 images ready', '4 of 4 done', { jobId: 12 });
    expect(show).toHaveBeenCalledWith({ title: '4 images ready', body: '4 of 4 done' }, expect.any(Function));
    click!();
    expect(win.restore).toHaveBeenCalled();
    expect(win.focus).toHaveBeenCalled();
    expect(win.webContents.executeJavaScript).toHaveBeenCalledWith(`location.hash = "${jobRoute(12)}"`);
    expect(jobRoute(12)).toBe('#/generate?job=12');
  });
});
