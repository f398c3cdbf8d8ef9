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
