// A one-node ONNX model for asking ONNX Runtime whether a provider has a kernel for an op: the node as
// the graph has it (op type, domain, attributes copied byte for byte), every input a graph input of the
// element type it is used with, no shapes (so nothing but the kernel lookup can fail), the opsets of the
// original graph. Attributes that carry external data (or a subgraph) are left out: a probe never reads a
// file. Encoding only; the session is created in inference/ort-probe.ts, which keys its cache by these bytes.
import { onnxTypeNumber } from './onnx-graph';
import { MODEL, GRAPH, NODE } from './onnx-graph';
import type { GraphOp } from './ops';
import { Message } from './protobuf';

function valueInfo(name: string, type: string): Message {
  const v = new Message().string(1, name);
  const t = onnxTypeNumber(type);
  // TypeProto { tensor_type { elem_type } } — no shape.
  if (t !== undefined) v.bytes(2, new Message().bytes(1, new Message().varint(1, t)));
  return v;
}

export function probeModel(op: GraphOp, opsets: ReadonlyMap<string, number>): Buffer {
  const node = new Message();
  const graph = new Message();
  op.example.inputs.forEach((name, i) => {
    if (name === '') {
      node.string(NODE.input, '');
      return;
    }
    node.string(NODE.input, `in${i}`);
    graph.bytes(GRAPH.input, valueInfo(`in${i}`, op.inputTypes[i] && op.inputTypes[i] !== 'unknown' ? op.inputTypes[i]! : 'float32'));
  });
  op.example.outputs.forEach((name, i) => {
    node.string(NODE.output, name === '' ? '' : `out${i}`);
    if (name !== '') graph.bytes(GRAPH.output, valueInfo(`out${i}`, op.outputTypes[i] ?? 'unknown'));
  });
  node.string(NODE.name, 'probe').string(NODE.opType, op.opType);
  if (op.domain !== '') node.string(NODE.domain, op.domain);
  for (const a of op.example.attributes) if (!a.external) node.bytes(NODE.attribute, a.encoded);
  graph.bytes(GRAPH.node, node).string(GRAPH.name, 'probe');
  const model = new Message().varint(MODEL.irVersion, 10).string(2, 'sd35-studio-probe');
  model.bytes(MODEL.graph, graph);
  const imports = new Map(opsets);
  if (!imports.has('')) imports.set('', 17);
  if (op.domain !== '' && !imports.has(op.domain)) imports.set(op.domain, op.opset);
  for (const [domain, version] of imports) {
    const o = new Message();
    if (domain !== '') o.string(1, domain);
    model.bytes(MODEL.opsetImport, o.varint(2, version));
  }
  return model.finish();
}
