// One supervision code path, two spawners: the same InferenceHost over child_process.fork (Node, the CLI)
// and over the utilityProcess adapter (electron/utility-worker.ts) bound to a fake utilityProcess with
// Electron's events and exit semantics (testing/fake-utility-process.ts), both running the real built
// worker on a tiny model: crash → worker_crashed with the reason → restart after the backoff → the next
// request succeeds; force stop delivers SIGKILL; start-up exits read the same; an OOM end reads as such.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../../e2e/support/tiny-model';
import type { WorkerSpawner } from './worker-process';
import { forkSpawner } from '../core/node-adapters';
import { createUtilitySpawner } from '../electron/utility-worker';
import { rejection } from '../testing/errors';
import { FakeElectronApp } from '../testing/fake-utility-process';
import { REPO } from '../testing/processes';
import { recordSpawns } from '../testing/spawn-log';
import { removeTempDirs, tempDir } from '../testing/temp';
import { InferenceHost, type HostGenerateRequest, type InferenceHostOptions } from './host';

const ENTRY = path.join(REPO, 'out', 'main', 'worker.js');
let model = '';
const hosts: InferenceHost[] = [];

function job(seed = '42'): HostGenerateRequest {
  return {
    folder: model,
    ep: 'cpu',
    memory: 'balanced',
    request: { prompt: 'a lighthouse at dusk', negativePrompt: 'blurry', seed, steps: 4, guidance: 4.5, width: 64, height: 64, t5: true },
  };
}

interface Case {
  name: string;
  transport: 'process' | 'parentPort';
  make(): { spawner: WorkerSpawner; app?: FakeElectronApp };
}

const CASES: Case[] = [
  { name: 'child_process.fork', transport: 'process', make: () => ({ spawner: forkSpawner }) },
  {
    name: 'utilityProcess (fake, child-process-gone after exit)',
    transport: 'parentPort',
    make: () => {
      const app = new FakeElectronApp();
      return { spawner: createUtilitySpawner(app.deps()), app };
    },
  },
  {
    name: 'utilityProcess (fake, child-process-gone before exit)',
    transport: 'parentPort',
    make: () => {
      const app = new FakeElectronApp();
      app.goneOrder = 'before-exit';
      return { spawner: createUtilitySpawner(app.deps()), app };
    },
  },
];

function makeHost(spawner: WorkerSpawner, options: Partial<InferenceHostOptions> = {}): InferenceHost {
  const host = new InferenceHost({ spawner, entry: ENTRY, threads: 1, env: { ...process.env, SD35_TEST_MODE: '1' }, log: () => undefined, ...options });
  hosts.push(host);
  return host;
}

beforeAll(async () => {
  expect(fs.existsSync(ENTRY), `${ENTRY} is built by the integration global setup`).toBe(true);
  model = path.join(tempDir('sd35-spawners-'), 'tiny');
  await writeTinyModel(model, { layout: 'optimum', io: 'fp32', size: 'micro' });
});

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.dispose()));
  removeTempDirs();
});

describe.each(CASES)('InferenceHost over $name', (c) => {
  it('generates; a crash mid-run fails the request with the reason; the worker restarts after the backoff and the next request succeeds', async () => {
    const spawns = recordSpawns(c.make().spawner);
    const host = makeHost(spawns.spawner, { env: { ...process.env, SD35_TEST_MODE: '1', SD35_TEST_HOLD: 'after-step:1' } });
    let killed: number | undefined;
    let killedAt = 0;
    const err = await rejection(
      host.generate(job(), {
        onStep: (s) => {
          if (s.step !== 1) return;
          expect(host.transport).toBe(c.transport);
          host.env = { ...process.env, SD35_TEST_MODE: '1' };
          killed = host.pid;
          killedAt = Date.now();
          process.kill(killed!, 'SIGKILL'); // what the kernel's OOM killer does
        },
      }),
    );
    expect(err.code).toBe('worker_crashed');
    expect(err.message).toMatch(/killed \(SIGKILL\) — the system may have run out of memory/);
    expect(err.details).toMatchObject({ signal: 'SIGKILL', exitCode: null, cause: 'killed' });
    expect(host.stats.lastBackoffMs).toBe(500);
    const next = await host.generate(job());
    // The 0.5 s backoff: the new worker was spawned no earlier than 0.5 s after the kill.
    expect(spawns.spawnedAt).toHaveLength(2);
    expect(spawns.spawnedAt[1]! - killedAt).toBeGreaterThanOrEqual(490);
    expect(next.rgb.length).toBe(64 * 64 * 3);
    expect(host.pid).not.toBe(killed);
    expect(host.transport).toBe(c.transport);
    expect(host.stats).toMatchObject({ spawns: 2, crashes: 1 });
  });

  it('force stop delivers SIGKILL; the request ends cancelled and the next runs on a new worker without backoff', async () => {
    const { spawner, app } = c.make();
    const host = makeHost(spawner);
    await host.generate(job());
    const pid = host.pid;
    const err = await rejection(
      host.generate(job(), {
        testHold: 'after-step:1',
        onStep: (s) => {
          if (s.step === 1) host.forceStop();
        },
      }),
    );
    expect(err.code).toBe('cancelled');
    await host.generate(job());
    expect(host.pid).not.toBe(pid);
    expect(host.stats).toMatchObject({ spawns: 2, crashes: 0, forceStops: 1, backoffWaits: 0 }); // no backoff after a force stop
    if (app) {
      expect(app.signalled).toEqual([{ pid, signal: 'SIGKILL' }]);
      expect(app.processes[0]!.osExit).toEqual({ code: null, signal: 'SIGKILL' });
    }
  });

  it('a worker that exits while starting reads "exited with code 3" and backs off', async () => {
    const spawns = recordSpawns(c.make().spawner);
    const exits = path.join(tempDir('sd35-exit-'), 'exits.js');
    fs.writeFileSync(exits, 'process.exit(3);\n');
    const host = makeHost(spawns.spawner, { entry: exits, backoff: { initialMs: 100, maxMs: 200 } });
    const e1 = await rejection(host.generate(job()));
    expect(e1.code).toBe('worker_crashed');
    expect(e1.message).toMatch(/while starting: it exited with code 3/);
    expect(e1.details).toMatchObject({ exitCode: 3, cause: 'abnormal-exit' });
    expect(host.stats.lastBackoffMs).toBe(100);
    await rejection(host.generate(job()));
    // The second worker was spawned at least the 100 ms backoff after the first (which exited after its spawn).
    expect(spawns.spawnedAt[1]! - spawns.spawnedAt[0]!).toBeGreaterThanOrEqual(95);
    expect(host.stats).toMatchObject({ spawns: 2, crashes: 2, lastBackoffMs: 200 });
  });

  it('dispose shuts the worker down gracefully', async () => {
    const { spawner } = c.make();
    // No shutdown deadline a busy machine could miss: the point is that the worker ends by itself, no SIGKILL.
    const host = makeHost(spawner, { shutdownTimeoutMs: 120_000 });
    await host.generate(job());
    const pid = host.pid!;
    await host.dispose();
    expect(host.stats.shutdownKills).toBe(0);
    expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe('InferenceHost over utilityProcess: child-process-gone reasons', () => {
  it('an out-of-memory end (reason oom) fails the request with "ran out of memory"', async () => {
    const app = new FakeElectronApp();
    app.forceGoneReason = 'oom';
    const host = makeHost(createUtilitySpawner(app.deps()), { env: { ...process.env, SD35_TEST_MODE: '1', SD35_TEST_HOLD: 'after-step:1' } });
    const err = await rejection(
      host.generate(job(), {
        onStep: (s) => {
          if (s.step === 1) process.kill(host.pid!, 'SIGKILL');
        },
      }),
    );
    expect(err.code).toBe('worker_crashed');
    expect(err.message).toMatch(/crashed during the generation: it ran out of memory/);
    expect(err.details).toMatchObject({ cause: 'oom', signal: 'SIGKILL' });
  });
});
