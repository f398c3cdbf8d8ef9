// integrityCheck: run after an unclean shutdown (no clean-exit marker), BEFORE StudioCore opens the
// database. `PRAGMA integrity_check`; on failure the damaged file and its -wal/-shm are moved aside
// to studio.db.corrupt-<timestamp>[-wal|-shm] (kept for recovery, never deleted) and a fresh database
// is created with every migration. A damaged search index alone (FTS5) is rebuilt in place.
// The returned message says what happened and what the user gets back; never silent.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openDatabase, type Migration } from '../db';

export interface IntegrityResult {
  /** True when the database was sound (or absent). */
  ok: boolean;
  /** For the user / the log; set whenever anything was found or done. */
  message?: string;
  /** The first problems integrity_check listed (or the open error). */
  problems: string[];
  /** Where the damaged database was moved (absolute path of the main file). */
  movedTo?: string;
  /** The FTS index was inconsistent with its content and was rebuilt. */
  ftsRebuilt: boolean;
  durationMs: number;
}

export interface IntegrityOptions {
  nativeBinding?: string;
  /** Migrations for the fresh database (default: all of them, as openDatabase does). */
  migrations?: readonly Migration[];
  now?: Date;
}

const MAX_PROBLEMS = 20;

export function integrityCheck(dbFile: string, options: IntegrityOptions = {}): IntegrityResult {
  const started = Date.now();
  const done = (r: Omit<IntegrityResult, 'durationMs'>): IntegrityResult => ({ ...r, durationMs: Date.now() - started });
  if (!fs.existsSync(dbFile)) return done({ ok: true, problems: [], ftsRebuilt: false });

  let problems: string[] = [];
  let ftsRebuilt = false;
  let db: Database.Database | undefined;
  const binding = options.nativeBinding ? { nativeBinding: options.nativeBinding } : {};
  try {
    // Read-only first: closing a read-write connection would checkpoint the -wal into a damaged
    // file (and delete it), losing what a recovery tool could still read from it.
    db = new Database(dbFile, { fileMustExist: true, readonly: true, ...binding });
    db.pragma('busy_timeout = 5000');
    const rows = db.prepare(`PRAGMA integrity_check(${MAX_PROBLEMS})`).all() as { integrity_check: string }[];
    const lines = rows.map((r) => r.integrity_check);
    if (!(lines.length === 1 && lines[0] === 'ok')) problems = lines;
    db.close();
    db = undefined;
    if (problems.length === 0) {
      // The file is sound: the FTS check is a (read-only) command that needs a writable connection.
      db = new Database(dbFile, { fileMustExist: true, ...binding });
      db.pragma('busy_timeout = 5000');
      if (!ftsConsistent(db)) {
        db.prepare(`INSERT INTO prompt_fts (prompt_fts) VALUES ('rebuild')`).run();
        ftsRebuilt = true;
      }
    }
  } catch (err) {
    // Only damage moves the file aside; anything else (read-only disk, locked, I/O) is the caller's.
    if (!isCorruption(err)) throw err;
    problems = [`${(err as { code?: string }).code ?? 'error'}: ${(err as Error).message}`];
  } finally {
    db?.close();
  }

  if (problems.length === 0) {
    return done(
      ftsRebuilt
        ? {
            ok: true,
            problems: [],
            ftsRebuilt,
            message: 'The gallery search index did not match the history after an unclean shutdown; it was rebuilt.',
          }
        : { ok: true, problems: [], ftsRebuilt },
    );
  }

  const movedTo = moveAside(dbFile, options.now ?? new Date());
  const fresh = openDatabase(dbFile, {
    ...(options.nativeBinding ? { nativeBinding: options.nativeBinding } : {}),
    ...(options.migrations ? { migrations: options.migrations } : {}),
  });
  fresh.close();
  const name = path.basename(dbFile);
  return done({
    ok: false,
    problems,
    ftsRebuilt: false,
    movedTo,
    message:
      `The database ${name} was damaged (${problems[0]}${problems.length > 1 ? `, and ${problems.length - 1} more problem(s)` : ''}). ` +
      `It was kept as ${path.basename(movedTo)} (with its -wal and -shm files, if any) and a new, empty database was created. ` +
      `Your image files are untouched: images made by SD3.5 Studio return to the gallery from their own metadata; ` +
      `images imported from other tools are listed after start-up and can be imported again. ` +
      `Settings are back to their defaults.`,
  });
}

/** False when the FTS index disagrees with the images it should hold. */
function ftsConsistent(db: Database.Database): boolean {
  const hasFts = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'prompt_fts'`).get();
  if (!hasFts) return true;
  try {
    // rank = 1: also compare the index against the external content (reads only).
    db.prepare(`INSERT INTO prompt_fts (prompt_fts, rank) VALUES ('integrity-check', 1)`).run();
    return true;
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (code.startsWith('SQLITE_CORRUPT')) return false;
    throw err;
  }
}

/** SQLite's own verdict that a file is damaged (the only reason to move a database aside). */
export function isCorruption(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}

function moveAside(dbFile: string, now: Date): string {
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  let target = `${dbFile}.corrupt-${stamp}`;
  for (let n = 2; fs.existsSync(target); n++) target = `${dbFile}.corrupt-${stamp}-${n}`;
  fs.renameSync(dbFile, target);
  for (const suffix of ['-wal', '-shm', '-journal']) {
    if (fs.existsSync(dbFile + suffix)) fs.renameSync(dbFile + suffix, target + suffix);
  }
  return target;
}
