// The tiny MMDiT's transformer graph without joint block i, made independently of the SLG switch pass: block i's
// boundary Identity nodes (e2e/support/tiny-mmdit.ts tinyBlockTensors) read the block's inputs instead of its
// outputs, so the block's result is never used — what diffusers' `skip_layers` does to a block. Used by the
// switch pass's tests and the pipeline's SLG tests as their reference.
import { tinyBlockTensors } from '../../../e2e/support/tiny-mmdit';
import { GRAPH, MODEL, NODE } from '../../model-folder/onnx-graph';
import { BufferSource, Message, fields } from '../../model-folder/protobuf';

/** The model (ModelProto bytes) with block i bypassed. */
export function withoutBlock(model: Buffer, i: number): Buffer {
  const { input, output } = tinyBlockTensors(i);
  const rewire = new Map([
    [output.hidden, input.hidden],
    [output.context, input.context],
  ]);
  const src = new BufferSource(model);
  const out = new Message();
  for (const f of fields(src, 0, model.length)) {
    if (f.field !== MODEL.graph) {
      out.raw(model.subarray(f.tagStart, f.next));
      continue;
    }
    const g = new Message();
    for (const gf of fields(src, f.start, f.next)) {
      if (gf.field !== GRAPH.node) {
        g.raw(model.subarray(gf.tagStart, gf.next));
        continue;
      }
      const parts = [...fields(src, gf.start, gf.next)];
      const outName = parts.find((p) => p.field === NODE.output);
      const target = outName ? rewire.get(model.toString('utf8', outName.start, outName.next)) : undefined;
      const opType = parts.find((p) => p.field === NODE.opType);
      if (!target || !opType || model.toString('utf8', opType.start, opType.next) !== 'Identity') {
        g.raw(model.subarray(gf.tagStart, gf.next));
        continue;
      }
      const n = new Message();
      for (const p of parts) {
        if (p.field === NODE.input) n.string(NODE.input, target);
        else n.raw(model.subarray(p.tagStart, p.next));
      }
      g.bytes(GRAPH.node, n);
    }
    out.bytes(MODEL.graph, g);
  }
  return out.finish();
}

/** The model without each of `blocks`. */
export function withoutBlocks(model: Buffer, blocks: readonly number[]): Buffer {
  return blocks.reduce((m, i) => withoutBlock(m, i), model);
}
