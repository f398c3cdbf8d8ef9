import { describe, expect, it } from 'vitest';
import { DOWNLOAD_TTL_MS, ExportDownloads } from './export-downloads';

const png = (n: number) => ({ fileName: `comparison-${n}.png`, mimeType: 'image/png' as const, data: new Uint8Array([n]) });
const tokenOf = (url: string) => url.slice('/download/'.length);

describe('ExportDownloads (one-time export downloads)', () => {
  it('gives a 32-byte random token that is taken once; then it is gone, and a token never given is unknown', () => {
    const d = new ExportDownloads();
    const a = d.register(png(1));
    const b = new ExportDownloads().register(png(1));
    expect(a.url).toMatch(/^\/download\/[A-Za-z0-9_-]{43}$/u);
    expect(Buffer.from(a.token, 'base64url')).toHaveLength(32);
    expect(a.token).not.toBe(b.token);
    expect(a.expiresInMs).toBe(DOWNLOAD_TTL_MS);
    const first = d.take(tokenOf(a.url));
    expect(first.status === 'ok' && first.download.data).toEqual(new Uint8Array([1]));
    expect(d.take(a.token)).toEqual({ status: 'gone' });
    expect(d.take(b.token)).toEqual({ status: 'unknown' });
    expect(d.take('')).toEqual({ status: 'unknown' });
  });

  it('expires after its time; holds at most one entry (a new export retires the unfetched one)', () => {
    let now = 1_000;
    const d = new ExportDownloads({ ttlMs: 100, now: () => now });
    const a = d.register(png(1));
    now += 99;
    expect(d.pending).toBe(true);
    now += 1;
    expect(d.pending).toBe(false);
    expect(d.take(a.token)).toEqual({ status: 'gone' });
    const b = d.register(png(2));
    const c = d.register(png(3));
    expect(d.take(b.token)).toEqual({ status: 'gone' });
    const taken = d.take(c.token);
    expect(taken.status === 'ok' && taken.download.fileName).toBe('comparison-3.png');
  });
});
