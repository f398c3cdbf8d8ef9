// A tiny ×2 super-resolution graph (docs/architecture.md §5 "Upscale", §9), named as real exports name their nodes:
// a 3×3 Conv to 12 channels (weights 1/9, bias 0.05·k for shift k) and DepthToSpace(2, DCR) as Real-ESRGAN's pixel
// shuffle, so out[c](2y + i, 2x + j) = box3(in[c])(y, x) + 0.05·(2i + j) with zero padding. fp32 or fp16 I/O.
import fs from 'node:fs';
import { float32ToFloat16 } from '../../src-main/formats/float16';
import { encodeModel, GraphBuilder } from './onnx-builder';

export function writeSrGraph(file: string, io: 'float32' | 'float16'): void {
  const g = new GraphBuilder('tiny_sr_x2');
  const input = g.input('input', io, ['batch', 3, 'height', 'width']);
  const w = new Float32Array(12 * 3 * 9);
  const b = new Float32Array(12);
  for (let k = 0; k < 4; k++) {
    for (let c = 0; c < 3; c++) {
      const oc = k * 3 + c;
      for (let t = 0; t < 9; t++) w[(oc * 3 + c) * 9 + t] = 1 / 9;
      b[oc] = 0.05 * k;
    }
  }
  const x = io === 'float16' ? g.named('/Cast', 'Cast', [input], { to: { i: 1 } }) : input;
  const wt = io === 'float16' ? g.init('conv_up.weight', { type: 'float16', dims: [12, 3, 3, 3], data: float32ToFloat16(w) }) : g.init('conv_up.weight', { type: 'float32', dims: [12, 3, 3, 3], data: w });
  const wf = io === 'float16' ? g.named('/conv_up/Cast', 'Cast', [wt], { to: { i: 1 } }) : wt;
  const conv = g.named('/conv_up/Conv', 'Conv', [x, wf, g.init('conv_up.bias', { type: 'float32', dims: [12], data: b })], { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } });
  const shuffled = g.named('/pixel_shuffle/DepthToSpace', 'DepthToSpace', [conv], { blocksize: { i: 2 }, mode: { s: 'DCR' } });
  if (io === 'float16') g.node('Cast', [shuffled], { to: { i: 10 } }, ['output']);
  else g.node('Identity', [shuffled], {}, ['output']);
  g.output('output', io, ['batch', 3, 'height_x2', 'width_x2']);
  fs.writeFileSync(file, encodeModel(g));
}


/**
 * A real-looking graph that is NOT image → image, for the upscaler import's refusal: a CLIP text encoder's front
 * (int64 token ids [batch, 77] in, hidden states [batch, 77, 8] out), named as diffusers' exports name it.
 */
export function writeTextEncoderGraph(file: string): void {
  const g = new GraphBuilder('clip_text_encoder');
  const ids = g.input('input_ids', 'int64', ['batch', 77]);
  const table = g.init('text_model.embeddings.token_embedding.weight', { type: 'float32', dims: [16, 8], data: new Float32Array(128).fill(0.01) });
  const gathered = g.named('/text_model/embeddings/token_embedding/Gather', 'Gather', [table, ids]);
  g.node('Identity', [gathered], {}, ['last_hidden_state']);
  g.output('last_hidden_state', 'float32', ['batch', 77, 8]);
  fs.writeFileSync(file, encodeModel(g));
}
