// Whether a component's graph runs on an execution provider, and what is loaded so that it does: the
// graph's ops (model-folder/ops.ts) asked of ONNX Runtime one by one (ort-probe.ts); ops the provider
// lacks and the portability pass covers are rewritten into a derived graph in the studio's own folder
// (model-folder/portable.ts, derived-graphs.ts), which is then loaded instead; anything else is a precise
// StudioError.
import { StudioError } from '../../src-shared/errors';
import { boundText, listWithMore } from '../../src-shared/bounded-text';
import type { ComponentFiles } from '../model-folder/layouts';
import { readOnnxGraph, type OnnxGraph } from '../model-folder/onnx-graph';
import { domainLabel, listOps, opKey, opLabel, type GraphOp } from '../model-folder/ops';
import { canRewrite, portableGraph, type RewrittenOp } from '../model-folder/portable';
import { forgetProbes, probeOps, type ProbeOptions } from './ort-probe';

const PROVIDER_LABELS: Record<string, string> = { cpu: 'CPU', cuda: 'CUDA', dml: 'DirectML', coreml: 'CoreML', webgpu: 'WebGPU' };

export function providerLabel(provider: string): string {
  return PROVIDER_LABELS[provider] ?? provider;
}

export interface OpsCheck {
  /** 'unet/model.onnx' */
  file: string;
  provider: string;
  ops: GraphOp[];
  /** Ops the provider (with ORT's CPU fallback) has no kernel for. */
  missing: GraphOp[];
  /** Of those, the ones the portability pass rewrites. */
  rewritable: GraphOp[];
  /** Of those, the ones nothing covers. */
  blocked: GraphOp[];
}

/** Probes every op of a graph (read with nodes) on a provider. */
export async function checkGraphOps(graph: OnnxGraph, file: string, provider: string, options: ProbeOptions = {}): Promise<OpsCheck> {
  const ops = listOps(graph);
  const answers = await probeOps(ops, graph.opsets, provider, options);
  const missing = ops.filter((op) => answers.get(opKey(op))?.supported === false);
  return {
    file,
    provider,
    ops,
    missing,
    rewritable: missing.filter((op) => canRewrite(op.domain, op.opType)),
    blocked: missing.filter((op) => !canRewrite(op.domain, op.opType)),
  };
}

/** Distinct 'domain.OpType' names of some ops. */
export function opNames(ops: readonly GraphOp[]): string[] {
  return [...new Set(ops.map((op) => `${domainLabel(op.domain)}.${op.opType}`))].sort();
}

function list(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/**
 * The error for ops no provider tried has and no rewrite covers: the op, the component file, the
 * provider, the providers (probed on this machine) that do have it, and what to do.
 */
export function unsupportedOpsError(check: OpsCheck, where: string, others: ReadonlyMap<string, boolean>): StudioError {
  const op = check.blocked[0] as GraphOp;
  const name = `${domainLabel(op.domain)}.${op.opType}`;
  const types = [...new Set(op.inputTypes.filter((t) => t !== ''))].join(', ');
  const have = [...others].filter(([, ok]) => ok).map(([p]) => providerLabel(p));
  const tried = check.provider === 'cpu' ? 'the CPU' : `${providerLabel(check.provider)} or the CPU`;
  const also = opNames(check.blocked.slice(1)).filter((n) => n !== name);
  const rest = check.blocked.length > 1 ? ` (also: ${also.length > 0 ? listWithMore(also) : 'other type combinations'})` : '';
  const advice =
    have.length > 0
      ? `Choose ${list(have)} as the execution provider (Settings, or --ep), or use an export in the standard optimum layout.`
      : 'This export was optimized for another runtime (e.g. DirectML or CUDA); use an export in the standard optimum layout (e.g. a stabilityai/*-onnx or optimum-exported repo), or run it on a machine whose provider has the operator.';
  return new StudioError(
    'unavailable',
    boundText(
      `${where}: ${boundText(opLabel(op), 200)} (${boundText(types, 200)}) in ${check.file} has no kernel on ${tried} and no rewrite${rest}. ` +
        `${have.length > 0 ? `Providers here that have it: ${list(have)}.` : 'No execution provider on this machine has it.'} ${advice}`,
      4000,
    ),
    {
      op: boundText(name, 200),
      opset: op.opset,
      file: check.file,
      provider: check.provider,
      providersWithKernel: [...others].filter(([, ok]) => ok).map(([p]) => p),
    },
  );
}

/** Whether each of `providers` has every blocked op (probing them too). */
export async function providersWithOps(graph: OnnxGraph, blocked: readonly GraphOp[], providers: readonly string[], options: ProbeOptions = {}): Promise<Map<string, boolean>> {
  const out = new Map<string, boolean>();
  for (const p of providers) {
    const answers = await probeOps(blocked, graph.opsets, p, options).catch(() => undefined);
    out.set(p, answers !== undefined && blocked.every((op) => answers.get(opKey(op))?.supported === true));
  }
  return out;
}

export interface GraphChoice {
  /** Absolute path of the graph to create the session from. */
  path: string;
  /**
   * Set for a derived graph (derived-graphs.ts): the real original component folder, where ORT resolves
   * its external data (the session is created from the graph's bytes with that folder).
   */
  externalDataDir?: string;
  rewritten: RewrittenOp[];
}

/**
 * The graph to load for a component on a provider: model.onnx when the provider has every op, else the
 * portable derived graph (in `graphsRoot`, the studio's folder of derived graphs) with the missing ones
 * rewritten. Throws StudioError unavailable when an op has no kernel and no rewrite. `otherProviders` are
 * probed only for that message.
 */
export async function graphForProvider(
  folder: string,
  files: ComponentFiles,
  provider: string,
  options: ProbeOptions & { otherProviders?: readonly string[]; graphsRoot: string },
): Promise<GraphChoice> {
  const graph = readOnnxGraph(files.model, { nodes: true });
  const check = await checkGraphOps(graph, files.file, provider, options);
  if (check.missing.length === 0) return { path: files.model, rewritten: [] };
  if (check.blocked.length > 0) {
    const others = await providersWithOps(graph, check.blocked, (options.otherProviders ?? []).filter((p) => p !== provider), options);
    throw unsupportedOpsError(check, `The model in ${folder} cannot run here`, others);
  }
  const ops = new Set(opNames(check.rewritable));
  let written: Awaited<ReturnType<typeof portableGraph>>;
  try {
    written = await portableGraph(options.graphsRoot, folder, files, graph, ops);
  } catch (err) {
    if (err instanceof StudioError) throw err;
    throw new StudioError(
      'internal',
      `Could not write the portable graph of ${files.file} of the model in ${folder} to ${options.graphsRoot} (${(err as Error).message}); ${list([...ops])} are rewritten there for ${providerLabel(provider)}.`,
      { folder, file: files.file },
    );
  }
  return { path: written.graph.file, externalDataDir: written.graph.externalDataDir, rewritten: written.rewritten };
}

/** Drops the cached probe answers of every op of a component's graph on a provider (a real session contradicted them). */
export function forgetGraphProbes(files: ComponentFiles, provider: string, options: ProbeOptions = {}): void {
  const graph = readOnnxGraph(files.model, { nodes: true });
  forgetProbes(listOps(graph), graph.opsets, provider, options);
}

export interface ComponentOpsReport {
  /** 'unet/model.onnx' */
  file: string;
  /** Every op of the graph, 'domain.OpType(opset)'. */
  ops: string[];
  /** Ops the provider lacks that the pass rewrites (into a derived graph). */
  rewritten: string[];
  /** Ops the provider lacks that nothing covers. */
  blocked: string[];
}

/** For `inspect model`: each component's ops and which of them the pass rewrites for `provider`. */
export async function inspectOps(
  components: readonly ComponentFiles[],
  provider: string,
  options: ProbeOptions = {},
): Promise<{ provider: string; components: ComponentOpsReport[] }> {
  const out: ComponentOpsReport[] = [];
  for (const files of components) {
    const graph = readOnnxGraph(files.model, { nodes: true, label: files.file });
    const check = await checkGraphOps(graph, files.file, provider, options);
    out.push({ file: files.file, ops: [...new Set(check.ops.map(opLabel))], rewritten: opNames(check.rewritable), blocked: opNames(check.blocked) });
  }
  return { provider, components: out };
}
