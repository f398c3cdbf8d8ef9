// A super-resolution model's ORT session (docs/architecture.md §5 "Upscale"), beside LoadedModel: the same session
// factory (ort-session.ts), its graph checked first by model-folder/upscaler-graph.ts.
import { ort } from './ort';
import { StudioError } from '../../src-shared/errors';
import { float16ToFloat32, float32ToFloat16 } from '../formats/float16';
import type { TensorMeta } from '../model-folder/onnx-graph';
import { checkUpscalerGraph } from '../model-folder/upscaler-graph';
import { createSession, ortSessionOptions } from './ort-session';

/**
 * A super-resolution model (docs/architecture.md §5 "Upscale"): one image input [N, 3, H, W] and one image output
 * [N, 3, s·H, s·W], float32 or float16, checked from the graph before a session exists (anything else is refused as
 * "not image → image"); the scale is found by a probe run on a small tile. Runs on the CPU provider.
 */
export class UpscalerSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly input: TensorMeta,
    private readonly output: TensorMeta,
  ) {}

  static async load(file: string, options: { threads?: number } = {}): Promise<UpscalerSession> {
    const { input, output } = await checkUpscalerGraph(file);
    const session = await createSession({ path: file }, ortSessionOptions({ ep: 'cpu', memory: 'balanced', ...(options.threads !== undefined ? { threads: options.threads } : {}) }, 'cpu'));
    return new UpscalerSession(session, input, output);
  }

  /** One tile: [1, 3, h, w] in [0, 1] → the model's output as float32. */
  async run(pixels: Float32Array, width: number, height: number): Promise<{ data: Float32Array; width: number; height: number }> {
    const data = this.input.type === 'float16' ? float32ToFloat16(pixels) : pixels;
    const feeds = { [this.input.name]: new ort.Tensor(this.input.type as 'float32' | 'float16', data, [1, 3, height, width]) };
    const out = (await this.session.run(feeds))[this.output.name];
    if (!out || out.dims.length !== 4 || out.dims[1] !== 3) {
      throw new StudioError('invalid_input', `The upscaler's output has shape [${out?.dims.join(', ') ?? ''}], not [1, 3, H, W].`, { field: 'upscaler' });
    }
    const values = out.type === 'float16' ? float16ToFloat32(out.data as Uint16Array) : Float32Array.from(out.data as Float32Array);
    return { data: values, width: out.dims[3] as number, height: out.dims[2] as number };
  }

  /** The scale from a probe run on a 16×16 tile: the output side over the input side (a whole number, the same both ways). */
  async probeScale(): Promise<number> {
    const out = await this.run(new Float32Array(3 * 16 * 16).fill(0.5), 16, 16);
    const s = out.width / 16;
    if (!(Number.isInteger(s) && s >= 1 && s <= 8 && out.height === 16 * s)) {
      throw new StudioError('invalid_input', `This ONNX model turns a 16×16 image into ${out.width}×${out.height}: not a whole-number upscale of 1 to 8.`, { field: 'upscaler' });
    }
    return s;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
