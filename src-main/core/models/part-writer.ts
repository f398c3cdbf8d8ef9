// Writes a download's `.part` file: large positioned writes, one in flight while the next buffer
// fills, and fdatasync checkpoints so the saved byte count never runs ahead of the disk.
import fs from 'node:fs';
import { StudioError } from '../../../src-shared/errors';

/** Bytes per write (and per read when a part is re-hashed). */
export const WRITE_CHUNK = 4 * 1024 * 1024;

/**
 * Buffers received chunks and writes them at the right position in large writes, one write in
 * flight while the next buffer fills. `checkpoint` makes the bytes written so far durable in the
 * background (fdatasync) and reports how many are; `sync` does it in the foreground.
 */
export class PartWriter {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Bytes handed to writes (in flight or done). */
  private queued: number;
  /** Bytes whose write completed. */
  private completed: number;
  private inflight: Promise<void> | undefined;
  private checkpointing: Promise<void> | undefined;
  private failure: unknown;

  constructor(
    private readonly fh: fs.promises.FileHandle,
    position: number,
    private readonly file: string,
    /** Batched mode: each batch, once written, goes here (it is one buffer of its own). */
    private readonly onWritten?: (batch: Uint8Array) => Promise<void>,
  ) {
    this.queued = position;
    this.completed = position;
  }

  async push(chunk: Uint8Array): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= WRITE_CHUNK) {
      await this.inflight;
      if (this.failure !== undefined) throw this.failure;
      this.startWrite();
    }
  }

  private startWrite(): void {
    if (this.pendingBytes === 0) return;
    const buffers = this.pending;
    const bytes = this.pendingBytes;
    const at = this.queued;
    this.pending = [];
    this.pendingBytes = 0;
    this.queued += bytes;
    const onWritten = this.onWritten;
    this.inflight = (async () => {
      let views: Uint8Array[] = buffers;
      let batch: Uint8Array | undefined;
      if (onWritten) {
        batch = new Uint8Array(new ArrayBuffer(bytes));
        let o = 0;
        for (const b of buffers) {
          batch.set(b, o);
          o += b.length;
        }
        views = [batch];
      }
      let written = 0;
      // writev may write less than asked: loop until every byte is down.
      while (written < bytes) {
        const { bytesWritten } = await this.fh.writev(views, at + written);
        written += bytesWritten;
        if (written < bytes) views = sliceViews(batch ? [batch] : buffers, written);
      }
      this.completed = at + bytes;
      if (batch && onWritten) await onWritten(batch);
    })().catch((err: unknown) => {
      this.failure = writeFailure(err, this.file);
    });
  }

  async flush(): Promise<void> {
    await this.inflight;
    this.startWrite();
    await this.inflight;
    if (this.failure !== undefined) throw this.failure;
  }

  /** Makes the completed writes durable in the background; `onDurable` gets their byte count. */
  checkpoint(onDurable: (bytes: number) => void): void {
    if (this.checkpointing || this.failure !== undefined) return;
    this.checkpointing = (async () => {
      await this.inflight;
      const upto = this.completed;
      await this.fh.datasync();
      onDurable(upto);
    })()
      .catch((err: unknown) => {
        this.failure = writeFailure(err, this.file);
      })
      .finally(() => {
        this.checkpointing = undefined;
      });
  }

  /** Flush and fdatasync: after this every byte pushed survives a crash. */
  async sync(): Promise<void> {
    await this.checkpointing;
    await this.flush();
    await this.fh.datasync();
  }

  async truncate(length: number): Promise<void> {
    await this.checkpointing;
    await this.inflight;
    this.pending = [];
    this.pendingBytes = 0;
    await this.fh.truncate(length);
    this.queued = length;
    this.completed = length;
    this.failure = undefined;
  }
}

function writeFailure(err: unknown, file: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new StudioError(
      'disk_full',
      `The disk filled up while writing ${file}. Free some space (or choose another models folder in Settings) and resume the download; ` +
        'what was downloaded so far is kept.',
      { path: file },
    );
  }
  return err;
}

function sliceViews(buffers: Uint8Array[], skip: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let left = skip;
  for (const b of buffers) {
    if (left >= b.length) {
      left -= b.length;
      continue;
    }
    out.push(left > 0 ? b.subarray(left) : b);
    left = 0;
  }
  return out;
}
