// The pre-download verdict: a model's component graphs — fetched and verified before the
// large files — checked against the provider this machine would use (auto: CUDA / DirectML / CoreML,
// else the CPU), op by op in ONNX Runtime (ort-probe.ts): "runs on DirectML", "runs here on the CPU with
// 3 operators rewritten", or "cannot run here: com.microsoft.X has no kernel on CoreML or the CPU and no
// rewrite". The graphs are read alone; their external data is not needed (nor there yet).
import type { PortabilityVerdict } from '../../src-shared/schemas/models';
import { readOnnxGraph } from '../model-folder/onnx-graph';
import { domainLabel } from '../model-folder/ops';
import type { ProbeOptions } from './ort-probe';
import { checkGraphOps, opNames, providerLabel } from './portability';
import { planExecutionProviders, supportedBackends, type SupportedBackend } from './ep-plan';
import type { EpChoice } from '../../src-shared/generation';

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
  for (const g of graphs) {
    const check = await checkGraphOps(readOnnxGraph(g.path, { nodes: true, label: g.file }), g.file, provider, options);
    for (const name of opNames(check.rewritable)) rewritten.add(name);
    for (const op of check.blocked) {
      const name = `${domainLabel(op.domain)}.${op.opType}`;
      if (!blocked.some((b) => b.op === name && b.file === g.file)) blocked.push({ op: name, file: g.file });
    }
  }
  const ops = [...rewritten].sort();
  if (blocked.length > 0) {
    const names = [...new Set(blocked.map((b) => b.op))];
    const on = provider === 'cpu' ? 'the CPU' : `${providerLabel(provider)} or the CPU`;
    return {
      verdict: 'blocked',
      provider,
      text: `cannot run here: ${names.join(', ')} ${names.length > 1 ? 'have' : 'has'} no kernel on ${on} and no rewrite (in ${[...new Set(blocked.map((b) => b.file))].join(', ')})`,
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
