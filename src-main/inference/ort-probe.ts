// What an execution provider can run, asked of ONNX Runtime itself: for each distinct op of a graph, a
// session for a one-node probe graph (model-folder/probe-graph.ts) on that provider. No hand-kept table
// of kernels. Answers are cached per onnxruntime version and provider, in memory and (when a folder is
// given) in a JSON file in the data folder, keyed by the SHA-256 of the probe graph's bytes (op, domain,
// opset imports, element types and every attribute copied), so a hostile graph's odd attributes never
// answer for another graph's op. Only conclusive answers are kept (the session starts, or ORT says it has no
// kernel); an answer a real session contradicts is dropped (forgetProbes). A probe session is created from
// its bytes with an empty folder as its external-data folder: it never reads a file (a copied Constant's
// external data used to resolve against the process's working directory). In the studio every probe runs in a
// short-lived child process (op-probe-runner.ts, given as ProbeOptions.runner): a probe that hangs or crashes
// ORT is inconclusive there and never touches the serve process or the worker. This file and sessions.ts are
// the only ones that call ORT.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ort } from './ort';
import { writeExclusive } from '../model-folder/derived-graphs';
import { opKey, type GraphOp } from '../model-folder/ops';
import { probeModel } from '../model-folder/probe-graph';
import { testHold } from '../../src-shared/test-hold';

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

/**
 * Test hold points (docs/architecture.md §9), only with SD35_TEST_MODE=1: SD35_TEST_HOLD=op-probe-hang:<text>
 * spins forever (a probe stuck in native code: the event loop never turns again) and op-probe-crash:<text> aborts
 * the process, when the probe graph's bytes contain <text> (an op type).
 */
function probeHoldPoint(graph: Uint8Array): void {
  const hold = testHold(process.env);
  if ((hold?.name !== 'op-probe-hang' && hold?.name !== 'op-probe-crash') || hold.arg === undefined) return;
  if (!Buffer.from(graph.buffer, graph.byteOffset, graph.byteLength).includes(hold.arg)) return;
  if (hold.name === 'op-probe-crash') process.abort();
  for (;;) {
    // held until killed
  }
}

/**
 * One probe session, in this process: the op-probe child (op-probe-child.ts) calls it; probeOps without a
 * runner (unit tests) too.
 */
export async function probeBytes(model: Uint8Array, provider: string): Promise<ProbeResult> {
  probeHoldPoint(model);
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

/**
 * Runs probe graphs (in a child process: op-probe-runner.ts) and answers each, in order. A probe that times out or
 * crashes answers inconclusive.
 */
export type ProbeRunner = (graphs: readonly Uint8Array[], provider: string) => Promise<ProbeResult[]>;

export interface ProbeOptions {
  /** Folder for the on-disk cache (the data folder's cache); memory only when absent. */
  cacheDir?: string;
  /** Where the probes run: the studio passes a child-process runner; absent, this process (tests). */
  runner?: ProbeRunner;
}

async function inProcess(graphs: readonly Uint8Array[], provider: string): Promise<ProbeResult[]> {
  const out: ProbeResult[] = [];
  for (const g of graphs) out.push(await probeBytes(g, provider));
  return out;
}

/** Probe answers for every op, keyed by opKey(op); cached per onnxruntime version and provider. */
export async function probeOps(
  ops: readonly GraphOp[],
  opsets: ReadonlyMap<string, number>,
  provider: string,
  options: ProbeOptions = {},
): Promise<Map<string, ProbeResult>> {
  const { cache, file } = cacheOf(provider, options);
  const keys = ops.map((op) => {
    const model = probeModel(op, opsets);
    return { op, model, key: probeKey(model) };
  });
  // The uncached probe graphs, once each, in one batch for the runner.
  const todo = new Map<string, Buffer>();
  for (const k of keys) if (!cache.has(k.key) && !todo.has(k.key)) todo.set(k.key, k.model);
  const fresh = new Map<string, ProbeResult>();
  if (todo.size > 0) {
    const answers = await (options.runner ?? inProcess)([...todo.values()], provider);
    let changed = false;
    [...todo.keys()].forEach((key, i) => {
      const result: ProbeResult = answers[i] ?? { supported: true, inconclusive: true, detail: 'probe inconclusive: no answer' };
      fresh.set(key, result);
      if (!result.inconclusive) {
        cache.set(key, result);
        changed = true;
      }
    });
    if (changed) saveCache(cache, file);
  }
  const out = new Map<string, ProbeResult>();
  for (const k of keys) out.set(opKey(k.op), fresh.get(k.key) ?? (cache.get(k.key) as ProbeResult));
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
