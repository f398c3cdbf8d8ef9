// Job queue benchmark: jobs.submit and jobs.list with 1,000 queued jobs (goals: p95 ≤ 5 ms and
// ≤ 10 ms). Run: npx tsx scripts/bench/jobs.bench.ts [--jobs N] [--samples N]
//
// Method: a fresh data folder, StudioCore opened as the CLI opens it (runtime 'cli': the runner does not
// start, so every job stays queued and nothing competes with the measurement), calls through the real
// dispatcher (params validated with the contract's zod schemas, as both transports do). 1,000 jobs of 1–4
// seeds (some with a guidance axis) are submitted first; then N more submits are timed one by one, and N
// jobs.list pages of 50 (the first page, and pages further down by cursor), each including its counts per
// status. Wall-clock and CPU time (process.cpuUsage) are both printed: other processes share the 2 cores.
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { nodeAdapters } from '../../src-main/core/node-adapters';
import { StudioCore } from '../../src-main/core/studio';
import { createDispatcher } from '../../src-main/transport/dispatch';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const n = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

function stats(samples: number[]): { p50: number; p95: number; max: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { p50: at(0.5), p95: at(0.95), max: s[s.length - 1]! };
}

async function timed(fn: () => Promise<unknown>): Promise<[number, number]> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return [wall, (c.user + c.system) / 1000];
}

const fmt = (s: { p50: number; p95: number; max: number }) => `p50 ${s.p50.toFixed(2)} ms, p95 ${s.p95.toFixed(2)} ms, max ${s.max.toFixed(2)} ms`;

async function main(): Promise<void> {
  const jobs = arg('--jobs', 1000);
  const samples = arg('--samples', 300);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-bench-jobs-'));
  const env = { ...process.env, HF_HOME: path.join(dataDir, 'hf'), HF_ENDPOINT: 'http://127.0.0.1:9' };
  const core = await StudioCore.open({ dataDir, adapters: nodeAdapters(env), env, runtime: 'cli', appVersion: 'bench' });
  const dispatch = createDispatcher(core.api);
  let n = 0;
  const submit = () => {
    n++;
    const seeds = 1 + (n % 4);
    return dispatch('jobs.submit', {
      params: { prompt: `a lighthouse at dusk, oil painting, number ${n}`, negativePrompt: 'blurry', model: 'sd3.5-medium', steps: 28, guidance: 4.5, width: 1024, height: 1024, t5: true },
      sweep: n % 10 === 0 ? { seeds: { mode: 'random', count: 2 }, axis: { kind: 'guidance', values: [3, 4.5, 6] } } : { seeds: { mode: 'consecutive', first: String(1000 * n), count: seeds } },
    }).then((r) => {
      if (!r.ok) throw new Error(JSON.stringify(r.error));
    });
  };
  try {
    const t0 = performance.now();
    for (let i = 0; i < jobs; i++) await submit();
    const fillMs = performance.now() - t0;
    const gens = (core.db.prepare('SELECT count(*) AS n FROM generations').get() as { n: number }).n;
    console.log(`filled: ${jobs} queued jobs, ${gens} generations in ${fillMs.toFixed(0)} ms (${((jobs / fillMs) * 1000).toFixed(0)} submits/s); load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);

    const submitWall: number[] = [];
    const submitCpu: number[] = [];
    for (let i = 0; i < samples; i++) {
      const [w, c] = await timed(submit);
      submitWall.push(w);
      submitCpu.push(c);
    }
    console.log(`jobs.submit with ≥ ${jobs} queued (goal p95 ≤ 5 ms): wall ${fmt(stats(submitWall))}; CPU ${fmt(stats(submitCpu))}`);

    const firstWall: number[] = [];
    const deepWall: number[] = [];
    const listCpu: number[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < samples; i++) {
      const [w, c] = await timed(async () => {
        const r = await dispatch('jobs.list', { limit: 50 });
        if (!r.ok) throw new Error(JSON.stringify(r.error));
      });
      firstWall.push(w);
      listCpu.push(c);
      const [w2] = await timed(async () => {
        const r = await dispatch('jobs.list', { limit: 50, ...(cursor ? { cursor } : {}) });
        if (!r.ok) throw new Error(JSON.stringify(r.error));
        cursor = (r.result as { nextCursor: string | null }).nextCursor ?? undefined;
      });
      deepWall.push(w2);
    }
    console.log(`jobs.list first page of 50 + counts (goal p95 ≤ 10 ms): wall ${fmt(stats(firstWall))}; CPU ${fmt(stats(listCpu))}`);
    console.log(`jobs.list pages of 50 walked by cursor: wall ${fmt(stats(deepWall))}`);
  } finally {
    core.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
