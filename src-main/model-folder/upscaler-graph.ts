// Whether an ONNX file is an image → image upscaler (docs/architecture.md §5 "Upscale"): read from the graph alone
// (no session, no weights): one input and one output, each float32/float16 of rank 4 with 3 channels (or a symbolic
// channel dim), a single file (no external data). Anything else is refused naming what the graph has instead.
import { StudioError } from '../../src-shared/errors';
import { readOnnxGraphInfo, type TensorMeta } from './onnx-graph';

export interface UpscalerGraph {
  input: TensorMeta;
  output: TensorMeta;
}

function isImage(t: TensorMeta | undefined): t is TensorMeta {
  return t !== undefined && (t.type === 'float32' || t.type === 'float16') && t.dims.length === 4 && (t.dims[1] === 3 || typeof t.dims[1] === 'string');
}

function describe(ts: TensorMeta[]): string {
  return ts.map((t) => `${t.name.slice(0, 64)} ${t.type}[${t.dims.join(',')}]`).join(', ') || 'none';
}

export async function checkUpscalerGraph(file: string): Promise<UpscalerGraph> {
  const graph = await readOnnxGraphInfo(file, { label: 'The upscaler' });
  const input = graph.inputs[0];
  const output = graph.outputs[0];
  if (graph.inputs.length !== 1 || graph.outputs.length !== 1 || !isImage(input) || !isImage(output)) {
    throw new StudioError(
      'invalid_input',
      `This ONNX model is not an image → image upscaler: it needs one input and one output of shape [N, 3, H, W] (float32 or float16); it has inputs ${describe(graph.inputs)} and outputs ${describe(graph.outputs)}.`,
      { field: 'upscaler' },
    );
  }
  if (graph.externalData.size > 0) {
    throw new StudioError('invalid_input', 'This upscaler keeps its weights in a separate external-data file; only single-file .onnx upscalers can be imported.', { field: 'upscaler' });
  }
  return { input, output };
}
