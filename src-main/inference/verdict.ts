// The pre-download verdict: a model's component graphs — fetched and verified before the
// large files — checked against the provider this machine would use (auto: CUDA / DirectML / CoreML,
// else the CPU), op by op in ONNX Runtime (ort-probe.ts): "runs on DirectML", "runs here on the CPU with
// 3 operators rewritten", or "cannot run here: com.microsoft.X has no kernel on CoreML or the CPU and no
// rewrite". The graphs are read alone; their external data is not needed (nor there yet).
import type { PortabilityVerdict } from '../../src-shared/schemas/models';
import { readOnnxGraph, type OnnxGraph } from '../model-folder/onnx-graph';
import { WireError } from '../model-folder/protobuf';
import { StudioError } from '../../src-shared/errors';
import { domainLabel } from '../model-folder/ops';
import type { ProbeOptions } from './ort-probe';
import { checkGraphOps, opNames, providerLabel } from './portability';
import { planExecutionProviders, supportedBackends, type SupportedBackend } from './ep-plan';
import type { EpChoice } from '../../src-shared/generation';
import { boundText, listWithMore } from '../../src-shared/bounded-text';

export interface VerdictGraph {
  /** Repo-relative ('unet/model.onnx'). */
  file: string;
  /** Absolute path of the verified graph. */
  path: string;
}

export interface VerdictOptions extends ProbeOptions {
  ep?: EpChoice;
  platform?: NodeJS.Platform;
  supported?: SupportedBackend[];
}

function where(provider: string): string {
  return provider === 'cpu' ? 'the CPU' : providerLabel(provider);
}

export async function checkModelGraphs(graphs: readonly VerdictGraph[], options: VerdictOptions = {}): Promise<PortabilityVerdict> {
  const plan = planExecutionProviders(options.ep ?? 'auto', options.platform ?? process.platform, options.supported ?? supportedBackends());
  const provider = plan.providers[0] ?? 'cpu';
  const rewritten = new Set<string>();
  const blocked: { op: string; file: string }[] = [];
  let blockedCount = 0;
  for (const g of graphs) {
    let graph: OnnxGraph;
    try {
      graph = readOnnxGraph(g.path, { nodes: true, label: g.file });
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      // Its hash matched, yet it is no ONNX graph (or past the graph limits): what the mirror sent is unusable.
      throw new StudioError('verification_failed', boundText(`${g.file} is not a usable ONNX graph: ${err.message}. Nothing large was downloaded.`, 2000), { file: g.file });
    }
    const check = await checkGraphOps(graph, g.file, provider, options);
    for (const name of opNames(check.rewritable)) rewritten.add(name);
    for (const op of check.blocked) {
      const name = boundText(`${domainLabel(op.domain)}.${op.opType}`, 200);
      if (blocked.some((b) => b.op === name && b.file === g.file)) continue;
      blockedCount++;
      // The contract keeps 200 entries; the text says how many more there are.
      if (blocked.length < 200) blocked.push({ op: name, file: g.file });
    }
  }
  const ops = [...rewritten].sort();
  if (blocked.length > 0) {
    const names = [...new Set(blocked.map((b) => b.op))];
    const on = provider === 'cpu' ? 'the CPU' : `${providerLabel(provider)} or the CPU`;
    return {
      verdict: 'blocked',
      provider,
      text: boundText(
        `cannot run here: ${listWithMore(names, 8, 200, names.length + blockedCount - blocked.length)} ${names.length > 1 ? 'have' : 'has'} no kernel on ${on} and no rewrite (in ${listWithMore([...new Set(blocked.map((b) => b.file))], 5)})`,
        4000,
      ),
      rewritten: ops,
      blocked,
    };
  }
  if (ops.length > 0) {
    return {
      verdict: 'rewrites',
      provider,
      text: `runs here on ${where(provider)} with ${ops.length} operator${ops.length > 1 ? 's' : ''} rewritten (${ops.join(', ')})`,
      rewritten: ops,
      blocked: [],
    };
  }
  return { verdict: 'runs', provider, text: provider === 'cpu' ? 'runs here on the CPU' : `runs on ${providerLabel(provider)}`, rewritten: [], blocked: [] };
}
