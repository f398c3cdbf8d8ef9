// What an execution provider can run, asked of ONNX Runtime itself: for each distinct op of a graph, a
// session for a one-node probe graph (model-folder/probe-graph.ts) on that provider. No hand-kept table
// of kernels. Answers are cached per onnxruntime version and provider, in memory and (when a folder is
// given) in a JSON file in the data folder, keyed by the SHA-256 of the probe graph's bytes (op, domain,
// opset imports, element types and every attribute copied), so a hostile graph's odd attributes never
// answer for another graph's op. Only conclusive answers are kept (the session starts, or ORT says it has no
// kernel); an answer a real session contradicts is dropped (forgetProbes). A probe session is created from
// its bytes with an empty folder as its external-data folder: it never reads a file (a copied Constant's
// external data used to resolve against the process's working directory). This file and sessions.ts are
// the only ones that call ORT.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ort } from './ort';
import { writeExclusive } from '../model-folder/derived-graphs';
import { opKey, type GraphOp } from '../model-folder/ops';
import { probeModel } from '../model-folder/probe-graph';

export interface ProbeResult {
  /** True when the provider (with ORT's CPU fallback for what it lacks) can create the node. */
  supported: boolean;
  /** ORT's message when it cannot (or when the probe failed for another reason, kept as supported). */
  detail?: string;
  /** The probe failed for a reason other than a missing kernel: treated as supported, never cached. */
  inconclusive?: true;
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

// v2: keyed by the probe graph's bytes (v1 files, keyed by op and types alone, are never read).
function cacheFile(folder: string, version: string, provider: string): string {
  return path.join(folder, `op-probes-v2-ort${version.replace(/[^0-9A-Za-z.-]/g, '_')}-${provider.replace(/[^0-9A-Za-z-]/g, '_')}.json`);
}

function loadCache(key: string, file: string | undefined): Map<string, ProbeResult> {
  let cache = memory.get(key);
  if (cache) return cache;
  cache = new Map();
  if (file) {
    try {
      const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, ProbeResult>;
      for (const [k, v] of Object.entries(parsed)) {
        if (/^[0-9a-f]{32}$/.test(k) && typeof v?.supported === 'boolean' && !v.inconclusive) cache.set(k, v);
      }
    } catch {}
  }
  memory.set(key, cache);
  return cache;
}

function saveCache(cache: Map<string, ProbeResult>, file: string | undefined): void {
  if (!file) return;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeExclusive(file, Buffer.from(JSON.stringify(Object.fromEntries(cache), null, 1)));
  } catch {}
}

/** The cache key of a probe: its graph's bytes. */
function probeKey(model: Buffer): string {
  return crypto.createHash('sha256').update(model).digest('hex').slice(0, 32);
}

let emptyDir: string | undefined;

/** An empty private folder (0700) a probe's external data would resolve against: nothing is there. */
function probeDataDir(): string {
  if (emptyDir === undefined || !fs.existsSync(emptyDir)) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-probe-'));
    emptyDir = dir;
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return emptyDir;
}

/** Whether an ORT error says a node has no kernel on the provider. */
export function isNoKernelError(text: string): boolean {
  return NO_KERNEL.test(text);
}

async function probeBytes(model: Buffer, provider: string): Promise<ProbeResult> {
  try {
    const session = await ort.InferenceSession.create(model, {
      executionProviders: [provider],
      graphOptimizationLevel: 'disabled',
      logSeverityLevel: 4,
      intraOpNumThreads: 1,
      extra: { 'session.model_external_initializers_file_folder_path': probeDataDir() },
    });
    await session.release();
    return { supported: true };
  } catch (err) {
    const text = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim().slice(0, 400);
    // Anything but a missing kernel (a probe the op's shape rules refuse) is not evidence against it.
    return NO_KERNEL.test(text) ? { supported: false, detail: text } : { supported: true, inconclusive: true, detail: `probe inconclusive: ${text}` };
  }
}

/** Creates (and releases) a session for one probe graph. */
export async function probeOp(op: GraphOp, opsets: ReadonlyMap<string, number>, provider: string): Promise<ProbeResult> {
  return probeBytes(probeModel(op, opsets), provider);
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
  const { cache, file } = cacheOf(provider, options);
  const out = new Map<string, ProbeResult>();
  let changed = false;
  for (const op of ops) {
    const model = probeModel(op, opsets);
    const key = probeKey(model);
    let result = cache.get(key);
    if (!result) {
      result = await probeBytes(model, provider);
      if (!result.inconclusive) {
        cache.set(key, result);
        changed = true;
      }
    }
    out.set(opKey(op), result);
  }
  if (changed) saveCache(cache, file);
  return out;
}

function cacheOf(provider: string, options: ProbeOptions): { cache: Map<string, ProbeResult>; file: string | undefined } {
  const version = ortVersion();
  const file = options.cacheDir ? cacheFile(options.cacheDir, version, provider) : undefined;
  return { cache: loadCache(`${version}|${provider}|${file ?? ''}`, file), file };
}

/**
 * Drops the cached answers for some ops (a real session contradicted them: ORT found no kernel for an op
 * the cache said it had); the next probeOps asks ORT again. Returns how many were dropped.
 */
export function forgetProbes(ops: readonly GraphOp[], opsets: ReadonlyMap<string, number>, provider: string, options: ProbeOptions = {}): number {
  const { cache, file } = cacheOf(provider, options);
  let dropped = 0;
  for (const op of ops) if (cache.delete(probeKey(probeModel(op, opsets)))) dropped++;
  if (dropped > 0) saveCache(cache, file);
  return dropped;
}

/** Forgets the in-memory answers (tests). */
export function clearProbeMemory(): void {
  memory.clear();
}
