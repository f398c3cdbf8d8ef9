import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HashWorker } from './hash-worker';
import { Hasher, hashFile } from './hasher';
import { WRITE_CHUNK } from './part-writer';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-hasher-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function fileOf(name: string, bytes: number): { file: string; data: Buffer } {
  const data = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 31 + 7) & 0xff;
  const file = path.join(dir, name);
  fs.writeFileSync(file, data);
  return { file, data };
}

// Independent of the code under test: node's crypto over the whole buffer at once.
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const gitBlobSha1 = (b: Buffer) => crypto.createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

describe('hashFile (the one read loop of download and verify)', () => {
  it('hashes a file of more than one chunk to its end, counting every byte once', async () => {
    const { file, data } = fileOf('big.bin', WRITE_CHUNK * 2 + 12345);
    const hasher = new Hasher({ size: data.length, gitOid: 'x' });
    let seen = 0;
    const size = await hashFile(file, hasher, { onBytes: (n) => (seen += n) });
    expect(size).toBe(data.length);
    expect(seen).toBe(data.length);
    expect(await hasher.digest()).toEqual({ sha256: sha256(data), gitOid: gitBlobSha1(data) });
  });

  it('hashes only the asked prefix (a resumed part) and refuses a file shorter than that', async () => {
    const { file, data } = fileOf('part.bin', 5000);
    const hasher = new Hasher({ size: 9000 });
    expect(await hashFile(file, hasher, { bytes: 3000 })).toBe(3000);
    expect((await hasher.digest()).sha256).toBe(sha256(data.subarray(0, 3000)));
    await expect(hashFile(file, new Hasher({ size: 9000 }), { bytes: 6000 })).rejects.toThrow(/shorter than expected/);
  });

  it('feeds the hashing thread buffers of their own, so a short last chunk hashes only its bytes', async () => {
    const { file, data } = fileOf('worker.bin', WRITE_CHUNK + 777);
    const worker = new HashWorker();
    try {
      const hasher = new Hasher({ size: data.length }, worker);
      expect(hasher.batched).toBe(true);
      await hashFile(file, hasher);
      expect((await hasher.digest()).sha256).toBe(sha256(data));
    } finally {
      await worker.terminate();
    }
  });

  it('an empty file has the empty hashes', async () => {
    const { file, data } = fileOf('empty.bin', 0);
    const hasher = new Hasher({ size: 0, gitOid: 'x' });
    expect(await hashFile(file, hasher)).toBe(0);
    expect(await hasher.digest()).toEqual({ sha256: sha256(data), gitOid: gitBlobSha1(data) });
  });
});
