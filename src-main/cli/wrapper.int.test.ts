// scripts/cli.mjs (`npm run -s cli`): stopping the wrapper stops the server (lock released, port closed),
// and relative paths resolve against the folder the command was typed in (INIT_CWD).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../core/lock';
import { REPO } from '../testing/processes';
import { removeTempDirs, tempDir } from '../testing/temp';

afterAll(removeTempDirs);

const WRAPPER = path.join(REPO, 'scripts', 'cli.mjs');
// The build is the global setup's job; the wrapper must not rebuild under the test.
const ENV = { ...process.env, SD35_CLI_NO_REBUILD: '1' };

function waitForUrl(child: ChildProcess): Promise<number> {
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += String(d)));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += String(d);
      const m = /SD3\.5 Studio: http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`serve exited early with ${code}: ${err}`)));
  });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Waits (bounded) for a process that is shutting down to be gone. */
async function gone(pid: number): Promise<void> {
  for (let i = 0; i < 100 && isProcessAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function stopsCleanly(command: string, args: string[], signal: NodeJS.Signals, expectedExit: { code: number | null; signal: NodeJS.Signals | null }): Promise<void> {
  const dir = tempDir();
  const child = spawn(command, [...args, 'serve', '--port', '0', '--data-dir', dir], { cwd: REPO, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let owner: { pid: number } | undefined;
  try {
    const port = await waitForUrl(child);
    const lockFile = path.join(dir, 'studio.lock');
    owner = JSON.parse(fs.readFileSync(lockFile, 'utf8')) as { pid: number };
    expect(isProcessAlive(owner.pid)).toBe(true);
    expect(await portOpen(port)).toBe(true);

    child.kill(signal); // to the wrapper (or to npm) only, as a script or service manager does
    expect(await exited(child)).toEqual(expectedExit);
    await gone(owner.pid);
    expect(fs.existsSync(lockFile)).toBe(false);
    expect(isProcessAlive(owner.pid)).toBe(false);
    expect(await portOpen(port)).toBe(false);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (owner && isProcessAlive(owner.pid)) process.kill(owner.pid, 'SIGKILL');
  }
}

describe('scripts/cli.mjs', () => {
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    it(`stops the server and releases studio.lock on ${signal} to the wrapper`, async () => {
      await stopsCleanly(process.execPath, [WRAPPER], signal, { code: 0, signal: null });
    });
  }

  it('stops the server when `npm run -s cli -- serve` is stopped with SIGTERM', async () => {
    // npm re-raises the signal on itself once its shell is gone; where the shell is dash it does not pass the
    // signal on, and the wrapper notices its parent is gone.
    await stopsCleanly('npm', ['run', '-s', 'cli', '--'], 'SIGTERM', { code: null, signal: 'SIGTERM' });
  });

  it('resolves `models import ./folder` against the folder npm was run in (INIT_CWD)', () => {
    const here = tempDir();
    const data = tempDir();
    const r = spawnSync('npm', ['--prefix', REPO, 'run', '-s', 'cli', '--', 'models', 'import', './my-model', '--json', '--data-dir', data], {
      cwd: here,
      env: ENV,
      encoding: 'utf8',
    });
    const error = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { error: { message: string } };
    expect(error.error.message).toContain(path.join(here, 'my-model'));
    expect(error.error.message).not.toContain(path.join(REPO, 'my-model'));
  });
});
