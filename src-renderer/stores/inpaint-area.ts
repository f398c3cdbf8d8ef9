// Outpaint and "Only masked" settings of the Generate form (docs/architecture.md §5, §7), beside the init-image
// store: grow the canvas by pixels per side (the new area painted), or inpaint only the masked region with padding.
// `withArea(init)` adds them to the job's `init` (checked by src-shared/img2img.ts checkInitCombination).
import { defineStore } from 'pinia';
import { reactive } from 'vue';
import { checkInitCombination, MASK_PADDING_LIMITS, OUTPAINT_LIMITS, outpaintSchema, type InitImage, type InpaintArea } from '../../src-shared/img2img';
import { StudioError } from '../../src-shared/errors';
import { sizeForImage } from '../../src-shared/generation';

export interface InpaintAreaSettings {
  outpaint: boolean;
  left: number;
  top: number;
  right: number;
  bottom: number;
  area: InpaintArea;
  padding: number;
}

export function defaultInpaintArea(): InpaintAreaSettings {
  const d = OUTPAINT_LIMITS.defaultPerSide;
  return { outpaint: false, left: d, top: 0, right: d, bottom: 0, area: 'whole', padding: MASK_PADDING_LIMITS.default };
}

/** The job's init with the outpaint sides or the "Only masked" area added; a StudioError when they do not fit. */
export function withArea(init: InitImage, s: InpaintAreaSettings): InitImage {
  const out: InitImage = { ...init };
  if (s.outpaint) {
    const sides = outpaintSchema.safeParse({ left: s.left, top: s.top, right: s.right, bottom: s.bottom });
    if (!sides.success) throw new StudioError('invalid_input', `Outpaint: whole pixels per side from 0 to ${OUTPAINT_LIMITS.maxPerSide}.`, { field: 'outpaint' });
    out.outpaint = sides.data;
  } else if (s.area === 'masked' && init.mask) {
    if (!(Number.isInteger(s.padding) && s.padding >= 0 && s.padding <= MASK_PADDING_LIMITS.max)) {
      throw new StudioError('invalid_input', `Masked area padding: a whole number of pixels from 0 to ${MASK_PADDING_LIMITS.max}.`, { field: 'padding' });
    }
    out.area = 'masked';
    out.padding = s.padding;
  }
  checkInitCombination(out);
  return out;
}

/** The generation size an outpainted source suggests: the grown canvas, rounded to 16 within the limits. */
export function outpaintSize(width: number, height: number, s: InpaintAreaSettings): { width: number; height: number } {
  return sizeForImage(width + s.left + s.right, height + s.top + s.bottom);
}

export const useInpaintAreaStore = defineStore('inpaintArea', () => {
  const settings = reactive<InpaintAreaSettings>(defaultInpaintArea());
  return { settings, withArea: (init: InitImage) => withArea(init, settings) };
});
