// The inference worker never sees HF_TOKEN or any other HF_* variable: it parses
// untrusted ONNX files with native code and needs no Hugging Face setting.
import { describe, expect, it } from 'vitest';
import type { WorkerExitCause, WorkerHandle, WorkerSpawner } from './worker-process';
import { InferenceHost } from './host';

describe('the inference worker environment', () => {
  it('has no HF_* variables, and keeps the rest', async () => {
    const seen: NodeJS.ProcessEnv[] = [];
    const spawner: WorkerSpawner = {
      spawn(_entry, options) {
        seen.push(options.env);
        const exits: ((code: number | null, signal: string | null, cause: WorkerExitCause) => void)[] = [];
        const handle: WorkerHandle = {
          pid: 4242,
          postMessage: () => undefined,
          onMessage: () => undefined,
          onExit: (l) => void exits.push(l),
          kill: () => void setImmediate(() => exits.forEach((l) => l(null, 'SIGKILL', 'killed'))),
        };
        return handle;
      },
    };
    const env = { HF_TOKEN: 'hf_SecretTokenValue', HF_HOME: '/tmp/hf', HF_ENDPOINT: 'http://mirror', HUGGING_FACE_HUB_TOKEN: 'hf_Old', PATH: '/usr/bin', SD35_TEST_MODE: '1' };
    const host = new InferenceHost({ spawner, entry: import.meta.filename, env, startTimeoutMs: 60_000, shutdownTimeoutMs: 10, log: () => undefined });
    const pending = host.preload({ folder: '/nowhere', ep: 'cpu', memory: 'balanced' } as never);
    pending.catch(() => undefined);
    await Promise.resolve();
    expect(seen).toHaveLength(1);
    const keys = Object.keys(seen[0]!);
    expect(keys.filter((k) => /^HF_|^HUGGING/i.test(k))).toEqual([]);
    expect(seen[0]).toMatchObject({ PATH: '/usr/bin', SD35_TEST_MODE: '1' });
    expect(JSON.stringify(seen[0])).not.toContain('hf_SecretTokenValue');
    await host.dispose().catch(() => undefined);
  });
});
