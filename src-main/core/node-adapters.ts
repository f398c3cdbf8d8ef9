// The plain-Node twins of the Electron adapters (CLI, `serve`, tests).
import { fork } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Adapters, SecretStore } from './adapters';
import type { WorkerHandle, WorkerSpawner } from '../inference/worker-process';
import { causeOfNodeExit } from '../inference/worker-exit';

export const forkSpawner: WorkerSpawner = {
  spawn(entry, { env, args = [], cwd }): WorkerHandle {
    const child = fork(entry, args, { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced', ...(cwd !== undefined ? { cwd } : {}) });
    return {
      get pid() {
        return child.pid;
      },
      postMessage(message) {
        if (child.connected) child.send(message as object);
      },
      onMessage(listener) {
        child.on('message', listener);
      },
      onExit(listener) {
        child.on('exit', (code, signal) => listener(code, signal, causeOfNodeExit(code, signal)));
      },
      kill(signal = 'SIGTERM') {
        child.kill(signal);
      },
    };
  },
};

/** Hugging Face's own token file: $HF_HOME/token, default ~/.cache/huggingface/token. */
export function hfTokenFile(env: NodeJS.ProcessEnv = process.env): string {
  const hfHome = env.HF_HOME || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'huggingface');
  return path.join(hfHome, 'token');
}

/**
 * Under plain Node the only secret is the Hugging Face token, kept where `huggingface-cli login`
 * keeps it (mode 0600), so the CLI and Hugging Face's own tools share one login.
 */
export function hfTokenFileStore(env: NodeJS.ProcessEnv = process.env): SecretStore {
  const file = () => hfTokenFile(env);
  return {
    description: 'Hugging Face token file',
    get sharedFile() {
      return file();
    },
    warning: () => undefined,
    async get(name) {
      if (name !== 'hf_token') return undefined;
      try {
        const value = (await fs.promises.readFile(file(), 'utf8')).trim();
        return value || undefined;
      } catch {
        return undefined;
      }
    },
    async set(name, value) {
      if (name !== 'hf_token') throw new Error(`Unknown secret ${name}`);
      // A temporary file made 0600 and renamed over: an existing 0644 token file is not kept world-readable.
      const target = file();
      await fs.promises.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
      const temp = `${target}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`;
      try {
        const fh = await fs.promises.open(temp, 'wx', 0o600);
        try {
          await fh.chmod(0o600);
          await fh.writeFile(value);
          await fh.sync();
        } finally {
          await fh.close();
        }
        await fs.promises.rename(temp, target);
      } catch (err) {
        await fs.promises.rm(temp, { force: true });
        throw err;
      }
    },
    async delete(name) {
      if (name !== 'hf_token') return;
      await fs.promises.rm(file(), { force: true });
    },
  };
}

export function nodeAdapters(env: NodeJS.ProcessEnv = process.env): Adapters {
  return {
    spawner: forkSpawner,
    secrets: hfTokenFileStore(env),
    notifier: { notify: () => undefined },
    power: { block: () => () => undefined },
    files: { reveal: () => false },
  };
}
