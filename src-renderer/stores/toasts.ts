// App-wide transient messages (Undo after a delete, import results, errors, "job finished"): a Pinia
// setup store every view shows through <AppToasts>. One undo offer at a time; at most four toasts.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';

export interface Toast {
  id: number;
  kind: 'undo' | 'import' | 'info' | 'error';
  message: string;
  /** Lines under the message (rejected imports with their reasons). */
  details?: string[];
  undoToken?: string;
  /** Auto-dismiss after this many ms; 0 = stays until dismissed. */
  timeoutMs: number;
  /** The view it belongs to (an import's result: the Gallery): other views do not show it. None: every view. */
  view?: ToastView;
}

/** The views that show toasts (<AppToasts view>). */
export type ToastView = 'generate' | 'gallery';

export interface NotifyOptions {
  details?: string[];
  undoToken?: string;
  timeoutMs?: number;
  view?: ToastView;
}

export const MAX_TOASTS = 4;

export const useToastsStore = defineStore('toasts', () => {
  const toasts = ref<Toast[]>([]);
  let seq = 0;
  const timers = new Map<number, ReturnType<typeof setTimeout>>();

  function dismiss(id: number): void {
    const t = timers.get(id);
    if (t) clearTimeout(t);
    timers.delete(id);
    toasts.value = toasts.value.filter((x) => x.id !== id);
  }
  function arm(id: number, ms: number): void {
    const old = timers.get(id);
    if (old) clearTimeout(old);
    if (ms > 0) timers.set(id, setTimeout(() => dismiss(id), ms));
  }
  /** Hovering or focusing a toast holds it; leaving gives it a few more seconds. */
  function hold(id: number, holding: boolean): void {
    const t = toasts.value.find((x) => x.id === id);
    if (!t || t.timeoutMs === 0) return;
    if (holding) {
      const old = timers.get(id);
      if (old) clearTimeout(old);
      timers.delete(id);
    } else arm(id, Math.max(3000, t.timeoutMs / 2));
  }
  function notify(kind: Toast['kind'], text: string, options: NotifyOptions = {}): number {
    const id = ++seq;
    const timeoutMs = options.timeoutMs ?? (kind === 'error' ? 8000 : 4000);
    const toast: Toast = { id, kind, message: text, timeoutMs };
    if (options.details) toast.details = options.details;
    if (options.undoToken) toast.undoToken = options.undoToken;
    if (options.view) toast.view = options.view;
    // One undo toast at a time: a newer delete replaces the older offer.
    const keep = kind === 'undo' ? toasts.value.filter((x) => x.kind !== 'undo') : toasts.value;
    const next = [...keep, toast].slice(-MAX_TOASTS);
    for (const x of toasts.value) if (!next.includes(x)) dismiss(x.id);
    toasts.value = next;
    arm(id, timeoutMs);
    return id;
  }

  const undoToast = computed(() => toasts.value.find((t) => t.kind === 'undo'));

  /** What `view` shows: its own toasts and those of no view (an import's result stays in the Gallery). */
  function shownIn(view: ToastView): Toast[] {
    return toasts.value.filter((t) => !t.view || t.view === view);
  }

  return { toasts, undoToast, notify, dismiss, hold, shownIn };
});
