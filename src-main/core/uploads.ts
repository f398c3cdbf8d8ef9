// THE chunked upload of a browser's file (browser mode; docs/architecture.md §2): `<folder>/.uploads/<id>.part`, 0600,
// appended in order (each chunk under the message limit), at most `maxBytes`, taken by the import that uses it and
// removed after a day if nobody does. The LoRA library (`loras.upload`) and the upscaler library (`upscalers.upload`)
// each keep one under their own folder.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../src-shared/errors';

const STALE_UPLOAD_MS = 24 * 3600_000;

export class ChunkedUploads {
  /**
   * @param dir the uploads folder (created 0700 when the first upload begins)
   * @param tooLarge the refusal when an upload would pass `maxBytes` ("A LoRA uploaded through the browser is at most 2 GB.")
   */
  constructor(
    readonly dir: string,
    private readonly maxBytes: number,
    private readonly tooLarge: string,
  ) {}

  /** Where upload `id` is kept (the id is the contract's 32 hex digits: uploadIdSchema). */
  file(id: string): string {
    return path.join(this.dir, `${id}.part`);
  }

  private removeStale(now = Date.now()): void {
    if (!fs.existsSync(this.dir)) return;
    for (const f of fs.readdirSync(this.dir)) {
      const file = path.join(this.dir, f);
      try {
        if (now - fs.statSync(file).mtimeMs > STALE_UPLOAD_MS) fs.rmSync(file, { force: true });
      } catch {
        // gone meanwhile
      }
    }
  }

  /** Appends one chunk to an upload (a new one when `uploadId` is absent); chunks must come in order. */
  append(p: { uploadId?: string | undefined; offset: number; dataBase64: string }): { uploadId: string; received: number } {
    const data = Buffer.from(p.dataBase64, 'base64');
    let id = p.uploadId;
    if (id === undefined) {
      if (p.offset !== 0) throw new StudioError('invalid_input', 'A new upload starts at offset 0.');
      this.removeStale();
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      id = crypto.randomBytes(16).toString('hex');
      fs.writeFileSync(this.file(id), data, { flag: 'wx', mode: 0o600 });
      return { uploadId: id, received: data.length };
    }
    const file = this.file(id);
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      throw new StudioError('not_found', 'That upload is not here (finished, or older than a day): send the file again.');
    }
    if (p.offset !== size) throw new StudioError('conflict', `The upload has ${size} bytes; this chunk starts at ${p.offset}.`);
    if (size + data.length > this.maxBytes) {
      fs.rmSync(file, { force: true });
      throw new StudioError('invalid_input', this.tooLarge);
    }
    fs.appendFileSync(file, data);
    return { uploadId: id, received: size + data.length };
  }

  /** The finished upload's file (the caller imports it and then removes it). */
  take(id: string): string {
    const file = this.file(id);
    if (!fs.existsSync(file)) throw new StudioError('not_found', 'That upload is not here (finished, or older than a day): send the file again.');
    return file;
  }
}
