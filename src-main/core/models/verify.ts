// `models verify`: every installed file of a download re-hashed against Hugging Face's hashes (the
// download's own hasher and read loop, hasher.ts); an imported folder gets the structure check.
import { progress } from '../../../src-shared/progress';
import type { ModelEventView, VerifyResult } from '../../../src-shared/schemas/models';
import { checkFolder } from '../../model-folder/layouts';
import { Hasher, hashFile } from './hasher';
import { safeJoin } from './staging-paths';
import type { FileRow, ModelRow } from './store';

/** Verify-progress events at most this often. */
const PROGRESS_EVERY_MS = 100;

/** An imported folder: is it still a complete model folder? */
export async function verifyImported(row: ModelRow & { path: string }): Promise<VerifyResult> {
  const check = await checkFolder(row.path);
  return {
    id: row.id,
    ok: check.ok,
    method: 'structure',
    files: check.files.map((f) => ({ path: f, size: 0, ok: !check.problems.some((p) => p.startsWith(f)) })),
    problems: check.ok ? [] : check.problems,
  };
}

/** A downloaded model: each installed file's size and sha256 (or git blob sha1) against the recorded ones. */
export async function verifyDownloaded(
  row: ModelRow & { path: string },
  files: readonly FileRow[],
  emit: (event: Extract<ModelEventView, { type: 'verify-progress' }>) => void,
): Promise<VerifyResult> {
  const totalBytes = files.reduce((s, f) => s + f.size, 0);
  let doneBytes = 0;
  let lastEmit = 0;
  const started = Date.now();
  const out: VerifyResult['files'] = [];
  for (const f of files) {
    // The git blob sha1 only when Hugging Face lists no sha256 (small git files).
    const hasher = new Hasher({ size: f.size, gitOid: f.expectedSha256 ? null : f.gitOid });
    let size: number;
    try {
      size = await hashFile(safeJoin(row.path, f.path), hasher, {
        onBytes: (n) => {
          doneBytes += n;
          const now = Date.now();
          if (now - lastEmit < PROGRESS_EVERY_MS) return;
          lastEmit = now;
          const rate = now > started ? (doneBytes * 1000) / (now - started) : null;
          const etaMs = rate ? Math.round(((totalBytes - doneBytes) / rate) * 1000) : null;
          emit({ type: 'verify-progress', id: row.id, progress: progress('verify', { status: 'running', done: doneBytes, total: totalBytes, rate, etaMs, label: f.path }) });
        },
      });
    } catch {
      out.push({ path: f.path, size: 0, ok: false, problem: `${f.path} is missing` });
      continue;
    }
    const digest = await hasher.digest();
    let problem: string | undefined;
    if (size !== f.size) problem = `${f.path} is ${size} bytes; Hugging Face lists ${f.size}`;
    else if (f.expectedSha256 && digest.sha256 !== f.expectedSha256) problem = `${f.path} has sha256 ${digest.sha256}; Hugging Face lists ${f.expectedSha256}`;
    else if (!f.expectedSha256 && f.gitOid && digest.gitOid !== f.gitOid) problem = `${f.path} does not match its git hash ${f.gitOid}`;
    out.push({ path: f.path, size, sha256: digest.sha256, ok: !problem, ...(problem ? { problem } : {}) });
  }
  emit({ type: 'verify-progress', id: row.id, progress: progress('verify', { status: 'done', done: totalBytes, total: totalBytes }) });
  const problems = out.filter((f) => !f.ok).map((f) => f.problem!);
  if (files.length === 0) problems.push(`No downloaded files are recorded for ${row.id}; download it again.`);
  return { id: row.id, ok: problems.length === 0, method: 'hashes', files: out, problems };
}
