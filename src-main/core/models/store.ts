// The models room's rows: `models` (what is installed or being downloaded) and `downloads` (one
// row per file of a download: bytes on disk, expected hashes, the validator for If-Range).
// Short synchronous transactions; another process (a CLI call while the app runs) may share the file.
import type { ModelLayout } from '../../../src-shared/generation';
import type { Db } from '../db';

export type DownloadState = 'downloading' | 'paused' | 'failed';
export type FileState = 'pending' | 'verified' | 'installed';

export interface ModelRow {
  id: string;
  source: 'hub' | 'import';
  repo: string | null;
  revision: string | null;
  installedCommit: string | null;
  path: string | null;
  layout: ModelLayout | null;
  t5: boolean | null;
  sizeBytes: number | null;
  verifiedAt: number | null;
  downloadCommit: string | null;
  downloadT5: boolean | null;
  downloadState: DownloadState | null;
  errorCode: string | null;
  errorMessage: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface FileRow {
  modelId: string;
  commit: string;
  path: string;
  size: number;
  expectedSha256: string | null;
  gitOid: string | null;
  etag: string | null;
  bytesDone: number;
  sha256: string | null;
  state: FileState;
}

export interface PlannedFile {
  path: string;
  size: number;
  expectedSha256?: string;
  gitOid?: string;
}

interface RawModel {
  id: string;
  source: 'hub' | 'import';
  repo: string | null;
  revision: string | null;
  installed_commit: string | null;
  path: string | null;
  layout: ModelLayout | null;
  t5: number | null;
  size_bytes: number | null;
  verified_at: number | null;
  download_commit: string | null;
  download_t5: number | null;
  download_state: DownloadState | null;
  error_code: string | null;
  error_message: string | null;
  created_at: number;
  updated_at: number;
}

interface RawFile {
  model_id: string;
  commit_sha: string;
  path: string;
  size: number;
  expected_sha256: string | null;
  git_oid: string | null;
  etag: string | null;
  bytes_done: number;
  sha256: string | null;
  state: FileState;
}

const bool = (v: number | null): boolean | null => (v === null ? null : v === 1);
const int = (v: boolean | null | undefined): number | null => (v === null || v === undefined ? null : v ? 1 : 0);

function toModel(r: RawModel): ModelRow {
  return {
    id: r.id,
    source: r.source,
    repo: r.repo,
    revision: r.revision,
    installedCommit: r.installed_commit,
    path: r.path,
    layout: r.layout,
    t5: bool(r.t5),
    sizeBytes: r.size_bytes,
    verifiedAt: r.verified_at,
    downloadCommit: r.download_commit,
    downloadT5: bool(r.download_t5),
    downloadState: r.download_state,
    errorCode: r.error_code,
    errorMessage: r.error_message,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toFile(r: RawFile): FileRow {
  return {
    modelId: r.model_id,
    commit: r.commit_sha,
    path: r.path,
    size: r.size,
    expectedSha256: r.expected_sha256,
    gitOid: r.git_oid,
    etag: r.etag,
    bytesDone: r.bytes_done,
    sha256: r.sha256,
    state: r.state,
  };
}

export class ModelStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  get(id: string): ModelRow | undefined {
    const r = this.db.prepare('SELECT * FROM models WHERE id = ?').get(id) as RawModel | undefined;
    return r && toModel(r);
  }

  /** Case-insensitive lookup (repo ids are case-insensitive on the Hub). */
  find(id: string): ModelRow | undefined {
    const r = this.db.prepare('SELECT * FROM models WHERE id = ? COLLATE NOCASE ORDER BY id = ? DESC LIMIT 1').get(id, id) as RawModel | undefined;
    return r && toModel(r);
  }

  all(): ModelRow[] {
    return (this.db.prepare('SELECT * FROM models ORDER BY created_at, id').all() as RawModel[]).map(toModel);
  }

  /** Starts (or restarts) a download of `commit` for a hub model, creating the row if needed. */
  beginDownload(id: string, o: { repo: string; revision: string; commit: string; t5: boolean }): void {
    const t = this.now();
    this.db
      .prepare(
        `INSERT INTO models (id, source, repo, revision, download_commit, download_t5, download_state, created_at, updated_at)
         VALUES (@id, 'hub', @repo, @revision, @commit, @t5, 'downloading', @t, @t)
         ON CONFLICT(id) DO UPDATE SET repo = @repo, revision = @revision, download_commit = @commit, download_t5 = @t5,
           download_state = 'downloading', error_code = NULL, error_message = NULL, updated_at = @t`,
      )
      .run({ id, repo: o.repo, revision: o.revision, commit: o.commit, t5: int(o.t5), t });
  }

  setDownloadState(id: string, state: DownloadState, error?: { code: string; message: string }): void {
    this.db
      .prepare('UPDATE models SET download_state = ?, error_code = ?, error_message = ?, updated_at = ? WHERE id = ?')
      .run(state, error?.code ?? null, error?.message ?? null, this.now(), id);
  }

  /** Forgets the download (cancel): the row goes when nothing is installed. */
  clearDownload(id: string): void {
    const tx = this.db.transaction(() => {
      const row = this.get(id);
      if (!row) return;
      if (row.downloadCommit) {
        this.db.prepare("DELETE FROM downloads WHERE model_id = ? AND commit_sha = ? AND state != 'installed'").run(id, row.downloadCommit);
      }
      if (!row.installedCommit) {
        this.db.prepare('DELETE FROM models WHERE id = ?').run(id);
        return;
      }
      this.db
        .prepare(
          'UPDATE models SET download_commit = NULL, download_t5 = NULL, download_state = NULL, error_code = NULL, error_message = NULL, updated_at = ? WHERE id = ?',
        )
        .run(this.now(), id);
    });
    tx.immediate();
  }

  /** The download finished: the files of `commit` are installed at `path`; older commits' rows go. */
  markInstalled(id: string, o: { commit: string; path: string; layout: ModelLayout | null; t5: boolean; sizeBytes: number }): void {
    const t = this.now();
    const tx = this.db.transaction(() => {
      this.db
        .prepare(
          `UPDATE models SET installed_commit = @commit, path = @path, layout = @layout, t5 = @t5, size_bytes = @size, verified_at = @t,
             download_commit = NULL, download_t5 = NULL, download_state = NULL, error_code = NULL, error_message = NULL, updated_at = @t
           WHERE id = @id`,
        )
        .run({ id, commit: o.commit, path: o.path, layout: o.layout, t5: int(o.t5), size: o.sizeBytes, t });
      this.db.prepare("UPDATE downloads SET state = 'installed', updated_at = ? WHERE model_id = ? AND commit_sha = ?").run(t, id, o.commit);
      this.db.prepare('DELETE FROM downloads WHERE model_id = ? AND commit_sha != ?').run(id, o.commit);
    });
    tx.immediate();
  }

  insertImport(o: { id: string; path: string; layout: ModelLayout; t5: boolean; sizeBytes: number }): void {
    const t = this.now();
    this.db
      .prepare(
        `INSERT INTO models (id, source, path, layout, t5, size_bytes, created_at, updated_at)
         VALUES (@id, 'import', @path, @layout, @t5, @size, @t, @t)`,
      )
      .run({ id: o.id, path: o.path, layout: o.layout, t5: int(o.t5), size: o.sizeBytes, t });
  }

  setVerified(id: string, at: number | null): void {
    this.db.prepare('UPDATE models SET verified_at = ?, updated_at = ? WHERE id = ?').run(at, this.now(), id);
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM models WHERE id = ?').run(id);
  }

  /** The ids of models whose download was running when the process stopped. */
  interrupted(): ModelRow[] {
    return (this.db.prepare("SELECT * FROM models WHERE download_state = 'downloading' ORDER BY updated_at").all() as RawModel[]).map(toModel);
  }

  // ---- files --------------------------------------------------------------------------------

  files(id: string, commit: string): FileRow[] {
    return (this.db.prepare('SELECT * FROM downloads WHERE model_id = ? AND commit_sha = ? ORDER BY path').all(id, commit) as RawFile[]).map(toFile);
  }

  /**
   * Records the files a download of `commit` needs. Rows already there keep their progress when
   * the expected file is the same; rows of that commit not in the plan (and not installed) go.
   * Returns the rows of the plan.
   */
  plan(id: string, commit: string, planned: readonly PlannedFile[]): FileRow[] {
    const t = this.now();
    const tx = this.db.transaction(() => {
      const existing = new Map(this.files(id, commit).map((f) => [f.path, f]));
      const wanted = new Set(planned.map((p) => p.path));
      for (const f of existing.values()) {
        if (!wanted.has(f.path) && f.state !== 'installed') {
          this.db.prepare('DELETE FROM downloads WHERE model_id = ? AND commit_sha = ? AND path = ?').run(id, commit, f.path);
        }
      }
      const insert = this.db.prepare(
        `INSERT INTO downloads (model_id, commit_sha, path, size, expected_sha256, git_oid, state, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)`,
      );
      const reset = this.db.prepare(
        `UPDATE downloads SET size = ?, expected_sha256 = ?, git_oid = ?, etag = NULL, bytes_done = 0, sha256 = NULL, state = 'pending', updated_at = ?
         WHERE model_id = ? AND commit_sha = ? AND path = ?`,
      );
      for (const p of planned) {
        const old = existing.get(p.path);
        if (!old) {
          insert.run(id, commit, p.path, p.size, p.expectedSha256 ?? null, p.gitOid ?? null, t);
        } else if (old.size !== p.size || old.expectedSha256 !== (p.expectedSha256 ?? null) || old.gitOid !== (p.gitOid ?? null)) {
          reset.run(p.size, p.expectedSha256 ?? null, p.gitOid ?? null, t, id, commit, p.path);
        }
      }
    });
    tx.immediate();
    const rows = new Map(this.files(id, commit).map((f) => [f.path, f]));
    return planned.map((p) => rows.get(p.path)!).filter(Boolean);
  }

  saveProgress(id: string, commit: string, path: string, bytesDone: number, etag: string | null): void {
    this.db
      .prepare('UPDATE downloads SET bytes_done = ?, etag = ?, updated_at = ? WHERE model_id = ? AND commit_sha = ? AND path = ?')
      .run(bytesDone, etag, this.now(), id, commit, path);
  }

  markFileVerified(id: string, commit: string, path: string, sha256: string, size: number): void {
    this.db
      .prepare("UPDATE downloads SET state = 'verified', sha256 = ?, bytes_done = ?, updated_at = ? WHERE model_id = ? AND commit_sha = ? AND path = ?")
      .run(sha256, size, this.now(), id, commit, path);
  }

  resetFile(id: string, commit: string, path: string): void {
    this.db
      .prepare("UPDATE downloads SET bytes_done = 0, etag = NULL, sha256 = NULL, state = 'pending', updated_at = ? WHERE model_id = ? AND commit_sha = ? AND path = ?")
      .run(this.now(), id, commit, path);
  }
}
