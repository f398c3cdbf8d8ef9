// One-time downloads of an export (issue 18 §3): instead of base64 in a JSON reply, compare.export registers the
// PNG here and answers a URL; browser mode's `GET /download/<token>` (transport/http.ts) takes it once. A random
// 32-byte token, single use, expires after DOWNLOAD_TTL_MS; at most one entry at a time (a new export replaces
// the one nobody fetched), bytes in memory (the grid is capped at 128 MB by images/grid.ts).
import crypto from 'node:crypto';

export const DOWNLOAD_TTL_MS = 5 * 60_000;
/** Spent, expired or replaced tokens still answered "gone" (410) rather than "unknown" (404). */
const REMEMBERED_GONE = 32;

export interface ExportDownload {
  fileName: string;
  mimeType: 'image/png';
  data: Uint8Array;
}

export type TakeResult = { status: 'ok'; download: ExportDownload } | { status: 'gone' } | { status: 'unknown' };

/** What the HTTP transport asks: the download of a token, once. */
export interface DownloadSource {
  take(token: string): TakeResult;
}

export class ExportDownloads implements DownloadSource {
  private entry: { token: string; expiresAt: number; download: ExportDownload } | undefined;
  private readonly gone: string[] = [];

  constructor(private readonly o: { ttlMs?: number; now?: () => number } = {}) {}

  get ttlMs(): number {
    return this.o.ttlMs ?? DOWNLOAD_TTL_MS;
  }

  /** Registers a download (dropping the previous one); returns its token and path. */
  register(download: ExportDownload): { token: string; url: string; expiresInMs: number } {
    if (this.entry) this.retire(this.entry.token);
    const token = crypto.randomBytes(32).toString('base64url');
    this.entry = { token, expiresAt: this.now() + this.ttlMs, download };
    return { token, url: `/download/${token}`, expiresInMs: this.ttlMs };
  }

  take(token: string): TakeResult {
    const e = this.entry;
    if (e && tokensEqual(token, e.token)) {
      this.entry = undefined;
      this.retire(e.token);
      return this.now() < e.expiresAt ? { status: 'ok', download: e.download } : { status: 'gone' };
    }
    if (e && this.now() >= e.expiresAt) {
      this.entry = undefined;
      this.retire(e.token);
    }
    return this.gone.some((g) => tokensEqual(token, g)) ? { status: 'gone' } : { status: 'unknown' };
  }

  /** Whether a download waits (tests). */
  get pending(): boolean {
    return this.entry !== undefined && this.now() < this.entry.expiresAt;
  }

  private retire(token: string): void {
    this.gone.push(token);
    if (this.gone.length > REMEMBERED_GONE) this.gone.shift();
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }
}

function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}
