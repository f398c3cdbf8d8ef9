// Which execution providers this onnxruntime-node build offers, as ONNX Runtime itself reports
// them. Loaded lazily so processes that never run inference do not pay for loading ORT until asked.
export interface AvailableEp {
  name: string;
  bundled: boolean;
}

let cached: AvailableEp[] | undefined;

export async function listExecutionProviders(): Promise<AvailableEp[]> {
  if (cached) return cached;
  try {
    const ort = await import('onnxruntime-node');
    cached = ort.listSupportedBackends().map((b) => ({ name: b.name, bundled: b.bundled }));
  } catch {
    cached = [];
  }
  return cached;
}
