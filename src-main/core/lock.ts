// THE one lock between processes: the data folder's `studio.lock` (which process runs the job queue and the
// reconcile pass) and each download's lock use it.
//
// Mechanism: an OS file lock held by an open descriptor. `<file>.held` is a tiny SQLite file on which the holder
// keeps an EXCLUSIVE transaction open (SQLite takes fcntl/LockFileEx locks); the kernel drops the lock when the
// holder's descriptor closes, i.e. when the process ends in any way. There is no "stale" lock to take over, so two
// processes can never both hold it (the old pid-file takeover let several contenders that saw the same stale pid
// each remove the other's fresh file). `<file>` itself only describes the holder ({ pid, hostname, startedAt }):
// written by the holder after it got the OS lock, removed on a clean release; one left behind means the last holder
// did not exit cleanly (→ integrity check).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StudioError } from '../../src-shared/errors';

export interface LockInfo {
  pid: number;
  hostname: string;
  startedAt: number;
}

export interface LockResult {
  primary: boolean;
  /** The owner when we are not primary (when it has written its description yet). */
  owner?: LockInfo;
  /** True when the last holder left without releasing (an unclean shutdown). */
  tookOverStale: boolean;
  release(): void;
}

export interface LockOptions {
  /** How this process describes itself in `<file>` (default: its pid, host and now). */
  self?: LockInfo;
  /** better-sqlite3 .node built for this runtime (the Electron app passes its own build). */
  nativeBinding?: string;
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

export function readLock(file: string): LockInfo | undefined {
  try {
    const data = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<LockInfo>;
    if (typeof data.pid === 'number' && typeof data.hostname === 'string') {
      return { pid: data.pid, hostname: data.hostname, startedAt: Number(data.startedAt) || 0 };
    }
  } catch {
    // missing, unreadable or foreign: no description
  }
  return undefined;
}

/** The file whose OS lock is the lock (never deleted: a deleted file would let a second inode be locked). */
export function heldFileOf(file: string): string {
  return `${file}.held`;
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}

/**
 * Takes the lock if no live process holds it; never waits. Not primary: `owner` says who holds it.
 * Never open `<file>.held` with fs while holding it: closing any descriptor of a file drops the process's
 * POSIX locks on it.
 */
export function acquireLock(file: string, options: LockOptions = {}): LockResult {
  const self = options.self ?? { pid: process.pid, hostname: os.hostname(), startedAt: Date.now() };
  const held = heldFileOf(file);
  let db: Database.Database | undefined;
  try {
    db = new Database(held, { timeout: 0, ...(options.nativeBinding ? { nativeBinding: options.nativeBinding } : {}) });
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    db?.close();
    if (isBusy(err)) return { primary: false, owner: readLock(file), tookOverStale: false, release: () => undefined };
    const code = (err as { code?: string }).code ?? '';
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
      throw new StudioError('locked', `The lock file ${held} is damaged. Make sure no SD3.5 Studio process uses ${path.dirname(file)}, then delete that file.`);
    }
    throw err;
  }
  try {
    fs.chmodSync(held, 0o600);
  } catch {
    // not ours to change (another user's data folder): the lock still works
  }
  // A description left behind: its process ended without releasing (an unclean shutdown).
  const tookOverStale = fs.existsSync(file);
  writeDescription(file, self);
  let released = false;
  return {
    primary: true,
    tookOverStale,
    release() {
      if (released) return;
      released = true;
      try {
        fs.rmSync(file, { force: true });
      } finally {
        db.close();
      }
    },
  };
}

function writeDescription(file: string, self: LockInfo): void {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeFileSync(fd, JSON.stringify(self));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}
