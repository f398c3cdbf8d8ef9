// A process killed (SIGKILL) in the middle of a batch of saves — held at a named point, never by racing
// a timer — leaves a database that passes integrity_check, and the next start's reconcile leaves no
// orphans: no row without its file, no stray tmp file, files without rows adopted.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../e2e/support/fixtures';
import { removeTempDirs } from '../../testing/temp';
import { openDatabase } from '../db';
import { integrityCheck } from './integrity';
import { reconcile } from './reconcile';
import { HistoryService } from './service';
import { tempDataDir } from '../../testing/history/fixtures';

afterAll(removeTempDirs);

const SCRIPT = path.join(__dirname, '..', '..', 'testing', 'history', 'save-batch.ts');

interface Held {
  stdout: string;
}

/** Runs save-batch.ts until it prints the hold line, then SIGKILLs it. */
function runUntilHeld(dataDir: string, count: number, hold: string): Promise<Held> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, dataDir, String(count)], {
      cwd: REPO_ROOT,
      env: { ...process.env, SD35_TEST_MODE: '1', SD35_TEST_HOLD: hold },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let held = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the child never reached ${hold}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, 45_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!held && stderr.includes(`SD35_HOLD ${hold}\n`)) {
        held = true;
        child.kill('SIGKILL');
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (held && signal === 'SIGKILL') resolve({ stdout });
      else reject(new Error(`the child exited (${code ?? signal}) before the hold\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    });
  });
}

function walk(dir: string): string[] {
  return fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()) : [];
}

/** No row without its file, no file without its row, no tmp files. */
function expectNoOrphans(dataDir: string): void {
  const db = openDatabase(path.join(dataDir, 'studio.db'));
  try {
    const rows = db.prepare(`SELECT id, path FROM images WHERE deleted_at IS NULL`).all() as { id: number; path: string }[];
    for (const r of rows) expect(fs.existsSync(path.join(dataDir, r.path)), r.path).toBe(true);
    const files = walk(path.join(dataDir, 'images')).map((f) => `images/${f.split(path.sep).join('/')}`);
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(files.sort()).toEqual(rows.map((r) => r.path).sort());
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.pragma('foreign_key_check')).toEqual([]);
    db.prepare(`INSERT INTO prompt_fts (prompt_fts, rank) VALUES ('integrity-check', 1)`).run();
  } finally {
    db.close();
  }
}

describe('killed mid-batch, then reconciled on the next start', () => {
  it('held after 3 saves with the 4th image only a tmp file: the tmp goes, the 4th generation is interrupted', async () => {
    const dir = tempDataDir();
    const { stdout } = await runUntilHeld(dir, 6, 'save-after:3');
    const ids = /job ([\d,]+)/.exec(stdout)![1]!.split(',').map(Number);
    expect(stdout.match(/saved \d+/g)).toEqual(ids.slice(0, 3).map((id) => `saved ${id}`));
    const tmp = walk(path.join(dir, 'images')).filter((f) => f.endsWith('.tmp'));
    expect(tmp).toHaveLength(1); // the hold point really was between write and rename
    expect(path.basename(tmp[0]!)).toBe(`.${ids[3]}.png.tmp`);

    const check = integrityCheck(path.join(dir, 'studio.db'));
    expect(check).toMatchObject({ ok: true, problems: [] });

    const db = openDatabase(path.join(dir, 'studio.db'));
    const service = new HistoryService({ db, dataDir: dir });
    const report = await reconcile(service);
    expect(report.tmpRemoved).toEqual([`images/${tmp[0]!.split(path.sep).join('/')}`]);
    expect(report.interrupted).toEqual([ids[3]]);
    expect(report.adopted).toEqual([]);
    expect(report.missing).toEqual([]);
    const statuses = db.prepare(`SELECT id, status FROM generations ORDER BY id`).all();
    expect(statuses).toEqual([
      ...ids.slice(0, 3).map((id) => ({ id, status: 'done' })),
      { id: ids[3], status: 'interrupted' },
      { id: ids[4], status: 'queued' },
      { id: ids[5], status: 'queued' },
    ]);
    expect(service.query().total).toBe(3);
    db.close();
    expectNoOrphans(dir);
  });

  it('held after 2 saves with the 3rd file renamed but not recorded: the file is adopted into its generation', async () => {
    const dir = tempDataDir();
    const { stdout } = await runUntilHeld(dir, 5, 'save-after-rename:2');
    const ids = /job ([\d,]+)/.exec(stdout)![1]!.split(',').map(Number);
    expect(integrityCheck(path.join(dir, 'studio.db')).ok).toBe(true);

    const db = openDatabase(path.join(dir, 'studio.db'));
    expect(db.prepare(`SELECT count(*) AS n FROM images`).get()).toEqual({ n: 2 });
    const service = new HistoryService({ db, dataDir: dir });
    const report = await reconcile(service);
    expect(report.adopted).toEqual([ids[2]]);
    expect(report.interrupted).toEqual([]);
    expect(report.tmpRemoved).toEqual([]);
    expect(service.get(ids[2]!)).toMatchObject({ status: 'done', seed: '1002', prompt: 'a crash-test fox', jobId: expect.any(Number) });
    expect(service.get(ids[2]!).jobId).toBe(service.get(ids[0]!).jobId);
    expect(service.query({ search: 'crash' }).total).toBe(3);
    // The next id handed out is past everything on disk.
    const next = service.generations.createJob({ prompt: 'x', negativePrompt: '', steps: 1, guidance: 1, width: 8, height: 8, model: 'm' }, ['1'], service.now());
    expect(next.generationIds[0]).toBeGreaterThan(Math.max(...ids));
    db.close();
    expectNoOrphans(dir);
  });
});
