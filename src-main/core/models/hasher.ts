// The hashes of a model file: sha256 (the LFS oid Hugging Face lists) and, for small git files, the
// git blob sha1. One hasher and one read loop serve the download (hashed while streaming, a resumed
// part re-hashed once) and `models verify` (every installed file re-hashed).
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { HashWorker, WorkerHash } from './hash-worker';
import { WRITE_CHUNK } from './part-writer';
import { abortReason } from './retry';

/** Files at least this big (with an LFS sha256) are hashed on the worker thread. */
export const WORKER_HASH_MIN_BYTES = 4 * 1024 * 1024;

/** What a hasher needs to know about its file: the git blob header takes the size. */
export interface HashedFile {
  size: number;
  /** When set, the git blob sha1 is computed as well. */
  gitOid?: string | null;
}

/**
 * The hashes of one file. Large LFS files are hashed on the worker thread from the batches the
 * writer has written (`batched`); everything else chunk by chunk on this thread.
 */
export class Hasher {
  private sha256: crypto.Hash | undefined;
  private sha1: crypto.Hash | undefined;
  private remote: WorkerHash | undefined;

  constructor(
    private readonly target: HashedFile,
    private readonly worker?: HashWorker,
  ) {
    this.reset();
  }

  get batched(): boolean {
    return this.remote !== undefined;
  }

  reset(): void {
    this.remote?.drop();
    this.remote = this.worker?.open();
    this.sha256 = this.remote ? undefined : crypto.createHash('sha256');
    this.sha1 = this.target.gitOid ? crypto.createHash('sha1').update(`blob ${this.target.size}\0`) : undefined;
  }

  /** Chunks as they arrive (ignored for sha256 when batched). */
  update(chunk: Uint8Array): void {
    this.sha256?.update(chunk);
    this.sha1?.update(chunk);
  }

  /** Written batches, in file order (batched mode). */
  feed(batch: Uint8Array): Promise<void> {
    return this.remote ? this.remote.feed(batch) : Promise.resolve();
  }

  async digest(): Promise<{ sha256: string; gitOid?: string }> {
    const sha256 = this.remote ? await this.remote.digest() : this.sha256!.digest('hex');
    this.remote = undefined;
    return { sha256, ...(this.sha1 ? { gitOid: this.sha1.digest('hex') } : {}) };
  }
}

export interface HashFileOptions {
  /** Hash exactly this many bytes (a part's durable prefix; a shorter file is an error); default: to the end. */
  bytes?: number;
  signal?: AbortSignal;
  /** After each chunk, with the chunk's length. */
  onBytes?: (n: number) => void;
}

/** Reads a file from its start into the hasher; returns how many bytes were hashed. */
export async function hashFile(file: string, hasher: Hasher, o: HashFileOptions = {}): Promise<number> {
  if (o.bytes !== undefined && o.bytes <= 0) return 0;
  const limit = o.bytes ?? Number.POSITIVE_INFINITY;
  const fh = await fs.promises.open(file, 'r');
  try {
    let pos = 0;
    while (pos < limit) {
      if (o.signal?.aborted) throw abortReason(o.signal);
      const want = Math.min(WRITE_CHUNK, limit - pos);
      // A buffer of its own, so it can be transferred to the hashing thread.
      const buf = new Uint8Array(new ArrayBuffer(want));
      let got = 0;
      while (got < want) {
        const { bytesRead } = await fh.read(buf, got, want - got, pos + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      if (got < want && o.bytes !== undefined) throw new Error(`${file} is shorter than expected`);
      if (got === 0) break;
      // The end of the file: a copy of the bytes read, again a buffer of its own.
      const chunk = got < want ? buf.slice(0, got) : buf;
      hasher.update(chunk);
      if (hasher.batched) await hasher.feed(chunk);
      pos += got;
      o.onBytes?.(got);
      if (got < want) break;
    }
    return pos;
  } finally {
    await fh.close();
  }
}
