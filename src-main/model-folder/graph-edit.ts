// THE way a graph pass rewrites a serialized ONNX model: every byte of the ModelProto is copied as it is, except the
// (first) GraphProto, whose fields are copied one by one while the pass replaces, drops or adds nodes and other
// fields. The passes (portability, VAE mean encoder, LoRA branches, Skip-Layer-Guidance switch) differ only in their
// GraphEdit; none of them re-encodes what it does not change, so weights and unknown fields survive to the byte.
import { GRAPH, MODEL } from './onnx-graph';
import { BufferSource, Message, fields, type Field } from './protobuf';

export interface GraphEdit {
  /**
   * Called for each node, in order, with its index among the graph's nodes. Write replacement nodes into `graph`
   * (or nothing, to drop it) and return true; return false to keep the node's bytes unchanged.
   */
  node?(graph: Message, index: number, field: Field): boolean;
  /** Called before any other graph field is copied (inputs, initializers, outputs, …), to add fields before it. */
  beforeField?(graph: Message, field: Field): void;
  /** Called after the graph's last field, to append nodes, initializers or inputs. */
  end?(graph: Message): void;
}

/** The model with its graph rebuilt through `edit`; every other field of the model is copied byte for byte. */
export function editGraph(model: Buffer, edit: GraphEdit): Buffer {
  const src = new BufferSource(model);
  const out = new Message();
  let sawGraph = false;
  for (const f of fields(src, 0, model.length)) {
    if (f.field !== MODEL.graph || f.wire !== 2 || sawGraph) {
      out.raw(model.subarray(f.tagStart, f.next));
      continue;
    }
    sawGraph = true;
    const graph = new Message();
    let index = 0;
    for (const gf of fields(src, f.start, f.next)) {
      if (gf.field === GRAPH.node && gf.wire === 2) {
        if (!edit.node?.(graph, index, gf)) graph.raw(model.subarray(gf.tagStart, gf.next));
        index++;
        continue;
      }
      edit.beforeField?.(graph, gf);
      graph.raw(model.subarray(gf.tagStart, gf.next));
    }
    edit.end?.(graph);
    out.bytes(MODEL.graph, graph);
  }
  return out.finish();
}
