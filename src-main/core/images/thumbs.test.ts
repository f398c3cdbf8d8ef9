// Thumbnails: WebP that fits 256/512 px on the long side (never enlarged), a queue that runs at most
// `concurrency` jobs, one job per thumbnail however many callers ask, clear errors.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../../testing/temp';
import { makeThumb, TaskQueue, Thumbnailer, thumbFileName } from './thumbs';

afterAll(removeTempDirs);

async function png(dir: string, name: string, width: number, height: number): Promise<string> {
  const file = path.join(dir, name);
  await sharp({ create: { width, height, channels: 3, background: { r: 200, g: 80, b: 20 } } }).png().toFile(file);
  return file;
}

describe('makeThumb', () => {
  it('fits the long side to the size, keeps the aspect ratio and never enlarges', async () => {
    const dir = tempDir();
    const cases: [number, number, 256 | 512, [number, number]][] = [
      [1024, 1024, 256, [256, 256]],
      [832, 1216, 256, [175, 256]],
      [1216, 832, 512, [512, 350]],
      [100, 50, 256, [100, 50]],
    ];
    for (const [w, h, size, expected] of cases) {
      const src = await png(dir, `${w}x${h}.png`, w, h);
      const dest = path.join(dir, `${w}x${h}-${size}.webp`);
      await makeThumb(src, dest, size);
      const m = await sharp(dest).metadata();
      expect([m.format, m.width, m.height], `${w}×${h} → ${size}`).toEqual(['webp', ...expected]);
    }
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('leaves no partial file when the source cannot be decoded', async () => {
    const dir = tempDir();
    const src = path.join(dir, 'bad.png');
    fs.writeFileSync(src, 'not a png');
    await expect(makeThumb(src, path.join(dir, 'bad.webp'), 256)).rejects.toThrow();
    expect(fs.readdirSync(dir)).toEqual(['bad.png']);
  });
});

describe('TaskQueue', () => {
  it('runs at most `concurrency` tasks at once, in order, and frees a slot after a failure', async () => {
    const q = new TaskQueue(2);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const task = (i: number) => async () => {
      started.push(i);
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      if (i === 3) throw new Error('boom');
      return i;
    };
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => q.run(task(i))));
    expect(peak).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(q.active).toBe(0);
    expect(q.queued).toBe(0);
  });
});

describe('Thumbnailer', () => {
  it('caches thumbs/<id>-<size>.webp, shares one job between callers and remakes a missing file', async () => {
    const dir = tempDir();
    const src = await png(dir, 'src.png', 640, 480);
    const t = new Thumbnailer({ thumbsDir: path.join(dir, 'thumbs') });
    const a = t.ensureThumb(7, 256, src);
    const b = t.ensureThumb(7, 256, src);
    expect(b).toBe(a); // the same in-flight promise
    const file = await a;
    expect(file).toBe(path.join(dir, 'thumbs', thumbFileName(7, 256)));
    expect(path.basename(file)).toBe('7-256.webp');
    const stat = fs.statSync(file);
    await new Promise((r) => setTimeout(r, 15));
    await t.ensureThumb(7, 256, src);
    expect(fs.statSync(file).mtimeMs).toBe(stat.mtimeMs); // cached, not remade
    fs.rmSync(file);
    await t.ensureThumb(7, 256, src);
    expect(fs.existsSync(file)).toBe(true);
    await t.ensureThumb(7, 512, src);
    await t.remove(7);
    expect(fs.readdirSync(path.join(dir, 'thumbs'))).toEqual([]);
  });

  it('says not_found for a missing source, invalid_input for a bad size or undecodable bytes', async () => {
    const dir = tempDir();
    const t = new Thumbnailer({ thumbsDir: path.join(dir, 'thumbs') });
    await expect(t.ensureThumb(1, 256, path.join(dir, 'nope.png'))).rejects.toMatchObject({ code: 'not_found' });
    await expect(t.ensureThumb(1, 300 as 256, path.join(dir, 'nope.png'))).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(t.fromBuffer(2, 256, Buffer.from('garbage'))).rejects.toMatchObject({ code: 'invalid_input' });
    const ok = await t.fromBuffer(3, 256, await sharp({ create: { width: 300, height: 100, channels: 3, background: 'blue' } }).png().toBuffer());
    expect((await sharp(ok).metadata()).width).toBe(256);
  });
});
