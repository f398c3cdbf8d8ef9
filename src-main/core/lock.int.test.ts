// Two processes on one data folder: only the lock holder reconciles; a lock left by a killed
// process is taken over (and marks an unclean shutdown); contenders never hold it together.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, REPO, callApi, startServe, stop, type Served } from '../testing/processes';
import { removeTempDirs, tempDir } from '../testing/temp';
import { acquireLock, isProcessAlive } from './lock';

const CONTENDER = path.join(REPO, 'src-main', 'testing', 'lock-contender.ts');

interface Contender {
  child: ChildProcess;
  result: Promise<{ primary: boolean; tookOverStale: boolean }>;
  ready: Promise<void>;
}

function contender(file: string): Contender {
  const child = spawn(process.execPath, ['--import', 'tsx', CONTENDER, file], { cwd: REPO, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  const result = new Promise<{ primary: boolean; tookOverStale: boolean }>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += String(d);
      if (out.includes('ready\n')) markReady();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line) as { primary: boolean; tookOverStale: boolean });
    });
    child.on('exit', (code) => reject(new Error(`contender exited with ${code}`)));
  });
  result.catch(() => undefined);
  return { child, result, ready };
}

async function killAll(cs: Contender[]): Promise<void> {
  for (const c of cs) await stop(c.child, 'SIGKILL');
}

const running: Served[] = [];
afterAll(async () => {
  for (const s of running) await stop(s.child, 'SIGKILL');
  removeTempDirs();
});

function logLines(dataDir: string): string[] {
  return fs.readFileSync(path.join(dataDir, 'logs', 'studio.log'), 'utf8').split('\n');
}

describe('studio.lock', () => {
  it('in-process: first acquirer is primary, a live owner keeps it, release frees it', () => {
    const file = path.join(tempDir(), 'studio.lock');
    const a = acquireLock(file, { self: { pid: process.pid, hostname: 'h', startedAt: 1 } });
    expect(a.primary).toBe(true);
    const b = acquireLock(file, { self: { pid: process.pid + 1_000_000, hostname: 'h', startedAt: 2 } });
    expect(b.primary).toBe(false);
    expect(b.owner?.pid).toBe(process.pid);
    a.release();
    expect(fs.existsSync(file)).toBe(false);
    const c = acquireLock(file, { self: { pid: process.pid + 1_000_000, hostname: 'h', startedAt: 3 } });
    expect(c.primary).toBe(true);
    expect(c.tookOverStale).toBe(false);
    c.release();
  });

  it('takes over a stale lock (dead pid) and says so', () => {
    const file = path.join(tempDir(), 'studio.lock');
    let dead = 4_000_000;
    while (isProcessAlive(dead)) dead++;
    fs.writeFileSync(file, JSON.stringify({ pid: dead, hostname: require('node:os').hostname(), startedAt: 5 }));
    const lock = acquireLock(file);
    expect(lock.primary).toBe(true);
    expect(lock.tookOverStale).toBe(true);
    lock.release();
  });

  it('contenders that all see a stale lock never hold it together (6 processes, 4 rounds)', async () => {
    for (let round = 0; round < 4; round++) {
      const file = path.join(tempDir(), 'studio.lock');
      let dead = 4_000_000;
      while (isProcessAlive(dead)) dead++;
      fs.writeFileSync(file, JSON.stringify({ pid: dead, hostname: os.hostname(), startedAt: 5 }));
      const cs = Array.from({ length: 6 }, () => contender(file));
      try {
        await Promise.all(cs.map((c) => c.ready));
        for (const c of cs) c.child.stdin!.write('go\n');
        const results = await Promise.all(cs.map((c) => c.result));
        expect(results.filter((r) => r.primary)).toHaveLength(1);
      } finally {
        await killAll(cs);
      }
    }
  });

  it('a holder killed with SIGKILL leaves the lock to the next contender, which sees the unclean end', async () => {
    const file = path.join(tempDir(), 'studio.lock');
    const first = contender(file);
    const second = contender(file);
    try {
      await first.ready;
      first.child.stdin!.write('go\n');
      expect((await first.result).primary).toBe(true);
      await second.ready;
      await stop(first.child, 'SIGKILL');
      second.child.stdin!.write('go\n');
      expect(await second.result).toEqual({ primary: true, tookOverStale: true });
    } finally {
      await killAll([first, second]);
    }
  });

  it('a CLI beside serve is secondary: only the holder reconciles; after the holder is killed the next one takes over', async () => {
    const dataDir = tempDir();
    const a = await startServe(dataDir);
    running.push(a);
    expect(((await callApi(a, 'system.info')).body.result as { primary: boolean }).primary).toBe(true);
    // The secondary (a CLI call) still reads and writes through short transactions.
    const b = spawnSync(process.execPath, [CLI, 'history', 'list', '--json', '--data-dir', dataDir], { encoding: 'utf8' });
    expect(b.status).toBe(0);

    const lines = logLines(dataDir);
    expect(lines.filter((l) => l.includes('reconcile: start')).every((l) => l.includes(`[${a.child.pid}]`))).toBe(true);
    expect(lines.some((l) => l.includes('reconcile: start') && l.includes(`[${a.child.pid}]`))).toBe(true);
    expect(lines.some((l) => l.includes('reconcile skipped') && l.includes(`[${b.pid}]`))).toBe(true);

    await stop(a.child, 'SIGKILL');
    const c = await startServe(dataDir);
    running.push(c);
    expect(((await callApi(c, 'system.info')).body.result as { primary: boolean }).primary).toBe(true);
    const opened = logLines(dataDir).find((l) => l.includes('data folder opened') && l.includes(`[${c.child.pid}]`));
    expect(opened).toContain('"uncleanShutdown":true');
    await stop(c.child, 'SIGTERM');
    expect(fs.existsSync(path.join(dataDir, 'studio.lock'))).toBe(false);
  });

  it('a second serve on a held folder is refused with the reason (its jobs would never run); once the holder is gone, serve starts', async () => {
    const dataDir = tempDir();
    const a = await startServe(dataDir);
    running.push(a);
    const second = spawnSync(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', dataDir], { encoding: 'utf8', timeout: 60_000 });
    expect(second.status).toBe(1);
    expect(second.stdout).not.toContain('SD3.5 Studio: http');
    expect(second.stderr).toContain(`pid ${a.child.pid}`);
    expect(second.stderr).toMatch(/already serves this data folder/);
    await stop(a.child, 'SIGKILL');
    const c = await startServe(dataDir);
    running.push(c);
    expect(((await callApi(c, 'system.info')).body.result as { primary: boolean }).primary).toBe(true);
    await stop(c.child, 'SIGTERM');
  });
});
