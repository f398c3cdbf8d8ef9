// The shared viewport in the DOM: ONE transform state for every cell, written once per frame as CSS
// custom properties on the stage element (--vx, --vy, --vz). Each cell's image reads them in its
// `transform`, so a wheel event changes three properties on one element: no cell is laid out again,
// no Vue component re-renders (only the small Zoom readout's text changes).
//
// Cell geometry is measured when the stage resizes (ResizeObserver), never inside a wheel or pointer
// handler, so input never forces a synchronous layout.
import { onBeforeUnmount, ref, type Ref } from 'vue';
import { FIT, clampPan, fitted, isOneToOne, pan, pixelScale, toggleOneToOne, wheelZoom, zoomLabel, type Size, type Viewport } from './viewport';

interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface SharedViewport {
  /** "100%": the Zoom readout (a ref the readout component reads, so only it re-renders). */
  zoomText: Ref<string>;
  oneToOne: Ref<boolean>;
  /** Call with the stage element once it is mounted (and again when it is replaced). */
  attach(stage: HTMLElement | undefined): void;
  /** Re-measure the frames (after the layout changed: columns, mode, images). */
  measure(): void;
  setNatural(size: Size): void;
  wheel(e: WheelEvent): void;
  /** Starts a pan with the primary button (or with any button when `anyButton`: the mask editor pans with the middle one). */
  pointerDown(e: PointerEvent, anyButton?: boolean): void;
  dblclick(e: MouseEvent): void;
  fit(): void;
  toggleOneToOne(): void;
  /** Keyboard zoom (+/−) around the centre. */
  zoomBy(factor: number): void;
  state(): Viewport;
}

export function useSharedViewport(): SharedViewport {
  let v: Viewport = { ...FIT };
  let stage: HTMLElement | undefined;
  let frames: Rect[] = [];
  let natural: Size = { width: 1024, height: 1024 };
  let frameId = 0;
  let observer: ResizeObserver | undefined;
  let drag: { id: number; x: number; y: number } | undefined;
  const zoomText = ref('100%');
  const oneToOne = ref(false);

  const cell = (): Size => (frames[0] ? { width: frames[0].width, height: frames[0].height } : { width: 1, height: 1 });
  const dpr = (): number => window.devicePixelRatio || 1;

  function write(): void {
    frameId = 0;
    if (!stage) return;
    stage.style.setProperty('--vx', `${v.x.toFixed(2)}px`);
    stage.style.setProperty('--vy', `${v.y.toFixed(2)}px`);
    stage.style.setProperty('--vz', v.zoom.toFixed(5));
    // The fitted image's size in a frame (before the zoom): what Difference clips its black backdrop to.
    // Written only when it changes (a resize or another image), never by a wheel step or a drag.
    const f = fitted(natural, cell());
    const fw = `${f.width.toFixed(2)}px`;
    const fh = `${f.height.toFixed(2)}px`;
    if (stage.style.getPropertyValue('--fw') !== fw) stage.style.setProperty('--fw', fw);
    if (stage.style.getPropertyValue('--fh') !== fh) stage.style.setProperty('--fh', fh);
    const text = zoomLabel(v, natural, cell(), dpr());
    if (text !== zoomText.value) zoomText.value = text;
    const one = isOneToOne(v, natural, cell(), dpr());
    if (one !== oneToOne.value) oneToOne.value = one;
    // Crisp pixels when one image pixel covers two or more screen pixels.
    const pixelated = pixelScale(v, natural, cell(), dpr()) >= 2;
    if ((stage.dataset.pixelated === '1') !== pixelated) stage.dataset.pixelated = pixelated ? '1' : '0';
  }

  function set(next: Viewport): void {
    v = clampPan(next, natural, cell());
    if (!frameId) frameId = requestAnimationFrame(write);
  }

  /** The frame under (clientX, clientY) and the point relative to its centre. */
  function locate(clientX: number, clientY: number): { x: number; y: number } {
    const f = frames.find((r) => clientX >= r.left && clientX < r.left + r.width && clientY >= r.top && clientY < r.top + r.height) ?? frames[0];
    if (!f) return { x: 0, y: 0 };
    return { x: clientX - (f.left + f.width / 2), y: clientY - (f.top + f.height / 2) };
  }

  function measure(): void {
    if (!stage) return;
    frames = Array.from(stage.querySelectorAll<HTMLElement>('[data-frame]')).map((el) => {
      const r = el.getBoundingClientRect();
      return { left: r.left, top: r.top, width: r.width, height: r.height };
    });
    set(v);
  }

  function attach(el: HTMLElement | undefined): void {
    if (el === stage) return;
    observer?.disconnect();
    stage = el;
    if (!el) return;
    observer = new ResizeObserver(() => measure());
    observer.observe(el);
    measure();
  }

  function onMove(e: PointerEvent): void {
    if (!drag || e.pointerId !== drag.id) return;
    const dx = e.clientX - drag.x;
    const dy = e.clientY - drag.y;
    drag.x = e.clientX;
    drag.y = e.clientY;
    set(pan(v, dx, dy));
  }

  function onUp(e: PointerEvent): void {
    if (!drag || e.pointerId !== drag.id) return;
    drag = undefined;
    window.removeEventListener('pointermove', onMove);
    window.removeEventListener('pointerup', onUp);
    window.removeEventListener('pointercancel', onUp);
    if (stage) delete stage.dataset.dragging;
  }

  onBeforeUnmount(() => {
    observer?.disconnect();
    if (frameId) cancelAnimationFrame(frameId);
    window.removeEventListener('pointermove', onMove);
    window.removeEventListener('pointerup', onUp);
    window.removeEventListener('pointercancel', onUp);
  });

  return {
    zoomText,
    oneToOne,
    attach,
    measure,
    setNatural(size) {
      if (size.width > 0 && size.height > 0 && (size.width !== natural.width || size.height !== natural.height)) {
        natural = size;
        set(v);
      }
    },
    wheel(e) {
      e.preventDefault();
      const scale = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1;
      set(wheelZoom(v, e.deltaY * scale, locate(e.clientX, e.clientY)));
    },
    pointerDown(e, anyButton = false) {
      if (e.button !== 0 && !anyButton) return;
      drag = { id: e.pointerId, x: e.clientX, y: e.clientY };
      if (stage) stage.dataset.dragging = '1';
      window.addEventListener('pointermove', onMove);
      window.addEventListener('pointerup', onUp);
      window.addEventListener('pointercancel', onUp);
    },
    dblclick(e) {
      set(toggleOneToOne(v, natural, cell(), locate(e.clientX, e.clientY), dpr()));
    },
    fit() {
      set({ ...FIT });
    },
    toggleOneToOne() {
      set(toggleOneToOne(v, natural, cell(), { x: 0, y: 0 }, dpr()));
    },
    zoomBy(factor) {
      set(wheelZoom(v, -Math.log(factor) / 0.002, { x: 0, y: 0 }));
    },
    state: () => ({ ...v }),
  };
}
