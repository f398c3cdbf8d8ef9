// sha256 on a worker thread, so hashing a multi-gigabyte download runs beside the network reads
// and disk writes instead of on the same thread. Batches are transferred (not copied) in order;
// the bytes in flight are bounded, so a slow hash slows the download instead of growing memory.
import { Worker } from 'node:worker_threads';

const SOURCE = `
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
const hashes = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'new') hashes.set(m.id, crypto.createHash('sha256'));
  else if (m.op === 'update') {
    const h = hashes.get(m.id);
    if (h) h.update(new Uint8Array(m.buf));
    parentPort.postMessage({ type: 'ack', bytes: m.buf.byteLength });
  } else if (m.op === 'digest') {
    const h = hashes.get(m.id);
    hashes.delete(m.id);
    parentPort.postMessage({ type: 'digest', id: m.id, hex: h ? h.digest('hex') : '' });
  } else if (m.op === 'drop') hashes.delete(m.id);
});
`;

type WorkerMessage = { type: 'ack'; bytes: number } | { type: 'digest'; id: number; hex: string };

/** One running sha256 on the worker. Batches must own their whole ArrayBuffer (they are transferred). */
export interface WorkerHash {
  feed(batch: Uint8Array): Promise<void>;
  digest(): Promise<string>;
  drop(): void;
}

export class HashWorker {
  private readonly worker: Worker;
  private nextId = 1;
  private outstanding = 0;
  private waiters: (() => void)[] = [];
  private readonly digests = new Map<number, { resolve: (hex: string) => void; reject: (err: Error) => void }>();
  private failure: Error | undefined;

  constructor(private readonly maxInFlight = 64 * 1024 * 1024) {
    this.worker = new Worker(SOURCE, { eval: true });
    this.worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'ack') {
        this.outstanding -= m.bytes;
        const waiting = this.waiters;
        this.waiters = [];
        for (const w of waiting) w();
      } else {
        this.digests.get(m.id)?.resolve(m.hex);
        this.digests.delete(m.id);
      }
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => {
      if (code !== 0 || this.digests.size > 0) this.fail(new Error(`the hashing thread stopped (exit ${code})`));
    });
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const d of this.digests.values()) d.reject(err);
    this.digests.clear();
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }

  open(): WorkerHash {
    const id = this.nextId++;
    this.worker.postMessage({ op: 'new', id });
    return {
      feed: async (batch) => {
        if (batch.byteOffset !== 0 || batch.byteLength !== batch.buffer.byteLength) throw new Error('hash batches must own their buffer');
        while (!this.failure && this.outstanding > 0 && this.outstanding + batch.byteLength > this.maxInFlight) {
          await new Promise<void>((resolve) => this.waiters.push(resolve));
        }
        if (this.failure) throw this.failure;
        this.outstanding += batch.byteLength;
        const buf = batch.buffer as ArrayBuffer;
        this.worker.postMessage({ op: 'update', id, buf }, [buf]);
      },
      digest: () =>
        new Promise<string>((resolve, reject) => {
          if (this.failure) return reject(this.failure);
          this.digests.set(id, { resolve, reject });
          this.worker.postMessage({ op: 'digest', id });
        }),
      drop: () => {
        if (!this.failure) this.worker.postMessage({ op: 'drop', id });
      },
    };
  }

  async terminate(): Promise<void> {
    this.failure ??= new Error('the hashing thread was stopped');
    await this.worker.terminate();
  }
}
