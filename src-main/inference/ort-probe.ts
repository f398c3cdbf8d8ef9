// What an execution provider can run, asked of ONNX Runtime itself: for each distinct op of a graph, a
// session for a one-node probe graph (model-folder/probe-graph.ts) on that provider. No hand-kept table
// of kernels. Answers are cached per onnxruntime version and provider, in memory and (when a folder is
// given) in a JSON file in the data folder. This file and sessions.ts are the only ones that call ORT.
import fs from 'node:fs';
import path from 'node:path';
import { ort } from './ort';
import { opKey, type GraphOp } from '../model-folder/ops';
import { probeModel } from '../model-folder/probe-graph';

export interface ProbeResult {
  /** True when the provider (with ORT's CPU fallback for what it lacks) can create the node. */
  supported: boolean;
  /** ORT's message when it cannot (or when the probe failed for another reason, kept as supported). */
  detail?: string;
}

/** The installed onnxruntime-node version (the cache key). */
export function ortVersion(): string {
  try {
    return (require('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

const memory = new Map<string, Map<string, ProbeResult>>();

/** ORT's words for "no kernel for this node on this provider". */
const NO_KERNEL = /could not find an implementation|failed to find kernel|no kernel|not implemented|NOT_IMPLEMENTED|is not a registered function\/op/i;

function cacheFile(folder: string, version: string, provider: string): string {
  return path.join(folder, `op-probes-ort${version.replace(/[^0-9A-Za-z.-]/g, '_')}-${provider.replace(/[^0-9A-Za-z-]/g, '_')}.json`);
}

function loadCache(key: string, file: string | undefined): Map<string, ProbeResult> {
  let cache = memory.get(key);
  if (cache) return cache;
  cache = new Map();
  if (file) {
    try {
      const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, ProbeResult>;
      for (const [k, v] of Object.entries(parsed)) if (typeof v?.supported === 'boolean') cache.set(k, v);
    } catch {}
  }
  memory.set(key, cache);
  return cache;
}

function saveCache(cache: Map<string, ProbeResult>, file: string | undefined): void {
  if (!file) return;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(Object.fromEntries(cache), null, 1));
    fs.renameSync(tmp, file);
  } catch {}
}

/** Creates (and releases) a session for one probe graph. */
export async function probeOp(op: GraphOp, opsets: ReadonlyMap<string, number>, provider: string): Promise<ProbeResult> {
  const model = probeModel(op, opsets);
  try {
    const session = await ort.InferenceSession.create(model, {
      executionProviders: [provider],
      graphOptimizationLevel: 'disabled',
      logSeverityLevel: 4,
      intraOpNumThreads: 1,
    });
    await session.release();
    return { supported: true };
  } catch (err) {
    const text = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim().slice(0, 400);
    // Anything but a missing kernel (a probe the op's shape rules refuse) is not evidence against it.
    return NO_KERNEL.test(text) ? { supported: false, detail: text } : { supported: true, detail: `probe inconclusive: ${text}` };
  }
}

export interface ProbeOptions {
  /** Folder for the on-disk cache (the data folder's cache); memory only when absent. */
  cacheDir?: string;
}

/** Probe answers for every op, keyed by opKey(op); cached per onnxruntime version and provider. */
export async function probeOps(
  ops: readonly GraphOp[],
  opsets: ReadonlyMap<string, number>,
  provider: string,
  options: ProbeOptions = {},
): Promise<Map<string, ProbeResult>> {
  const version = ortVersion();
  const file = options.cacheDir ? cacheFile(options.cacheDir, version, provider) : undefined;
  const cache = loadCache(`${version}|${provider}|${file ?? ''}`, file);
  const out = new Map<string, ProbeResult>();
  let changed = false;
  for (const op of ops) {
    const key = opKey(op);
    let result = cache.get(key);
    if (!result) {
      result = await probeOp(op, opsets, provider);
      cache.set(key, result);
      changed = true;
    }
    out.set(key, result);
  }
  if (changed) saveCache(cache, file);
  return out;
}

/** Forgets the in-memory answers (tests). */
export function clearProbeMemory(): void {
  memory.clear();
}
