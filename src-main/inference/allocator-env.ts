/**
 * The C allocator's settings for processes that hold ONNX Runtime sessions.
 *
 * glibc's malloc raises its mmap threshold each time a block that was mmapped is freed (the "dynamic" threshold,
 * up to 32 MiB on 64-bit). ONNX Runtime frees temporary buffers while it creates a session, so the weights it
 * allocates afterwards (a full-size SD3.5 transformer's tensors are 1–30 MiB each) land on the heap instead of in
 * their own mappings, and `session.release()` gives them back to the heap but not to the system: measured here on
 * the full-size CLIP-G (random weights, 1.3 GB file), 2.73 of the 2.79 GB it took stayed resident after release,
 * and the transformer's weights stayed likewise (4.94 GB after a low-memory job). Setting the threshold fixes
 * it and turns the dynamic adjustment off (glibc `mallopt(M_MMAP_THRESHOLD)`; the environment variable is
 * glibc's documented alias, read at process start): large blocks then always get their own mapping and go
 * back to the system when freed. Same CLIP-G: 0.11 GB resident after release, and a lower peak (2.47 vs 3.15 GB)
 * because creation's temporary buffers are returned too. Other C libraries ignore the variable.
 *
 * 131072 is glibc's own default threshold (128 KiB), kept fixed. A value the user set wins.
 */
export const ALLOCATOR_ENV: Readonly<Record<string, string>> = Object.freeze({ MALLOC_MMAP_THRESHOLD_: '131072' });

/** `env` with the allocator settings added where the user has not set them. */
export function withAllocatorEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  for (const [k, v] of Object.entries(ALLOCATOR_ENV)) if (out[k] === undefined) out[k] = v;
  return out;
}
