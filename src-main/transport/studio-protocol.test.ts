import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MediaSource } from '../core/media';
import { removeTempDirs, tempDir } from '../testing/temp';
import { handleStudioUrl, type StudioProtocolContext } from './studio-protocol';

let ctx: StudioProtocolContext;
let outside: string;

beforeAll(() => {
  const dataRoot = tempDir();
  const rendererDir = tempDir();
  outside = tempDir();
  fs.writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>studio</title>');
  fs.mkdirSync(path.join(dataRoot, 'images', '2026', '11'), { recursive: true });
  fs.writeFileSync(path.join(dataRoot, 'images', '2026', '11', '1.png'), 'PNGDATA');
  fs.writeFileSync(path.join(outside, 'secret.png'), 'SECRET');
  fs.writeFileSync(path.join(dataRoot, 'studio.db'), 'DB');
  fs.mkdirSync(path.join(dataRoot, 'thumbs'), { recursive: true });
  fs.mkdirSync(path.join(dataRoot, 'trash'), { recursive: true });
  fs.writeFileSync(path.join(dataRoot, 'thumbs', '1-512.webp'), 'THUMB');
  fs.writeFileSync(path.join(dataRoot, 'trash', '5.png'), 'TRASHED');
  // Symlinks that stay inside the data folder but leave the media folders.
  fs.symlinkSync('../../../studio.db', path.join(dataRoot, 'images', '2026', '11', '6.png'));
  fs.symlinkSync('../studio.db', path.join(dataRoot, 'thumbs', '7-256.webp'));
  // A symlink inside the data folder that points out of it.
  fs.symlinkSync(path.join(outside, 'secret.png'), path.join(dataRoot, 'images', '2026', '11', '2.png'));
  const media: MediaSource = {
    imagePath: (id) =>
      ({ 1: path.join(dataRoot, 'images/2026/11/1.png'), 2: path.join(dataRoot, 'images/2026/11/2.png'), 3: path.join(outside, 'secret.png'), 4: path.join(dataRoot, 'images/../../../etc/passwd'), 5: path.join(dataRoot, 'trash/5.png'), 6: path.join(dataRoot, 'images/2026/11/6.png'), 8: path.join(dataRoot, 'studio.db'), 9: path.join(dataRoot, 'thumbs/1-512.webp') })[id],
    thumbPath: (id, size) =>
      ({ 1: path.join(dataRoot, 'thumbs', `1-${size}.webp`), 7: path.join(dataRoot, 'thumbs/7-256.webp'), 10: path.join(dataRoot, 'images/2026/11/1.png') })[id],
  };
  ctx = { dataRoot, rendererDir, media };
});
afterAll(removeTempDirs);

async function status(url: string): Promise<number> {
  return (await handleStudioUrl(url, ctx)).status;
}

describe('studio:// protocol', () => {
  it('serves the renderer with the CSP header', async () => {
    const res = await handleStudioUrl('studio://app/index.html', ctx);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await res.text()).toContain('studio');
  });

  it('serves an image and a thumbnail by id', async () => {
    const res = await handleStudioUrl('studio://image/1', ctx);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(await res.text()).toBe('PNGDATA');
    expect(await status('studio://thumb/1?size=512')).toBe(200);
  });

  it.each([
    'studio://image/../studio.db',
    'studio://image/%2e%2e/studio.db',
    'studio://image/%2e%2e%2fstudio.db',
    'studio://image/..%2f..%2fetc%2fpasswd',
    'studio://image//etc/passwd',
    'studio://image/%2Fetc%2Fpasswd',
    'studio://image/1/../../studio.db',
    'studio://image/1.png',
    'studio://image/-1',
    'studio://image/0',
    'studio://image/01',
    'studio://image/1e3',
    'studio://image/999',
    'studio://image/',
    'studio://thumb/77',
    'studio://app/../studio.db',
    'studio://app/%2e%2e/%2e%2e/etc/passwd',
    'studio://app/..%2f..%2f..%2fetc%2fpasswd',
    'studio://evil/1',
    'file:///etc/passwd',
  ])('refuses %s', async (url) => {
    expect(await status(url)).toBe(404);
  });

  it('refuses a symlink that leads out of the data folder, and a stored path outside it', async () => {
    expect(await status('studio://image/2')).toBe(404);
    expect(await status('studio://image/3')).toBe(404);
    expect(await status('studio://image/4')).toBe(404);
  });

  it('serves images from images/ and trash/ only, thumbnails from thumbs/ only (a symlink to ../studio.db is never served)', async () => {
    expect(await status('studio://image/5')).toBe(200);
    expect(await status('studio://image/6')).toBe(404);
    expect(await status('studio://image/8')).toBe(404);
    expect(await status('studio://image/9')).toBe(404);
    expect(await status('studio://thumb/7')).toBe(404);
    expect(await status('studio://thumb/10')).toBe(404);
  });

  it('refuses other methods', async () => {
    expect((await handleStudioUrl('studio://image/1', ctx, 'POST')).status).toBe(405);
  });
});
