// Inpainting masks (docs/architecture.md §5): white = repaint, black = keep. The mask is binarised and brought to
// latent size as diffusers does for the sampler; after decoding, the source pixels are pasted back outside the mask
// through the mask blurred as A1111's "Mask blur" does, so what the user did not paint is untouched to the pixel.
// Pure functions on bytes: the worker runs them, the tests check them against their own derivations.
import { StudioError } from '../../src-shared/errors';

/**
 * Mask luminance (one byte per pixel) → 0/1.
 * diffusers image_processor.py, VaeImageProcessor.binarize (the SD3 inpaint mask_processor has do_binarize=True,
 * do_normalize=False): x = L/255 (float32); x < 0.5 → 0, x ≥ 0.5 → 1. float32(127/255) < 0.5 ≤ float32(128/255),
 * so the cut is at 128.
 */
export function binarizeMask(luma: Uint8Array): Uint8Array {
  const out = new Uint8Array(luma.length);
  for (let i = 0; i < luma.length; i++) out[i] = luma[i]! >= 128 ? 1 : 0;
  return out;
}

/**
 * The binary mask [H,W] at latent size [H/8, W/8].
 * diffusers pipeline_stable_diffusion_3_inpaint.py, prepare_mask_latents: torch.nn.functional.interpolate(mask,
 * size=(H/8, W/8)) with the default mode "nearest": source index = floor(dst · (in/out)) = 8·dst.
 */
export function latentMask(binary: Uint8Array, width: number, height: number): Float32Array {
  if (binary.length !== width * height || width % 8 !== 0 || height % 8 !== 0) {
    throw new StudioError('internal', `The mask has ${binary.length} values for ${width}×${height}.`);
  }
  const w = width / 8;
  const h = height / 8;
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] = binary[y * 8 * width + x * 8]!;
  return out;
}

/** One 1-D Gaussian kernel as OpenCV's getGaussianKernel(ksize, sigma) builds it: exp(−(i − c)²/(2σ²)), normalised. */
function gaussianKernel(size: number, sigma: number): Float64Array {
  const k = new Float64Array(size);
  const c = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) {
    k[i] = Math.exp(-((i - c) * (i - c)) / (2 * sigma * sigma));
    sum += k[i]!;
  }
  for (let i = 0; i < size; i++) k[i] = k[i]! / sum;
  return k;
}

/** OpenCV's default border (BORDER_REFLECT_101): …2 1 | 0 1 2 … n−1 | n−2 … */
function reflect101(i: number, n: number): number {
  if (n === 1) return 0;
  let j = i;
  while (j < 0 || j >= n) j = j < 0 ? -j : 2 * (n - 1) - j;
  return j;
}

/**
 * A1111's "Mask blur": modules/processing.py, StableDiffusionProcessingImg2Img.init —
 *   kernel_size = 2·int(2.5·mask_blur + 0.5) + 1; cv2.GaussianBlur(mask, (kernel_size, 1), mask_blur), then the same
 *   vertically with (1, kernel_size); each pass rounds back to uint8.
 * `blur` 0 returns a copy. (OpenCV's uint8 path uses fixed-point kernels; this one rounds a double sum, which can
 * differ from it by one level at most.)
 */
export function blurMask(mask: Uint8Array, width: number, height: number, blur: number): Uint8Array {
  if (mask.length !== width * height) throw new StudioError('internal', `The mask has ${mask.length} values for ${width}×${height}.`);
  if (!(blur > 0)) return mask.slice();
  const size = 2 * Math.trunc(2.5 * blur + 0.5) + 1;
  const k = gaussianKernel(size, blur);
  const r = (size - 1) / 2;
  const pass = (src: Uint8Array, horizontal: boolean): Uint8Array => {
    const dst = new Uint8Array(src.length);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let s = 0;
        for (let i = -r; i <= r; i++) {
          const v = horizontal ? src[y * width + reflect101(x + i, width)]! : src[reflect101(y + i, height) * width + x]!;
          s += k[i + r]! * v;
        }
        dst[y * width + x] = Math.min(255, Math.max(0, Math.round(s)));
      }
    }
    return dst;
  };
  return pass(pass(mask, true), false);
}

/**
 * The paste-back mask: the binarised mask (0/255) blurred by `blur` px — A1111 blurs its binary mask
 * (create_binary_mask, then the Gaussian above) and keeps it as mask_for_overlay.
 */
export function overlayMask(luma: Uint8Array, width: number, height: number, blur: number): Uint8Array {
  const binary = binarizeMask(luma);
  for (let i = 0; i < binary.length; i++) binary[i] = binary[i]! * 255;
  return blurMask(binary, width, height, blur);
}

/**
 * The source pasted back over the result through the (blurred) mask, RGB bytes, in place on `result`.
 * A1111 modules/processing.py, apply_overlay: the source with alpha = 255 − mask alpha-composited over the result:
 *   out = (src·(255 − m) + gen·m) / 255, rounded (PIL's 8-bit composite). Where m = 0 the source byte is kept exactly.
 */
export function pasteBack(result: Uint8Array, source: Uint8Array, mask: Uint8Array): void {
  if (result.length !== source.length || mask.length * 3 !== result.length) {
    throw new StudioError('internal', `Paste back: result ${result.length}, source ${source.length}, mask ${mask.length} values do not fit together.`);
  }
  for (let p = 0; p < mask.length; p++) {
    const m = mask[p]!;
    if (m === 255) continue;
    for (let c = 0; c < 3; c++) {
      const i = p * 3 + c;
      result[i] = m === 0 ? source[i]! : Math.round((source[i]! * (255 - m) + result[i]! * m) / 255);
    }
  }
}
