// Which execution providers this onnxruntime-node build offers, as ONNX Runtime itself reports them
// (plus whether a non-bundled provider's library is installed). WebGPU is listed only when an adapter
// answers (probeWebGpu): the library ships it wherever Dawn builds, with or without a usable GPU.
// Loaded lazily, so processes that never run inference do not load ORT until asked.
export interface AvailableEp {
  name: string;
  bundled: boolean;
  installed?: boolean;
}

let cached: Promise<AvailableEp[]> | undefined;

export function listExecutionProviders(): Promise<AvailableEp[]> {
  cached ??= (async () => {
    try {
      const { supportedBackends } = await import('./ep-plan');
      const backends: AvailableEp[] = supportedBackends();
      if (!backends.some((b) => b.name === 'webgpu')) return backends;
      const [{ ort }, { probeWebGpu }] = await Promise.all([import('./ort'), import('./webgpu')]);
      const problem = await probeWebGpu(ort);
      return problem ? backends.filter((b) => b.name !== 'webgpu') : backends;
    } catch {
      return [];
    }
  })();
  return cached;
}

/**
 * The pre-download op check for ModelService, loaded lazily like the list above: the graphs'
 * ops probed in ONNX Runtime on the provider auto would use, in short-lived children (`runner`: op-probe-runner.ts);
 * answers cached in `cacheDir`.
 */
export async function checkModelOps(
  graphs: { file: string; path: string }[],
  context: { cacheDir: string; runner?: import('./ort-probe').ProbeRunner },
): Promise<import('../../src-shared/schemas/models').PortabilityVerdict> {
  const { checkModelGraphs } = await import('./verdict');
  return checkModelGraphs(graphs, { cacheDir: context.cacheDir, ...(context.runner ? { runner: context.runner } : {}) });
}
