// Image files on disk: where an id lives, and the crash-safe write (tmp → fsync → rename → fsync dir).
import fs from 'node:fs';
import path from 'node:path';
import { formatBytes } from '../../../src-shared/bytes';
import { StudioError } from '../../../src-shared/errors';

/** images/YYYY/MM/<id>.png (UTC month of createdAt), relative to the data folder, forward slashes. */
export function imageRelPath(id: number, createdAt: number): string {
  const d = new Date(createdAt);
  const yyyy = String(d.getUTCFullYear()).padStart(4, '0');
  const mm = String(d.getUTCMonth() + 1).padStart(2, '0');
  return `images/${yyyy}/${mm}/${id}.png`;
}

/** trash/<id>.png, relative to the data folder. */
export function trashRelPath(id: number): string {
  return `trash/${id}.png`;
}

export function toAbs(dataDir: string, rel: string): string {
  return path.join(dataDir, ...rel.split('/'));
}

/** The temporary name a file is written under before its rename: `.<name>.tmp` beside it. */
export function tmpPathFor(finalAbs: string): string {
  return path.join(path.dirname(finalAbs), `.${path.basename(finalAbs)}.tmp`);
}

export const TMP_FILE_RE = /^\..+\.tmp$/;
/** A file name of the images tree that we wrote: <id>.png. */
export const IMAGE_FILE_RE = /^([1-9][0-9]{0,15})\.png$/;

/**
 * Writes `data` into a NEW file and flushes it to disk (fsync) before returning. Injected in tests to
 * simulate a full disk; the default never overwrites an existing file.
 */
export type FileWriter = (file: string, data: Uint8Array) => Promise<void>;

export const defaultWriter: FileWriter = async (file, data) => {
  const handle = await fs.promises.open(file, 'wx', 0o600);
  try {
    let offset = 0;
    while (offset < data.byteLength) {
      const { bytesWritten } = await handle.write(data, offset, data.byteLength - offset);
      offset += bytesWritten;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
};

/** fsync a directory so a rename inside it is durable. A no-op where directories cannot be opened (Windows). */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') throw err;
  } finally {
    await handle?.close();
  }
}

export function isDiskFull(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const code = (err as { code?: unknown }).code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL';
}

export function diskFullError(what: string, where: string, bytes?: number): StudioError {
  const size = bytes === undefined ? '' : ` (about ${formatBytes(bytes)})`;
  return new StudioError(
    'disk_full',
    `Not enough disk space to ${what}${size} in ${where}. Free some space on that disk (or empty the gallery's trash) and try again; nothing was saved.`,
    { where },
  );
}

export async function removeQuietly(file: string): Promise<void> {
  await fs.promises.rm(file, { force: true }).catch(() => undefined);
}

/** Rename that also works across devices (copy + fsync + unlink), for moves into or out of trash/. */
export async function moveFile(from: string, to: string): Promise<void> {
  await fs.promises.mkdir(path.dirname(to), { recursive: true, mode: 0o700 });
  try {
    await fs.promises.rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await fs.promises.copyFile(from, to, fs.constants.COPYFILE_EXCL);
    await fs.promises.unlink(from);
  }
}
