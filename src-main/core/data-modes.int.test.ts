// Inside the 0700 data folder, what the studio writes is the user's alone: files 0600, folders 0700, whatever the
// process's umask (#18 §4: they kept 0644/0755). POSIX only (Windows has no mode bits).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../testing/temp';
import { makeMeta, makePixels } from '../testing/history/fixtures';
import { nodeAdapters } from './node-adapters';
import { StudioCore } from './studio';

afterAll(removeTempDirs);

function walk(dir: string, out: { file: string; mode: number; dir: boolean }[] = []): typeof out {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, e.name);
    const st = fs.lstatSync(file);
    out.push({ file, mode: st.mode & 0o777, dir: e.isDirectory() });
    if (e.isDirectory()) walk(file, out);
  }
  return out;
}

describe.skipIf(process.platform === 'win32')('data folder modes', () => {
  it('images, their folders, thumbnails, trash, logs and the lock are 0600/0700 under a permissive umask', async () => {
    const old = process.umask(0o022);
    try {
      const env = { HF_HOME: tempDir(), HF_ENDPOINT: 'http://127.0.0.1:9' };
      const dataDir = tempDir('sd35-modes-');
      const core = await StudioCore.open({ dataDir, adapters: nodeAdapters(env), env, runtime: 'cli', appVersion: '0.0.0-test' });
      try {
        const a = await core.history.saveImage({ pixels: makePixels(64, 64, 0), meta: makeMeta({ seed: '1', width: 64, height: 64 }) });
        const b = await core.history.saveImage({ pixels: makePixels(64, 64, 1), meta: makeMeta({ seed: '2', width: 64, height: 64 }) });
        expect(await core.history.thumbPath(a.id, 256)).toBeTruthy();
        await core.api['gallery.delete']({ ids: [b.id] });
        core.log.info('a line');
      } finally {
        core.close();
      }
      const entries = walk(dataDir).filter((e) => !e.file.startsWith(path.join(dataDir, 'models')));
      expect(entries.some((e) => e.file.endsWith('.png'))).toBe(true);
      expect(entries.some((e) => e.file.endsWith('.webp'))).toBe(true);
      const open = entries.filter((e) => e.mode & 0o077).map((e) => `${path.relative(dataDir, e.file)} ${e.mode.toString(8)}`);
      expect(open).toEqual([]);
    } finally {
      process.umask(old);
    }
  });
});
