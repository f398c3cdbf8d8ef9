// InferenceHost ⇄ the real worker process (out/main/worker.js, child_process.fork) on tiny ONNX models:
// generation end to end in both layouts with fp16 I/O, the warm second generation, the queue, cancel and
// force stop at a test hold point, SIGKILL mid-run → worker_crashed and a new worker, start-up failures,
// broken model folders, invalid parameters, malformed messages.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../../e2e/support/tiny-model';
import { StudioError } from '../../src-shared/errors';
import type { WorkerHandle, WorkerSpawner } from './worker-process';
import { readPngInfo } from '../formats/png';
import { forkSpawner } from '../core/node-adapters';
import { REPO } from '../testing/processes';
import { recordSpawns } from '../testing/spawn-log';
import { removeTempDirs, tempDir } from '../testing/temp';
import { InferenceHost, type HostGenerateRequest, type InferenceHostOptions, type LogLevel, type PreviewPng } from './host';
import { generationStepSchema, type GenerationStep } from '../../src-shared/progress';
import { ortVersion } from './ort-probe';
import type { GenerateRequest } from './pipeline';
import { rejection } from '../testing/errors';

const ENTRY = path.join(REPO, 'out', 'main', 'worker.js');

let root: string;
const models: Record<'optimum16' | 'tensorstack16' | 'missingFile' | 'wrongNames', string> = {
  optimum16: '',
  tensorstack16: '',
  missingFile: '',
  wrongNames: '',
};
const hosts: InferenceHost[] = [];

function request(over: Partial<GenerateRequest> = {}): GenerateRequest {
  return { prompt: 'a lighthouse at dusk', negativePrompt: 'blurry', seed: '42', steps: 4, guidance: 4.5, width: 64, height: 64, t5: true, ...over };
}

function job(folder: string, over: Partial<GenerateRequest> = {}, extra: Partial<HostGenerateRequest> = {}): HostGenerateRequest {
  return { folder, ep: 'cpu', memory: 'balanced', request: request(over), ...extra };
}

interface Logged {
  level: LogLevel;
  message: string;
}

function makeHost(options: Partial<InferenceHostOptions> = {}): { host: InferenceHost; logs: Logged[] } {
  const logs: Logged[] = [];
  const host = new InferenceHost({
    spawner: forkSpawner,
    entry: ENTRY,
    threads: 1,
    env: { ...process.env, SD35_TEST_MODE: '1' },
    log: (level, message) => logs.push({ level, message }),
    ...options,
  });
  hosts.push(host);
  return { host, logs };
}


function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

beforeAll(async () => {
  expect(fs.existsSync(ENTRY), `${ENTRY} is built by the integration global setup`).toBe(true);
  root = tempDir('sd35-host-');
  models.optimum16 = path.join(root, 'optimum16');
  models.tensorstack16 = path.join(root, 'tensorstack16');
  await writeTinyModel(models.optimum16, { layout: 'optimum', io: 'fp16', size: 'micro' });
  await writeTinyModel(models.tensorstack16, { layout: 'tensorstack', io: 'fp16', size: 'micro' });
  // A folder with a component missing.
  models.missingFile = path.join(root, 'missing-file');
  fs.cpSync(models.optimum16, models.missingFile, { recursive: true });
  fs.rmSync(path.join(models.missingFile, 'vae_decoder', 'model.onnx'));
  // A transformer whose pooled input has another name (same length, so the protobuf stays valid).
  models.wrongNames = path.join(root, 'wrong-names');
  fs.cpSync(models.optimum16, models.wrongNames, { recursive: true });
  const graph = path.join(models.wrongNames, 'transformer', 'model.onnx');
  const bytes = fs.readFileSync(graph);
  const from = Buffer.from('pooled_projections');
  const to = Buffer.from('pooled_projectionz');
  let at = bytes.indexOf(from);
  expect(at).toBeGreaterThan(-1);
  while (at !== -1) {
    to.copy(bytes, at);
    at = bytes.indexOf(from, at + 1);
  }
  fs.writeFileSync(graph, bytes);
});

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.dispose()));
  removeTempDirs();
});

describe('InferenceHost with the real worker', () => {
  it('generates end to end in both layouts with fp16 I/O, with steps and small previews', async () => {
    const { host } = makeHost();
    for (const [layout, folder, clipHidden] of [
      ['optimum', models.optimum16, 'penultimate'],
      ['tensorstack', models.tensorstack16, 'last'],
    ] as const) {
      // THE step shape arrives as declared (no extra fields), the preview beside it.
      const steps: (GenerationStep & { preview?: PreviewPng })[] = [];
      const loaded: string[] = [];
      const result = await host.generate(job(folder, {}, { previews: true }), {
        onStep: (s, preview) => steps.push({ ...generationStepSchema.parse(s), ...(preview ? { preview } : {}) }),
        onLoaded: (info) => loaded.push(`${info.layout} ${info.precision} ${info.ep}`),
      });
      expect(loaded).toEqual([`${layout} fp16 cpu`]);
      expect(steps.map((s) => `${s.step}/${s.total}`)).toEqual(['1/4', '2/4', '3/4', '4/4']);
      expect(steps.every((s, i) => i === 0 || s.elapsedMs >= steps[i - 1]!.elapsedMs)).toBe(true);
      // Throttled previews (at most ~10/s), always the first and the last, at the latent size.
      expect(steps[0]!.preview).toMatchObject({ width: 8, height: 8 });
      const png = readPngInfo(steps[3]!.preview!.png);
      expect([png.width, png.height]).toEqual([8, 8]);
      expect(result).toMatchObject({ width: 64, height: 64, ep: 'cpu', precision: 'fp16', clipHidden, t5: true, dropped: { clip: 0, t5: 0 } });
      expect(result.rgb).toBeInstanceOf(Uint8Array);
      expect(result.rgb.length).toBe(64 * 64 * 3);
      expect(new Set(result.rgb).size).toBeGreaterThan(10); // a picture, not a flat fill
      expect(result.timings.totalMs).toBeGreaterThan(0);
    }
    // Switching folders reloads: two loads on one worker.
    expect(host.stats).toMatchObject({ spawns: 1, loads: 2, crashes: 0 });
    // Without T5 (zeros in its place, as diffusers does): recorded in the result.
    const noT5 = await host.generate(job(models.tensorstack16, { t5: false }));
    expect(noT5.t5).toBe(false);
    expect(noT5.modelReused).toBe(true);
  });

  it('keeps the model warm: the second generation does not reload; same seed → same pixels, other seed → other pixels', async () => {
    const { host } = makeHost();
    const preloaded = await host.preload({ folder: models.optimum16, ep: 'cpu', memory: 'balanced' });
    expect(preloaded).toMatchObject({ reused: false, layout: 'optimum', precision: 'fp16', ep: 'cpu' });
    const first = await host.generate(job(models.optimum16));
    expect(first.modelReused).toBe(true);
    const pid = host.pid;
    const again = await host.generate(job(models.optimum16));
    expect(again.modelReused).toBe(true);
    expect(again.timings.loadMs).toBe(0);
    expect(host.stats).toMatchObject({ spawns: 1, loads: 1 });
    expect(host.pid).toBe(pid);
    expect(sameBytes(first.rgb, again.rgb)).toBe(true);
    const other = await host.generate(job(models.optimum16, { seed: '43' }));
    expect(sameBytes(first.rgb, other.rgb)).toBe(false);
    expect(host.stats.loads).toBe(1);
    // Another memory mode is another model instance: loaded again, same pixels.
    const fast = await host.generate(job(models.optimum16, {}, { memory: 'fast' }));
    expect(fast.modelReused).toBe(false);
    expect(sameBytes(first.rgb, fast.rgb)).toBe(true);
    await host.generate(job(models.optimum16, {}, { memory: 'fast' }));
    expect(host.stats.loads).toBe(2);
  });

  it('caches op-probe answers in the folder it is given (<data>/op-probes): a new worker reads them instead of probing', async () => {
    const cacheDir = path.join(root, 'op-probes');
    const { host } = makeHost({ probeCacheDir: cacheDir });
    await host.generate(job(models.optimum16, { steps: 1 }));
    await host.dispose();
    // v2 cache: keyed by the SHA-256 (32 hex) of each probe graph's bytes, never by an op's name.
    const name = `op-probes-v2-ort${ortVersion()}-cpu.json`;
    expect(fs.readdirSync(cacheDir)).toEqual([name]);
    const file = path.join(cacheDir, name);
    const answers = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, { supported: boolean; detail?: string }>;
    const keys = Object.keys(answers);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(keys.every((k) => answers[k]!.supported)).toBe(true);
    // Recorded "no kernel" answers (written here, never probed) reach a fresh worker: it refuses the model
    // naming its ops (MatMul among them) instead of probing again.
    for (const key of keys) answers[key] = { supported: false, detail: 'Could not find an implementation for this op (test)' };
    fs.writeFileSync(file, JSON.stringify(answers));
    const again = makeHost({ probeCacheDir: cacheDir }).host;
    const err = await rejection(again.generate(job(models.optimum16, { steps: 1 })));
    expect(err).toBeInstanceOf(StudioError);
    expect((err as StudioError).message).toMatch(/MatMul/);
    // Without the folder the worker probes for itself (memory only) and generates.
    const plain = makeHost().host;
    await expect(plain.generate(job(models.optimum16, { steps: 1 }))).resolves.toBeDefined();
  });

  it('runs jobs one at a time, in order; a queued job can be cancelled before it starts', async () => {
    const { host } = makeHost();
    const order: string[] = [];
    const a = host.generate(job(models.optimum16, { seed: '1' }), { onStart: () => order.push('a start') }).then((r) => {
      order.push('a done');
      return r;
    });
    const controller = new AbortController();
    const b = host.generate(job(models.optimum16, { seed: '2' }), { signal: controller.signal, onStart: () => order.push('b start') });
    const c = host.generate(job(models.optimum16, { seed: '3' }), { onStart: () => order.push('c start') }).then((r) => {
      order.push('c done');
      return r;
    });
    expect(host.queued).toBe(2);
    controller.abort();
    expect((await rejection(b)).code).toBe('cancelled');
    await Promise.all([a, c]);
    expect(order).toEqual(['a start', 'a done', 'c start', 'c done']);
    expect(host.busy).toBe(false);
  });

  it('cancels mid-run at the hold point (cancelled), and the same warm worker runs the next job', async () => {
    const { host } = makeHost();
    await host.generate(job(models.optimum16));
    const pid = host.pid;
    const controller = new AbortController();
    const steps: number[] = [];
    const err = await rejection(
      host.generate(job(models.optimum16), {
        signal: controller.signal,
        testHold: 'after-step:1',
        onStep: (s) => {
          steps.push(s.step);
          if (s.step === 1) controller.abort(); // the worker is held after step 1: no race
        },
      }),
    );
    expect(err.code).toBe('cancelled');
    expect(steps).toEqual([1]);
    // host.cancel() does the same for whatever runs.
    const steps2: number[] = [];
    const err2 = await rejection(
      host.generate(job(models.optimum16), {
        testHold: 'after-step:2',
        onStep: (s) => {
          steps2.push(s.step);
          if (s.step === 2) host.cancel();
        },
      }),
    );
    expect(err2.code).toBe('cancelled');
    expect(steps2).toEqual([1, 2]);
    const after = await host.generate(job(models.optimum16));
    expect(after.modelReused).toBe(true);
    expect(host.pid).toBe(pid);
    expect(host.stats).toMatchObject({ spawns: 1, loads: 1, crashes: 0 });
  });

  it('SIGKILL while held mid-run (SD35_TEST_HOLD in the env) → worker_crashed with the reason; the next job succeeds on a new worker', async () => {
    const spawns = recordSpawns(forkSpawner);
    const { host, logs } = makeHost({ spawner: spawns.spawner, env: { ...process.env, SD35_TEST_MODE: '1', SD35_TEST_HOLD: 'after-step:1' } });
    let killed: number | undefined;
    let killedAt = 0;
    const err = await rejection(
      host.generate(job(models.optimum16), {
        onStep: (s) => {
          if (s.step !== 1) return;
          host.env = { ...process.env, SD35_TEST_MODE: '1' }; // the next worker does not hold
          killed = host.pid;
          killedAt = Date.now();
          process.kill(killed!, 'SIGKILL');
        },
      }),
    );
    expect(err.code).toBe('worker_crashed');
    expect(err.message).toMatch(/SIGKILL/);
    expect(err.details).toMatchObject({ signal: 'SIGKILL', exitCode: null });
    expect(logs.some((l) => l.level === 'warn' && /stopped unexpectedly/.test(l.message))).toBe(true);
    expect(host.stats.lastBackoffMs).toBe(500);
    const next = await host.generate(job(models.optimum16));
    // Restarted after the 0.5 s backoff: the new worker was spawned no earlier than 0.5 s after the kill.
    expect(spawns.spawnedAt).toHaveLength(2);
    expect(spawns.spawnedAt[1]! - killedAt).toBeGreaterThanOrEqual(490);
    expect(next.rgb.length).toBe(64 * 64 * 3);
    expect(host.pid).not.toBe(killed);
    expect(host.stats).toMatchObject({ spawns: 2, crashes: 1, loads: 2 });
    // A success resets the backoff: another crash waits 0.5 s again, not 1 s.
    const err2 = await rejection(
      host.generate(job(models.optimum16), {
        testHold: 'after-step:1',
        onStep: (s) => {
          if (s.step === 1) process.kill(host.pid!, 'SIGKILL');
        },
      }),
    );
    expect(err2.code).toBe('worker_crashed');
    expect(host.stats.lastBackoffMs).toBe(500); // not 1 000: the success in between reset the streak
    await host.generate(job(models.optimum16));
    expect(host.stats).toMatchObject({ spawns: 3, crashes: 2, lastBackoffMs: 500 });
  });

  it('force stop kills a held worker: the job ends cancelled, the next runs on a new worker without backoff', async () => {
    const { host } = makeHost();
    await host.generate(job(models.optimum16));
    const pid = host.pid;
    const err = await rejection(
      host.generate(job(models.optimum16), {
        testHold: 'after-step:1',
        onStep: (s) => {
          if (s.step === 1) expect(host.forceStop()).toBe(true);
        },
      }),
    );
    expect(err.code).toBe('cancelled');
    expect(err.message).toMatch(/force-stopped/);
    const next = await host.generate(job(models.optimum16));
    expect(next.modelReused).toBe(false);
    expect(host.pid).not.toBe(pid);
    expect(host.stats).toMatchObject({ spawns: 2, crashes: 0, forceStops: 1 });
  });

  it('reports broken model folders and invalid parameters clearly, and the worker stays up', async () => {
    const { host } = makeHost();
    const missing = await rejection(host.generate(job(models.missingFile)));
    expect(missing.code).toBe('not_found');
    expect(missing.message).toContain('vae_decoder/model.onnx');
    expect(missing.message).toContain(models.missingFile);
    const pid = host.pid;
    const wrong = await rejection(host.generate(job(models.wrongNames)));
    expect(wrong.code).toBe('invalid_input');
    expect(wrong.message).toContain('transformer/model.onnx');
    expect(wrong.message).toMatch(/pooled/);
    const nowhere = await rejection(host.generate(job(path.join(root, 'no-such-model'))));
    expect(nowhere.code).toBe('not_found');
    for (const bad of [{ width: 65 }, { steps: 0 }, { guidance: 31 }, { seed: '-1' }, { width: 4096, height: 4096 }] as Partial<GenerateRequest>[]) {
      const e = await rejection(host.generate(job(models.optimum16, bad)));
      expect(e.code, JSON.stringify(bad)).toBe('invalid_input');
    }
    // Wrong types never reach the worker.
    const typed = await rejection(host.generate(job(models.optimum16, { steps: '4' as unknown as number })));
    expect(typed.code).toBe('invalid_input');
    const ep = await rejection(host.generate(job(models.optimum16, {}, { ep: 'tpu' as never })));
    expect(ep.code).toBe('invalid_input');
    expect(host.pid).toBe(pid);
    expect(host.stats.crashes).toBe(0);
    const ok = await host.generate(job(models.optimum16));
    expect(ok.width).toBe(64);
  });

  it('ignores malformed messages both ways', async () => {
    const handles: { handle: WorkerHandle; listeners: ((m: unknown) => void)[] }[] = [];
    const spawner: WorkerSpawner = {
      spawn(entry, options) {
        const handle = forkSpawner.spawn(entry, options);
        const entryRec = { handle, listeners: [] as ((m: unknown) => void)[] };
        handles.push(entryRec);
        return {
          get pid() {
            return handle.pid;
          },
          postMessage: (m) => handle.postMessage(m),
          onMessage: (listener) => {
            entryRec.listeners.push(listener);
            handle.onMessage(listener);
          },
          onExit: (listener) => handle.onExit(listener),
          kill: (signal) => handle.kill(signal),
        };
      },
    };
    const { host, logs } = makeHost({ spawner });
    const steps: number[] = [];
    const result = await host.generate(job(models.optimum16), {
      testHold: 'after-step:1',
      onStep: (s) => {
        steps.push(s.step);
        if (s.step !== 1) return;
        const { handle, listeners } = handles[0]!;
        // worker → host garbage, delivered to the host's listener
        for (const bad of [null, 'step', { type: 'step', requestId: 1, step: 'two', total: 4, elapsedMs: 1 }, { type: 'result', requestId: 1, rgb: [1, 2] }, { type: 'nope' }]) {
          listeners[0]!(bad);
        }
        // host → worker garbage (and a cancel for another job, which must not stop this one)
        handle.postMessage({ type: 'generate', requestId: 'x' });
        handle.postMessage({ type: 'cancel', requestId: 999 });
        handle.postMessage(42);
        // Messages arrive in order: the worker has dealt with those when it gets this cancel.
        host.cancel();
      },
    }).catch((err: unknown) => err);
    expect(result).toBeInstanceOf(StudioError);
    expect((result as StudioError).code).toBe('cancelled');
    expect(steps).toEqual([1]);
    const hostSide = logs.filter((l) => l.level === 'warn' && /Ignored a malformed .* from the inference worker/.test(l.message));
    expect(hostSide.length).toBe(5);
    const workerSide = logs.filter((l) => l.level === 'warn' && /worker: Ignored a malformed .* from the host/.test(l.message));
    expect(workerSide.length).toBe(2);
    expect(host.stats.crashes).toBe(0);
    const ok = await host.generate(job(models.optimum16));
    expect(ok.modelReused).toBe(true);
  });

  it('fails the job clearly when the worker cannot start, and backs off between restarts', async () => {
    const dir = tempDir('sd35-entry-');
    const exits = path.join(dir, 'exits.js');
    fs.writeFileSync(exits, 'process.exit(3);\n');
    const spawns = recordSpawns(forkSpawner);
    const { host } = makeHost({ spawner: spawns.spawner, entry: exits, backoff: { initialMs: 100, maxMs: 200 } });
    const e1 = await rejection(host.generate(job(models.optimum16)));
    expect(e1.code).toBe('worker_crashed');
    expect(e1.message).toMatch(/while starting: it exited with code 3/);
    expect(host.stats.lastBackoffMs).toBe(100);
    const e2 = await rejection(host.generate(job(models.optimum16)));
    expect(e2.code).toBe('worker_crashed');
    // The second worker was spawned at least the 100 ms backoff after the first (which exited after its spawn);
    // the backoff doubles for the next restart and is capped.
    expect(spawns.spawnedAt[1]! - spawns.spawnedAt[0]!).toBeGreaterThanOrEqual(95);
    expect(host.stats).toMatchObject({ spawns: 2, crashes: 2, lastBackoffMs: 200 });

    const silent = path.join(dir, 'silent.js');
    fs.writeFileSync(silent, 'setInterval(() => {}, 1000);\n');
    const quiet = makeHost({ entry: silent, startTimeoutMs: 300 }).host;
    const e3 = await rejection(quiet.generate(job(models.optimum16)));
    expect(e3.code).toBe('worker_crashed');
    expect(e3.message).toMatch(/did not report ready/);

    const absent = makeHost({ entry: path.join(dir, 'absent.js') }).host;
    const e4 = await rejection(absent.generate(job(models.optimum16)));
    expect(e4.code).toBe('unavailable');
    expect(e4.message).toContain('absent.js');
  });

  it('dispose shuts the worker down, interrupts running and queued jobs, and refuses new ones', async () => {
    // No shutdown deadline a busy machine could miss: the point is that the worker ends by itself, no SIGKILL.
    const { host, logs } = makeHost({ shutdownTimeoutMs: 120_000 });
    await host.generate(job(models.optimum16));
    const pid = host.pid!;
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const running = host.generate(job(models.optimum16), {
      testHold: 'after-step:1',
      onStep: (s) => {
        if (s.step === 1) release();
      },
    });
    const queued = host.generate(job(models.optimum16));
    const outcomes = [rejection(running), rejection(queued)]; // handled before dispose rejects them
    await held;
    await host.dispose();
    expect(host.stats.shutdownKills).toBe(0); // graceful, no SIGKILL needed
    expect(logs.some((l) => /ended \(.*code 0/.test(l.message))).toBe(true);
    expect((await Promise.all(outcomes)).map((e) => e.code)).toEqual(['interrupted', 'interrupted']);
    expect(() => process.kill(pid, 0)).toThrow();
    expect((await rejection(host.generate(job(models.optimum16)))).code).toBe('interrupted');
  });
});
