// ComfyUI's default noise sampler (comfy/k_diffusion/sampling.py default_noise_sampler(x, seed)): one
// `torch.randn(x.size(), generator=g)` per ancestral step from a generator made for the sampling run and seeded
// with the KSampler's seed (comfy/samplers.py passes it in extra_args["seed"]). When x lives on the CPU ComfyUI
// seeds that generator with seed + 1, so the ancestral noise is not the initial noise again (which
// comfy/sample.py prepare_noise draws on the CPU from the seed itself); on a GPU it seeds a generator *on that
// device* with the seed, and CUDA's Philox stream has nothing in common with the CPU's mt19937 — so a
// CUDA-made euler_ancestral image cannot be reproduced bit for bit anywhere but on CUDA. The studio reproduces
// the CPU run: a torch CPU generator (our torch-exact mt19937 + Box–Muller) seeded with seed + 1.
import { TorchCpuGenerator } from '../noise';
import type { NoiseSource } from './samplers';

export const SEED_OFFSET_CPU_NOISE_SAMPLER = 1n;

/** The noise source ComfyUI's euler_ancestral uses on the CPU for `seed` (decimal, 0 … 2^64−1), latent `shape`. */
export function comfyNoiseSampler(seed: string, shape: readonly number[]): NoiseSource {
  // seed + 1 computed as a Python int first; the generator keeps its low 32 bits (torch's manual_seed on the CPU).
  const generator = new TorchCpuGenerator(BigInt(seed) + SEED_OFFSET_CPU_NOISE_SAMPLER);
  return () => generator.randn(shape);
}
