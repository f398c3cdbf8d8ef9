// Gallery thumbnails: WebP, 256 or 512 px on the long side, cached as thumbs/<id>-<size>.webp and
// regenerated whenever missing (the folder is a disposable cache). sharp does the work on libuv's
// thread pool, off the main thread; a small queue (concurrency 2, the number of cores we plan for)
// keeps a scrolled gallery from queueing hundreds of decodes at once, and requests for the same
// thumbnail share one job. Files are written as .tmp and renamed, so a reader never sees half a file.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { StudioError } from '../../../src-shared/errors';

export const THUMB_SIZES = [256, 512] as const;
export type ThumbSize = (typeof THUMB_SIZES)[number];

export function isThumbSize(n: unknown): n is ThumbSize {
  return n === 256 || n === 512;
}

export function thumbFileName(id: number, size: ThumbSize): string {
  return `${id}-${size}.webp`;
}

export interface ThumbOptions {
  /** WebP quality 1–100 (default 78). */
  quality?: number;
  /** WebP encoder effort 0–6 (default 2: the gallery wants speed; 4 saves ~5 % bytes at ~2× the time). */
  effort?: number;
}

/** Largest source we decode, in pixels (the generator caps at 4 MP; imports are checked on the way in). */
const MAX_INPUT_PIXELS = 16384 * 16384;

/** Resizes `source` (a file or encoded bytes) to fit `size`×`size` (never enlarging) and writes WebP to `dest` atomically. */
export async function makeThumb(source: string | Buffer, dest: string, size: ThumbSize, options: ThumbOptions = {}): Promise<void> {
  // Encode in memory, then write: a decode failure (sharp's Error) and a file-system failure (with its
  // errno code, e.g. ENOSPC) stay distinguishable.
  const webp = await sharp(source, { limitInputPixels: MAX_INPUT_PIXELS, sequentialRead: true })
    .resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true })
    .webp({ quality: options.quality ?? 78, effort: options.effort ?? 2 })
    .toBuffer();
  const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.${process.pid}.tmp`);
  try {
    await fs.promises.writeFile(tmp, webp, { mode: 0o600 });
    await fs.promises.rename(tmp, dest);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** An error from the file system (it has an errno code), as opposed to a decoding error from sharp. */
function fsError(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : undefined;
}

function writeFailure(err: unknown, id: number, size: ThumbSize, dir: string): StudioError {
  const code = fsError(err);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new StudioError('disk_full', `Not enough disk space to write the ${size} px thumbnail of image ${id} in ${dir}. Free some space and try again.`);
  }
  return new StudioError('internal', `Could not write the ${size} px thumbnail of image ${id} in ${dir}: ${(err as Error).message}`);
}

/** A FIFO with at most `concurrency` tasks running. */
export class TaskQueue {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error('concurrency must be ≥ 1');
  }

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

export interface ThumbnailerOptions extends ThumbOptions {
  thumbsDir: string;
  /** Thumbnails made at once (default 2). */
  concurrency?: number;
}

export class Thumbnailer {
  private readonly queue: TaskQueue;
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(private readonly options: ThumbnailerOptions) {
    this.queue = new TaskQueue(options.concurrency ?? 2);
  }

  get thumbsDir(): string {
    return this.options.thumbsDir;
  }

  /** Where the thumbnail of `id` lives (it may not exist yet). */
  pathFor(id: number, size: ThumbSize): string {
    return path.join(this.options.thumbsDir, thumbFileName(id, size));
  }

  /** The thumbnail's path, making it from `source` first when it is missing. */
  ensureThumb(id: number, size: ThumbSize, source: string): Promise<string> {
    if (!isThumbSize(size)) return Promise.reject(new StudioError('invalid_input', 'Thumbnail size must be 256 or 512.'));
    const dest = this.pathFor(id, size);
    const key = `${id}-${size}`;
    const pending = this.inFlight.get(key);
    if (pending) return pending; // one job per thumbnail, however many cells ask for it
    if (fs.existsSync(dest)) return Promise.resolve(dest);
    const job = this.queue
      .run(async () => {
        if (fs.existsSync(dest)) return dest;
        await fs.promises.mkdir(this.options.thumbsDir, { recursive: true, mode: 0o700 });
        try {
          await makeThumb(source, dest, size, this.options);
        } catch (err) {
          if (!fs.existsSync(source)) {
            throw new StudioError('not_found', `The image file of ${id} is missing, so no thumbnail can be made.`);
          }
          if (fsError(err)) throw writeFailure(err, id, size, this.options.thumbsDir);
          throw new StudioError('internal', `Could not make the ${size} px thumbnail of image ${id}: ${(err as Error).message}`);
        }
        return dest;
      })
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, job);
    return job;
  }

  /**
   * Makes the thumbnail of `id` from encoded bytes (an import, before its file is stored). This decodes
   * every pixel, so it doubles as the check that the image data is not damaged: throws
   * StudioError invalid_input when it cannot be decoded.
   */
  async fromBuffer(id: number, size: ThumbSize, data: Buffer): Promise<string> {
    const dest = this.pathFor(id, size);
    return this.queue.run(async () => {
      await fs.promises.mkdir(this.options.thumbsDir, { recursive: true, mode: 0o700 });
      try {
        await makeThumb(data, dest, size, this.options);
      } catch (err) {
        if (fsError(err)) throw writeFailure(err, id, size, this.options.thumbsDir);
        throw new StudioError('invalid_input', `The image data cannot be decoded (${(err as Error).message.split('\n')[0]}).`, {
          reason: 'bad_pixels',
        });
      }
      return dest;
    });
  }

  /** Deletes every cached size of `id` (after the image is removed for good). */
  async remove(id: number): Promise<void> {
    for (const size of THUMB_SIZES) {
      await fs.promises.rm(this.pathFor(id, size), { force: true }).catch(() => undefined);
    }
  }
}
