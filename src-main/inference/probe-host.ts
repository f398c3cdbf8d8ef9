// Runs the provider check (probe.ts) in its own short-lived process through the WorkerSpawner and validates
// its one message; a check that crashes or hangs reports why instead of taking the caller down.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { providerStatusSchema, type ProviderStatus } from '../../src-shared/api';
import type { WorkerSpawner } from './worker-process';
import { describeWorkerExit } from './worker-exit';

const probeMessageSchema = z.object({ type: z.literal('providers'), providers: z.array(providerStatusSchema).max(16) }).strict();

/** probe.js beside the main bundle (out/main). */
export function defaultProbeEntry(dir: string = __dirname): string {
  const beside = path.join(dir, 'probe.js');
  if (!fs.existsSync(beside) && path.basename(dir) === 'chunks') return path.join(dir, '..', 'probe.js');
  return beside;
}

export function runProviderProbe(
  spawner: WorkerSpawner,
  options: { entry?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<ProviderStatus[]> {
  const entry = options.entry ?? defaultProbeEntry();
  const failed = (why: string): ProviderStatus[] => [{ name: 'cpu', status: 'failed', error: `The execution-provider check ${why}.` }];
  if (!fs.existsSync(entry)) return Promise.resolve(failed(`is missing (${entry})`));
  return new Promise((resolve) => {
    let done = false;
    const finish = (result: ProviderStatus[]): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(result);
    };
    const handle = spawner.spawn(entry, { env: options.env ?? process.env, name: 'SD3.5 provider check' });
    const timer = setTimeout(() => {
      handle.kill('SIGKILL');
      finish(failed(`did not answer within ${options.timeoutMs ?? 60_000} ms`));
    }, options.timeoutMs ?? 60_000);
    timer.unref();
    handle.onMessage((raw) => {
      const parsed = probeMessageSchema.safeParse(raw);
      finish(parsed.success ? parsed.data.providers : failed('sent a malformed answer'));
    });
    handle.onExit((code, signal, cause) => finish(failed(`stopped: ${describeWorkerExit(code, signal, cause)}`)));
  });
}
