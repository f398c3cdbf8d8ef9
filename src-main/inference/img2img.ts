// The image-to-image and inpainting math of diffusers' SD3 pipelines (docs/architecture.md §5), in float32 where
// torch computes in float32. Pure functions: the pipeline (pipeline.ts) calls them around the sampler loop.
import { StudioError } from '../../src-shared/errors';

// The start step from the strength (diffusers' get_timesteps) is shared with the UI: src-shared/img2img.ts.
export { strengthStart } from '../../src-shared/img2img';

const f32 = Math.fround;

/**
 * Forward-noises clean latents to a sigma, in place into a new array.
 * diffusers scheduling_flow_match_euler_discrete.py, FlowMatchEulerDiscreteScheduler.scale_noise:
 *   sample = sigma · noise + (1.0 − sigma) · sample   (float32 tensors: each product and the sum rounded)
 */
export function scaleNoise(sample: Float32Array, noise: Float32Array, sigma: number): Float32Array {
  if (sample.length !== noise.length) {
    throw new StudioError('internal', `scale_noise: the latents have ${sample.length} values but the noise has ${noise.length}.`);
  }
  const s = f32(sigma);
  const oneMinus = f32(1 - s);
  const out = new Float32Array(sample.length);
  for (let i = 0; i < out.length; i++) out[i] = f32(f32(s * noise[i]!) + f32(oneMinus * sample[i]!));
  return out;
}

/**
 * The inpaint blend after a step, in place on `latents`.
 * diffusers pipeline_stable_diffusion_3_inpaint.py, StableDiffusion3InpaintPipeline.__call__ (16-channel transformer):
 *   latents = (1 − init_mask) · init_latents_proper + init_mask · latents
 * with init_latents_proper = scale_noise(image_latents, timesteps[i+1], noise) before the last step, and the image
 * latents themselves after it. `mask` is the latent-size mask [h·w] (0 or 1), broadcast over the 16 channels.
 */
export function blendInpaint(latents: Float32Array, proper: Float32Array, mask: Float32Array): void {
  const plane = mask.length;
  if (latents.length !== proper.length || plane === 0 || latents.length % plane !== 0) {
    throw new StudioError('internal', `Inpaint blend: latents ${latents.length}, image latents ${proper.length}, mask ${plane} values do not fit together.`);
  }
  for (let i = 0; i < latents.length; i++) {
    const m = mask[i % plane]!;
    latents[i] = f32(f32(f32(1 - m) * proper[i]!) + f32(m * latents[i]!));
  }
}

/**
 * RGB bytes (row-major H·W·3) → the VAE encoder's input [1,3,H,W] in [-1, 1].
 * diffusers image_processor.py, VaeImageProcessor: pil_to_numpy (uint8 → float32 / 255), then normalize: 2·x − 1.
 */
export function rgbToImageTensor(rgb: Uint8Array, width: number, height: number): Float32Array {
  const plane = width * height;
  if (rgb.length !== plane * 3) throw new StudioError('internal', `The init image has ${rgb.length} bytes, expected ${plane * 3}.`);
  const out = new Float32Array(plane * 3);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out[c * plane + p] = f32(f32(f32(rgb[p * 3 + c]! / 255) * 2) - 1);
  }
  return out;
}

/**
 * The latent distribution's mean from the encoder's moments [1, 2·C, h, w] → [1, C, h, w], scaled for the transformer.
 * diffusers autoencoders/vae.py, DiagonalGaussianDistribution: mean, logvar = torch.chunk(parameters, 2, dim=1);
 * mode() = mean (retrieve_latents with sample_mode="argmax"). Then pipeline_stable_diffusion_3_img2img.py,
 * _encode_vae_image: image_latents = (image_latents − vae.config.shift_factor) · vae.config.scaling_factor.
 */
export function meanLatents(moments: Float32Array, channels: number, momentsChannels: number, shiftFactor: number, scalingFactor: number): Float32Array {
  if (momentsChannels !== channels && momentsChannels !== 2 * channels) {
    throw new StudioError('invalid_input', `The VAE encoder returned ${momentsChannels} channels; expected ${channels} (the mean) or ${2 * channels} (mean and log-variance).`);
  }
  const plane = moments.length / momentsChannels;
  const shift = f32(shiftFactor);
  const scale = f32(scalingFactor);
  const out = new Float32Array(channels * plane);
  for (let i = 0; i < out.length; i++) out[i] = f32(f32(moments[i]! - shift) * scale);
  return out;
}
