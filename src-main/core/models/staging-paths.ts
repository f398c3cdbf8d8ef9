// Where a download's files live on disk: `<staging>/<path>.part` while fetched, `<staging>/<path>`
// once verified. Every repo path is joined through safeJoin (a hostile tree listing cannot escape).
import path from 'node:path';
import { StudioError } from '../../../src-shared/errors';

export function partPath(stagingDir: string, file: string): string {
  return safeJoin(stagingDir, file) + '.part';
}

export function stagedPath(stagingDir: string, file: string): string {
  return safeJoin(stagingDir, file);
}

/** Joins a repo path under a folder, refusing absolute paths and `..` (a hostile tree listing). */
export function safeJoin(dir: string, file: string): string {
  const parts = file.split('/');
  if (file === '' || path.isAbsolute(file) || parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\\'))) {
    throw new StudioError('invalid_input', `Refusing the file path "${file}" from the repository listing.`);
  }
  return path.join(dir, ...parts);
}
