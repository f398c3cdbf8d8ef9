// The VAE mean pass (docs/architecture.md §5): a VAE encoder exported with its sampling inside the graph
// (TensorStack's `latent_sample` = diffusers DiagonalGaussianDistribution.sample(): mean + std · randn, the randn a
// RandomNormal(Like) node) is rewritten to output the distribution's MEAN under the same name — what diffusers'
// retrieve_latents(sample_mode="argmax") takes and what makes image to image exact and seed-determined. The sum
// `mean + std·ε` (through Identity/Cast at the output) is replaced by Identity(mean), and every node no output needs
// any more (the noise, std, …) is dropped. Every other byte of the model is copied as it was, so initializers keep
// their external-data locations; the derived graph lives in the studio's folder (derived-graphs.ts), never in the
// model folder.
import { derivedGraph, type DerivedGraph } from './derived-graphs';
import type { ComponentFiles } from './layouts';
import { GRAPH, NODE, readOnnxGraphBuffer, type OnnxGraph, type OnnxNode } from './onnx-graph';
import { Message } from './protobuf';
import { editGraph } from './graph-edit';
import { StudioError } from '../../src-shared/errors';

/** The pass name of derived-graphs.ts (`vae-mean-<hash>.onnx`). */
export const VAE_MEAN_PASS = 'vae-mean';

const RANDOM_OPS = new Set(['RandomNormal', 'RandomNormalLike', 'RandomUniform', 'RandomUniformLike', 'Multinomial']);
const PASS_THROUGH = new Set(['Identity', 'Cast']);

export interface MeanRewrite {
  /** The graph output that was sampled ('latent_sample'). */
  output: string;
  /** The tensor now passed to it (the mean). */
  mean: string;
  /** Nodes dropped (the sampling branch). */
  dropped: number;
}

function producers(graph: OnnxGraph): Map<string, number> {
  const map = new Map<string, number>();
  graph.nodes.forEach((n, i) => n.outputs.forEach((o) => map.set(o, i)));
  return map;
}

/** Whether `name` depends on a random op (walking producers; bounded by the node count). */
function dependsOnRandom(graph: OnnxGraph, prod: Map<string, number>, name: string): boolean {
  const seen = new Set<number>();
  const stack = [name];
  while (stack.length > 0) {
    const t = stack.pop() as string;
    const i = prod.get(t);
    if (i === undefined || seen.has(i)) continue;
    seen.add(i);
    const node = graph.nodes[i] as OnnxNode;
    if (node.domain === '' && RANDOM_OPS.has(node.opType)) return true;
    stack.push(...node.inputs.filter(Boolean));
  }
  return false;
}

/**
 * Finds the sampling sum feeding a graph output: output ← (Identity|Cast)* ← Add(mean, noiseTerm) where exactly one
 * side depends on a random op. Undefined when the graph does not sample (nothing to rewrite).
 */
export function findSampling(graph: OnnxGraph): { addIndex: number; output: string; mean: string } | undefined {
  const prod = producers(graph);
  for (const out of graph.outputs) {
    let t = out.name;
    for (let hops = 0; hops < 8; hops++) {
      const i = prod.get(t);
      if (i === undefined) break;
      const node = graph.nodes[i] as OnnxNode;
      if (node.domain === '' && PASS_THROUGH.has(node.opType)) {
        t = node.inputs[0] ?? '';
        continue;
      }
      if (node.domain === '' && node.opType === 'Add' && node.inputs.length === 2) {
        const [a, b] = node.inputs as [string, string];
        const ra = dependsOnRandom(graph, prod, a);
        const rb = dependsOnRandom(graph, prod, b);
        if (ra !== rb) return { addIndex: i, output: out.name, mean: ra ? b : a };
      }
      break;
    }
  }
  return undefined;
}

/**
 * The model with its sampling replaced by the mean (pure: bytes in, bytes out). Throws StudioError invalid_input
 * when the graph draws random numbers in a way this pass does not recognise.
 */
export function meanEncoderModel(model: Buffer, label = 'vae_encoder/model.onnx'): { bytes: Buffer; rewrite: MeanRewrite } {
  const graph = readOnnxGraphBuffer(model, label, { nodes: true });
  const found = findSampling(graph);
  if (!found) {
    throw new StudioError('invalid_input', `${label} draws random numbers but not as mean + std·noise at an output; the studio cannot take its mean.`, { file: label });
  }
  // Liveness from the graph outputs, with the Add replaced by Identity(mean).
  const prod = producers(graph);
  const live = new Set<number>();
  const stack = graph.outputs.map((o) => o.name);
  while (stack.length > 0) {
    const t = stack.pop() as string;
    const i = prod.get(t);
    if (i === undefined || live.has(i)) continue;
    live.add(i);
    stack.push(...(i === found.addIndex ? [found.mean] : (graph.nodes[i] as OnnxNode).inputs.filter(Boolean)));
  }
  const bytes = editGraph(model, {
    node(g, k) {
      const node = graph.nodes[k] as OnnxNode;
      if (k === found.addIndex) {
        const identity = new Message();
        identity.string(NODE.input, found.mean);
        for (const o of node.outputs) identity.string(NODE.output, o);
        identity.string(NODE.name, `vae-mean/${node.name || 'sample'}`).string(NODE.opType, 'Identity');
        g.bytes(GRAPH.node, identity);
        return true;
      }
      // A node outside the mean's cone (the sampling) is dropped; the others are kept as they are.
      return !live.has(k);
    },
  });
  return { bytes, rewrite: { output: found.output, mean: found.mean, dropped: graph.nodes.length - live.size } };
}

/** The mean encoder of a component from the studio's folder of derived graphs (made once, reused). */
export async function meanEncoderGraph(root: string, modelFolder: string, component: ComponentFiles): Promise<DerivedGraph> {
  return derivedGraph({
    root,
    modelFolder,
    component,
    pass: VAE_MEAN_PASS,
    key: { version: 1 },
    produce: (source) => meanEncoderModel(source, component.file).bytes,
  });
}
