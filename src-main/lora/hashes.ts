// The two hashes people meet for a LoRA file:
//  - A1111's `Lora hashes` value (extensions-builtin/Lora/network.py NetworkOnDisk: the file's
//    `__metadata__.sshs_model_hash` when present, else modules/hashes.py addnet_hash_safetensors — the sha256 of
//    the bytes after the 8-byte length and the JSON header — then `shorthash = hash[0:12]`);
//  - AutoV2, as Civitai shows it: the first 10 hex of the whole file's sha256.
// Also the whole file's sha256 (the studio's identity of a LoRA file).
import crypto from 'node:crypto';
import fs from 'node:fs';

export interface LoraHashes {
  /** sha256 of the whole file (64 hex). */
  sha256: string;
  /** AutoV2: sha256 of the whole file, first 10 hex. */
  autoV2: string;
  /** What A1111 writes in `Lora hashes`: 12 hex. */
  a1111: string;
}

/** Hashes a safetensors file in one read pass (1 MB chunks). `sshsModelHash` is its __metadata__ value, if any. */
export function loraHashes(file: string, headerLength: number, sshsModelHash?: string): LoraHashes {
  const whole = crypto.createHash('sha256');
  const tensors = crypto.createHash('sha256');
  const dataStart = 8 + headerLength;
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    let pos = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      whole.update(chunk);
      if (pos + n > dataStart) tensors.update(chunk.subarray(Math.max(0, dataStart - pos)));
      pos += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  const sha256 = whole.digest('hex');
  const fromMeta = sshsModelHash !== undefined && /^[0-9a-fA-F]{12,64}$/u.test(sshsModelHash) ? sshsModelHash.toLowerCase() : undefined;
  return { sha256, autoV2: sha256.slice(0, 10), a1111: (fromMeta ?? tensors.digest('hex')).slice(0, 12) };
}
