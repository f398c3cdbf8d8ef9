// Two processes on one data folder: only the lock holder reconciles; a lock left by a killed
// process is stale and taken over (and marks an unclean shutdown).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { callApi, startServe, stop, type Served } from '../testing/processes';
import { removeTempDirs, tempDir } from '../testing/temp';
import { acquireLock, isProcessAlive } from './lock';

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
    const a = acquireLock(file, { pid: process.pid, hostname: 'h', startedAt: 1 });
    expect(a.primary).toBe(true);
    const b = acquireLock(file, { pid: process.pid + 1_000_000, hostname: 'h', startedAt: 2 });
    expect(b.primary).toBe(false);
    expect(b.owner?.pid).toBe(process.pid);
    a.release();
    expect(fs.existsSync(file)).toBe(false);
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

  it('two processes: only the holder reconciles; after the holder is killed the next one takes over', async () => {
    const dataDir = tempDir();
    const a = await startServe(dataDir);
    running.push(a);
    const b = await startServe(dataDir);
    running.push(b);
    const infoA = await callApi(a, 'system.info');
    const infoB = await callApi(b, 'system.info');
    expect((infoA.body.result as { primary: boolean }).primary).toBe(true);
    expect((infoB.body.result as { primary: boolean }).primary).toBe(false);
    // The secondary still reads and writes through short transactions.
    expect((await callApi(b, 'settings.set', { theme: 'light' })).body.ok).toBe(true);
    expect(((await callApi(a, 'settings.get')).body.result as { theme: string }).theme).toBe('light');

    const lines = logLines(dataDir);
    expect(lines.filter((l) => l.includes('reconcile: start')).every((l) => l.includes(`[${a.child.pid}]`))).toBe(true);
    expect(lines.some((l) => l.includes('reconcile: start') && l.includes(`[${a.child.pid}]`))).toBe(true);
    expect(lines.some((l) => l.includes('reconcile skipped') && l.includes(`[${b.child.pid}]`))).toBe(true);
    expect(lines.some((l) => l.includes('reconcile: start') && l.includes(`[${b.child.pid}]`))).toBe(false);

    await stop(a.child, 'SIGKILL');
    await stop(b.child, 'SIGTERM');
    const c = await startServe(dataDir);
    running.push(c);
    expect(((await callApi(c, 'system.info')).body.result as { primary: boolean }).primary).toBe(true);
    const opened = logLines(dataDir).find((l) => l.includes('data folder opened') && l.includes(`[${c.child.pid}]`));
    expect(opened).toContain('"uncleanShutdown":true');
    await stop(c.child, 'SIGTERM');
    expect(fs.existsSync(path.join(dataDir, 'studio.lock'))).toBe(false);
  });
});
