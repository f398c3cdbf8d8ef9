// The op probes in a short-lived child process (issue 18 §2): ort-probe.ts's ProbeRunner for the studio. A
// batch of one-node probe graphs goes to out/main/op-probe.js (op-probe-child.ts), started through the
// WorkerSpawner (a utility process in the app, child_process.fork under Node) with an empty temporary folder as
// its working directory (removed afterwards), so nothing a probe graph names can resolve to a file. The child
// answers graph by graph; each answer has `timeoutMs` to come. A probe that hangs (killed at its timeout) or
// crashes the child answers inconclusive — treated as supported for that graph and never cached — and the rest
// of the batch goes on in a new child, at most `maxChildren` children per batch (then the rest is inconclusive
// too), so a hostile graph costs a bounded number of processes and never blocks the caller's event loop.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { WorkerSpawner } from './worker-process';
import { describeWorkerExit } from './worker-exit';
import type { ProbeResult, ProbeRunner } from './ort-probe';

/** A probe graph is one node with the attributes copied: larger than this is not sent (inconclusive). */
export const MAX_PROBE_GRAPH_BYTES = 16 * 1024 * 1024;
/** At most this many graphs per batch: the distinct-op limit of a graph (onnx-graph.ts GRAPH_LIMITS) is 500. */
export const MAX_PROBE_BATCH = 1000;

const bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.byteLength <= MAX_PROBE_GRAPH_BYTES, { message: 'expected a probe graph' });

/** parent → child: the one request. */
export const probeRequestSchema = z
  .object({ type: z.literal('probe'), provider: z.string().min(1).max(32), graphs: z.array(bytes).max(MAX_PROBE_BATCH) })
  .strict();
export type ProbeRequest = z.infer<typeof probeRequestSchema>;

const probeResultSchema = z
  .object({ supported: z.boolean(), detail: z.string().max(2000).optional(), inconclusive: z.literal(true).optional() })
  .strict();

/** child → parent: ready for the request (onnxruntime loaded), then one answer per graph, in order. */
export const probeReadySchema = z.object({ type: z.literal('ready') }).strict();

export const probeAnswerSchema = z.object({ type: z.literal('answer'), index: z.number().int().nonnegative(), result: probeResultSchema }).strict();

/** out/main/op-probe.js beside the main bundle. */
export function defaultOpProbeEntry(dir: string = __dirname): string {
  const beside = path.join(dir, 'op-probe.js');
  if (!fs.existsSync(beside) && path.basename(dir) === 'chunks') return path.join(dir, '..', 'op-probe.js');
  return beside;
}

export interface OpProbeRunnerOptions {
  spawner: WorkerSpawner;
  /** The built child (default: op-probe.js beside this bundle). */
  entry?: string;
  /** The child's environment (default: process.env). SD35_TEST_MODE / SD35_TEST_HOLD pass through. */
  env?: NodeJS.ProcessEnv;
  /** How long each answer may take (default 30 s). */
  timeoutMs?: number;
  /** How long the child may take to load onnxruntime and say it is ready (default 60 s). */
  startTimeoutMs?: number;
  /** Children per batch that may hang or crash before the rest is answered inconclusive (default 3). */
  maxChildren?: number;
  /** Counts for tests and logs. */
  stats?: OpProbeStats;
}

export interface OpProbeStats {
  /** Children started. */
  children: number;
  /** Probes killed at their timeout. */
  timeouts: number;
  /** Children that ended before answering every graph given them. */
  crashes: number;
}

function inconclusive(why: string): ProbeResult {
  return { supported: true, inconclusive: true, detail: `probe inconclusive: ${why}` };
}

/** A ProbeRunner that runs every batch in short-lived children. */
export function createOpProbeRunner(options: OpProbeRunnerOptions): ProbeRunner {
  return (graphs, provider) => runProbes(graphs, provider, options);
}

export async function runProbes(graphs: readonly Uint8Array[], provider: string, options: OpProbeRunnerOptions): Promise<ProbeResult[]> {
  const results: (ProbeResult | undefined)[] = graphs.map((g) => (g.byteLength > MAX_PROBE_GRAPH_BYTES ? inconclusive('the probe graph is too large') : undefined));
  const entry = options.entry ?? defaultOpProbeEntry();
  let children = 0;
  for (;;) {
    const pending = results.flatMap((r, i) => (r === undefined ? [i] : []));
    if (pending.length === 0) break;
    if (children >= (options.maxChildren ?? 3) || !fs.existsSync(entry)) {
      const why = fs.existsSync(entry) ? 'earlier probes of this graph hung or crashed' : `the probe process is missing (${entry})`;
      for (const i of pending) results[i] = inconclusive(why);
      break;
    }
    children++;
    const batch = pending.slice(0, MAX_PROBE_BATCH);
    const answered = await runChild(batch.map((i) => graphs[i] as Uint8Array), provider, entry, options);
    answered.forEach((r, k) => (results[batch[k] as number] = r));
  }
  return results.map((r) => r ?? inconclusive('no answer'));
}

/**
 * One child for `graphs`: its answers in order; a shorter list when it hung (the hung graph is then answered
 * inconclusive, the rest are left for another child) or crashed (likewise). Settles once the child has ended and
 * its working directory is removed: a child that answered everything exits by itself (SIGKILL after 5 s if not),
 * one that hung or misbehaved is killed at once.
 */
function runChild(graphs: Uint8Array[], provider: string, entry: string, options: OpProbeRunnerOptions): Promise<ProbeResult[]> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-op-probe-'));
  const removeCwd = (): void => {
    try {
      fs.rmSync(cwd, { recursive: true, force: true });
    } catch {}
  };
  const answers: ProbeResult[] = [];
  if (options.stats) options.stats.children++;
  return new Promise((resolve) => {
    let done = false;
    let exited = false;
    let timer: NodeJS.Timeout | undefined;
    let handle: ReturnType<WorkerSpawner['spawn']>;
    try {
      handle = options.spawner.spawn(entry, { env: options.env ?? process.env, name: 'SD3.5 op probe', cwd });
    } catch (err) {
      removeCwd();
      resolve([inconclusive(`the probe process did not start: ${err instanceof Error ? err.message : String(err)}`)]);
      return;
    }
    const settle = (): void => {
      removeCwd();
      resolve(answers);
    };
    /** No more answers are taken: `last` answers the graph being probed (a hang, a crash…). */
    const finish = (last?: ProbeResult): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      if (last && answers.length < graphs.length) answers.push(last);
      if (exited) {
        settle();
        return;
      }
      if (last) handle.kill('SIGKILL');
      else {
        timer = setTimeout(() => handle.kill('SIGKILL'), 5_000);
        timer.unref();
      }
    };
    const arm = (ms: number, what: string): void => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        if (options.stats) options.stats.timeouts++;
        finish(inconclusive(`${what} within ${ms} ms (the probe process was stopped)`));
      }, ms);
      timer.unref();
    };
    let started = false;
    handle.onMessage((raw) => {
      if (done) return;
      if (!started) {
        started = probeReadySchema.safeParse(raw).success;
        if (!started) finish(inconclusive('the probe process sent a malformed answer'));
        else {
          arm(timeoutMs, 'no answer');
          handle.postMessage(probeRequestSchema.parse({ type: 'probe', provider, graphs }));
        }
        return;
      }
      const parsed = probeAnswerSchema.safeParse(raw);
      if (!parsed.success || parsed.data.index !== answers.length) {
        finish(inconclusive('the probe process sent a malformed answer'));
        return;
      }
      answers.push(parsed.data.result);
      if (answers.length === graphs.length) finish();
      else arm(timeoutMs, 'no answer');
    });
    handle.onExit((code, signal, cause) => {
      if (exited) return;
      exited = true;
      if (!done) {
        if (options.stats) options.stats.crashes++;
        finish(inconclusive(`the probe process stopped: ${describeWorkerExit(code, signal, cause)}`));
        return;
      }
      if (timer) clearTimeout(timer);
      settle();
    });
    arm(options.startTimeoutMs ?? 60_000, 'the probe process did not start');
  });
}
