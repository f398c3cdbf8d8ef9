// Which execution providers this onnxruntime-node build offers, as ONNX Runtime itself reports them
// (plus whether a non-bundled provider's library is installed). Loaded lazily, so processes that never
// run inference do not load ORT until asked.
export interface AvailableEp {
  name: string;
  bundled: boolean;
  installed?: boolean;
}

let cached: AvailableEp[] | undefined;

export async function listExecutionProviders(): Promise<AvailableEp[]> {
  if (cached) return cached;
  try {
    const { supportedBackends } = await import('./sessions');
    cached = supportedBackends();
  } catch {
    cached = [];
  }
  return cached;
}

/**
 * The pre-download op check for ModelService (issue 8), loaded lazily like the list above: the graphs'
 * ops probed in ONNX Runtime on the provider auto would use; answers cached in `cacheDir`.
 */
export async function checkModelOps(
  graphs: { file: string; path: string }[],
  context: { cacheDir: string },
): Promise<import('../../src-shared/schemas/models').PortabilityVerdict> {
  const { checkModelGraphs } = await import('./verdict');
  return checkModelGraphs(graphs, { cacheDir: context.cacheDir });
}
