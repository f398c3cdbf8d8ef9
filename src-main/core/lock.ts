// studio.lock: which process owns the data folder (runs the job queue and the reconcile pass).
// Holds { pid, hostname, startedAt }. A lock whose process is gone is stale: it is taken over,
// and a stale lock means the last owner did not exit cleanly (→ integrity check).
import fs from 'node:fs';
import os from 'node:os';

export interface LockInfo {
  pid: number;
  hostname: string;
  startedAt: number;
}

export interface LockResult {
  primary: boolean;
  /** The owner when we are not primary. */
  owner?: LockInfo;
  /** True when we took over a lock left by a process that is gone (an unclean shutdown). */
  tookOverStale: boolean;
  release(): void;
}

export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(file: string): LockInfo | undefined {
  try {
    const data = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<LockInfo>;
    if (typeof data.pid === 'number' && typeof data.hostname === 'string') {
      return { pid: data.pid, hostname: data.hostname, startedAt: Number(data.startedAt) || 0 };
    }
  } catch {
    // unreadable or half-written: treated as stale
  }
  return undefined;
}

export function acquireLock(file: string, self: LockInfo = { pid: process.pid, hostname: os.hostname(), startedAt: Date.now() }): LockResult {
  let tookOverStale = false;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx', 0o644);
      fs.writeFileSync(fd, JSON.stringify(self));
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      let released = false;
      return {
        primary: true,
        tookOverStale,
        release() {
          if (released) return;
          released = true;
          const current = readLock(file);
          if (current && current.pid === self.pid && current.startedAt === self.startedAt) fs.rmSync(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = readLock(file);
    const sameHost = owner?.hostname === self.hostname;
    if (owner && (!sameHost || isProcessAlive(owner.pid)) && owner.pid !== self.pid) {
      // Alive here, or on another machine sharing the folder (cannot check: assume alive).
      return { primary: false, owner, tookOverStale: false, release: () => undefined };
    }
    // Stale: remove and try again (another process may win the race; then we are secondary).
    fs.rmSync(file, { force: true });
    tookOverStale = true;
  }
  return { primary: false, tookOverStale: false, release: () => undefined };
}
