// OS notifications when a job finishes while the window is not focused (Electron Notification). A click
// brings the window forward and opens that job in the Generate view's queue (#/generate?job=<id>).
import { BrowserWindow, Notification } from 'electron';
import type { Notifier } from '../core/adapters';

export interface NotifierDeps {
  isSupported(): boolean;
  /** The app's window, if one is open. */
  window(): Pick<BrowserWindow, 'isFocused' | 'isMinimized' | 'restore' | 'show' | 'focus' | 'webContents' | 'isDestroyed'> | undefined;
  show(options: { title: string; body: string }, onClick: () => void): void;
}

const electronDeps: NotifierDeps = {
  isSupported: () => Notification.isSupported(),
  window: () => BrowserWindow.getAllWindows().find((w) => !w.isDestroyed()),
  show(options, onClick) {
    const n = new Notification({ ...options, silent: false });
    n.on('click', onClick);
    n.show();
  },
};

/** The route that shows a job (the Generate view reads `job`). */
export function jobRoute(jobId: number): string {
  return `#/generate?job=${Math.trunc(jobId)}`;
}

export function createNotifier(deps: NotifierDeps = electronDeps): Notifier {
  return {
    notify(title, body, options = {}) {
      const win = deps.window();
      if (win && win.isFocused()) return;
      if (!deps.isSupported()) return;
      deps.show({ title, body }, () => {
        const w = deps.window();
        if (!w) return;
        if (w.isMinimized()) w.restore();
        w.show();
        w.focus();
        if (options.jobId !== undefined) void w.webContents.executeJavaScript(`location.hash = ${JSON.stringify(jobRoute(options.jobId))}`).catch(() => undefined);
      });
    },
  };
}

export const electronNotifier: Notifier = createNotifier();
