// A hostile mirror (HF_ENDPOINT pointed at the emulator's "hostile" mode) and planted symlinks:
// the repo id a mirror answers never becomes a path outside the models folder, nothing is written
// or removed outside it, and the user gets a clear StudioError. Issue 10 item 1.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startHubEmulator, type HubEmulator } from '../../../e2e/support/hub-emulator';
import { CATALOG, repoFolderName } from '../../../src-shared/catalog';
import { rejection } from '../../testing/errors';
import { HubClient } from './hub';
import { ModelsRoot } from './models-root';
import { ModelStore } from './store';
import { makeHarness, type Harness } from '../../testing/models/harness';
import { cachedSd3Repo, tempDir } from '../../testing/models/repo-fixture';

const MiB = 1024 * 1024;
const OPEN = 'acme/sd3-open';
const CATALOG_REPO = CATALOG['sd3.5-medium'].repo;

let hub: HubEmulator;
const harnesses: Harness[] = [];

beforeAll(async () => {
  const folder = await cachedSd3Repo('hostile-1m', { layout: 'optimum', seed: 1010, transformerBytes: MiB });
  hub = await startHubEmulator({ repos: { [OPEN]: { folder }, [CATALOG_REPO]: { folder } }, renamed: { 'acme/old-name': OPEN }, lfsThreshold: 256 * 1024 });
}, 60_000);

afterEach(async () => {
  hub.setHostile({});
  while (harnesses.length) await harnesses.pop()!.close();
});

afterAll(async () => {
  await hub?.close();
});

function harness(): Harness {
  const h = makeHarness({ endpoint: hub.endpoint });
  harnesses.push(h);
  return h;
}

/** Every path under `dir` (files and folders), sorted, leaving out `skip` and the SQLite files. */
function snapshot(dir: string, skip: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (p === skip || /studio\.db/.test(e.name)) continue;
      out.push(path.relative(dir, p) + (e.isDirectory() ? '/' : ''));
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** A canary folder with a file, outside the models folder. */
function canary(root: string, rel: string): { dir: string; file: string } {
  const dir = path.join(root, rel);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'important.txt');
  fs.writeFileSync(file, 'keep me');
  return { dir, file };
}

describe('a hostile mirror repo id', () => {
  it.each([
    ['a relative escape', '../../../../canary/pwned'],
    ['another valid repo', 'evil/other-repo'],
    ['a non-string id', 42],
  ])('is refused before any byte (%s), and nothing outside the models folder changes', async (_name, id) => {
    const h = harness();
    const c = canary(h.root, 'canary');
    hub.setHostile({ repoId: id });
    const before = snapshot(h.root, h.modelsDir);
    const err = await rejection(h.service.download(OPEN));
    expect(err.code).toBe('network');
    expect(err.message).toContain('HF_ENDPOINT');
    expect(err.message).toContain(OPEN);
    expect(snapshot(h.root, h.modelsDir)).toEqual(before);
    expect(fs.readFileSync(c.file, 'utf8')).toBe('keep me');
    expect(fs.existsSync(path.join(h.root, 'canary', 'pwned'))).toBe(false);
    expect(hub.stats.requests.some((r) => r.path.includes('/resolve/'))).toBe(false);
  });

  it('cannot make staging and install one folder outside and delete what is there', async () => {
    const h = harness();
    const commit = hub.repoInfo(OPEN).commit;
    const c = canary(h.root, path.join('outside', commit));
    // Many ../ and an absolute-looking tail: both staging and install normalised to <root>/outside/<sha>.
    hub.setHostile({ repoId: '../'.repeat(40) + path.join(h.root, 'outside').slice(1) });
    const before = snapshot(h.root, h.modelsDir);
    const err = await rejection(h.service.download(OPEN));
    expect(err.code).toBe('network');
    expect(snapshot(h.root, h.modelsDir)).toEqual(before);
    expect(fs.readFileSync(c.file, 'utf8')).toBe('keep me');
  });

  it('is refused for a catalog id too', async () => {
    const h = harness();
    const c = canary(h.root, 'canary');
    hub.setHostile({ repoId: '../../../canary' });
    const err = await rejection(h.service.download('sd3.5-medium'));
    expect(err.code).toBe('network');
    expect(fs.readFileSync(c.file, 'utf8')).toBe('keep me');
    expect(fs.existsSync(h.modelsDir) ? snapshot(h.modelsDir, '') : []).toEqual([]);
  });

  it('a row stored by an older version with a hostile repo id is listed and removed without touching anything outside', async () => {
    const h = harness();
    const c = canary(h.root, path.join('canary', 'pwned', 'a'.repeat(40)));
    new ModelStore(h.db).beginDownload('acme/legacy', { repo: '../../../../canary/pwned', revision: 'main', commit: 'a'.repeat(40), t5: true });
    new ModelStore(h.db).setDownloadState('acme/legacy', 'paused');
    expect((await h.service.list()).some((e) => e.id === 'acme/legacy')).toBe(true);
    await h.service.cancel('acme/legacy');
    new ModelStore(h.db).beginDownload('acme/legacy', { repo: '../../../../canary/pwned', revision: 'main', commit: 'a'.repeat(40), t5: true });
    await h.service.remove('acme/legacy');
    expect(fs.readFileSync(c.file, 'utf8')).toBe('keep me');
    expect((await h.service.list()).some((e) => e.id === 'acme/legacy')).toBe(false);
  });

  it('still follows a rename through the documented 307, and accepts a case difference', async () => {
    const h = harness();
    hub.setHostile({ repoId: OPEN.toUpperCase() });
    const handle = await h.service.download('acme/old-name');
    expect(handle.repo).toBe(OPEN.toUpperCase());
    const done = await handle.done;
    expect(done.path.startsWith(h.modelsDir + path.sep)).toBe(true);
  });
});

describe('planted symlinks in the staging folder', () => {
  it('a part file that is a symlink out of the models folder is never written through', async () => {
    const h = harness();
    const c = canary(h.root, 'victim');
    const staging = path.join(h.modelsDir, '.staging', 'acme--sd3-open', hub.repoInfo(OPEN).commit);
    fs.mkdirSync(staging, { recursive: true });
    fs.symlinkSync(c.file, path.join(staging, 'model_index.json.part'));
    const handle = await h.service.download(OPEN);
    const err = await rejection(handle.done);
    expect(err.message).toContain('not inside the models folder');
    expect(fs.readFileSync(c.file, 'utf8')).toBe('keep me');
  });
});

describe('the models folder gate', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('refuses a symlink inside the models folder that leads outside, for mkdir, rename and rm', async () => {
    const root = tempDir('gate');
    dirs.push(root);
    const models = path.join(root, 'models');
    const c = canary(root, 'elsewhere');
    fs.mkdirSync(models, { recursive: true });
    fs.symlinkSync(c.dir, path.join(models, 'link'));
    const gate = new ModelsRoot(models);
    for (const attempt of [
      () => gate.mkdir(path.join(models, 'link', 'sub')),
      () => gate.rm(path.join(models, 'link', 'important.txt')),
      () => gate.rename(path.join(models, 'link', 'important.txt'), path.join(models, 'stolen.txt')),
      () => gate.rm(path.join(models, '..', 'elsewhere')),
      () => gate.rm(models),
    ]) {
      const err = await rejection(attempt());
      expect(err.code).toBe('invalid_input');
      expect(err.message).toContain('not inside the models folder');
    }
    await gate.removeEmptyParents(path.join(models, 'link'), 3);
    expect(fs.readFileSync(c.file, 'utf8')).toBe('keep me');
    expect(fs.existsSync(path.join(c.dir, 'sub'))).toBe(false);
    expect(fs.existsSync(models)).toBe(true);
    // Inside is fine.
    await gate.mkdir(path.join(models, 'a', 'b'));
    await gate.rm(path.join(models, 'a'));
    expect(fs.existsSync(path.join(models, 'a'))).toBe(false);
  });

  it('repoFolderName refuses what is not owner/name', () => {
    expect(() => repoFolderName('../../../../canary/pwned')).toThrow(/not a Hugging Face/);
    expect(() => repoFolderName('a/b/c')).toThrow();
    expect(() => repoFolderName('/abs')).toThrow();
    expect(repoFolderName('acme/x')).toBe('acme--x');
  });
});

describe('a hostile mirror\'s tree entries, bodies and redirects', () => {
  const NO_RETRY = { retries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 };
  /** A HubClient whose fetch counts the body bytes actually read. */
  function countingClient(token?: string): { client: HubClient; bytesRead: () => number } {
    let n = 0;
    const counting: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (!res.body) return res;
      const body = res.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, c) {
            n += chunk.length;
            c.enqueue(chunk);
          },
        }),
      );
      return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
    };
    const client = new HubClient({ endpoint: hub.endpoint, userAgent: 'sd35-studio-tests/1', fetch: counting, retry: NO_RETRY, ...(token ? { token: async () => token } : {}) });
    return { client, bytesRead: () => n };
  }
  const commit = () => hub.repoInfo(OPEN).commit;

  it.each([
    ['a leading /', { type: 'file', path: '/etc/passwd', size: 10, oid: 'a'.repeat(40) }, '"/etc/passwd"'],
    ['a NUL', { type: 'file', path: 'unet/a\u0000b.onnx', size: 10, oid: 'a'.repeat(40) }, 'unet/a\\\\x00b.onnx'],
    ['a name over 255 bytes', { type: 'file', path: `unet/${'é'.repeat(130)}`, size: 10, oid: 'a'.repeat(40) }, 'over 255 bytes'],
    ['a ".." part', { type: 'file', path: 'unet/../../x', size: 10, oid: 'a'.repeat(40) }, 'unet/../../x'],
    ['a negative size', { type: 'file', path: 'unet/neg.bin', size: -1, oid: 'a'.repeat(40) }, 'unet/neg.bin'],
    ['a fractional size', { type: 'file', path: 'unet/frac.bin', size: 1.5, oid: 'a'.repeat(40) }, 'unet/frac.bin'],
    ['a negative LFS size', { type: 'file', path: 'unet/lfs.bin', size: 1, oid: 'a'.repeat(40), lfs: { oid: 'b'.repeat(64), size: -5 } }, 'unet/lfs.bin'],
  ])('refuses a tree entry with %s when the tree is parsed, naming it (item 8)', async (_name, entry, named) => {
    hub.setHostile({ treeEntries: [entry] });
    const err = await rejection(countingClient().client.tree(OPEN, commit()));
    expect(err.code).toBe('network');
    expect(err.message).toContain(named);
    expect(err.message).toContain(OPEN);
  });

  it('a hostile tree entry stops a download before any file is written (item 8)', async () => {
    const h = harness();
    hub.setHostile({ treeEntries: [{ type: 'file', path: 'unet/a\u0000b', size: -1, oid: 'x' }] });
    const err = await rejection(h.service.download(OPEN));
    expect(err.code).toBe('network');
    expect(fs.existsSync(h.modelsDir) ? snapshot(h.modelsDir, '') : []).toEqual([]);
  });

  it('reads at most 32 MB of an API answer, as it streams (item 5)', async () => {
    hub.setHostile({ treePaddingBytes: 40 * MiB });
    const { client, bytesRead } = countingClient();
    const err = await rejection(client.tree(OPEN, commit()));
    expect(err.code).toBe('network');
    expect(err.message).toContain('larger than 32 MB');
    expect(bytesRead()).toBeLessThan(34 * MiB);
  });

  it('reads only a few kB of an error answer (item 5)', async () => {
    hub.setHostile({ errorBodyBytes: 20 * MiB });
    const { client, bytesRead } = countingClient();
    const err = await rejection(client.revision('acme/missing', 'main'));
    expect(err.code).toBe('not_found');
    expect(bytesRead()).toBeLessThan(1 * MiB);
  });

  it('caps the entries of a tree (item 5)', async () => {
    hub.setHostile({ treeEntries: Array.from({ length: 100_001 }, (_, i) => ({ type: 'file', path: `junk/${i}`, size: 1, oid: 'a'.repeat(40) })) });
    const err = await rejection(countingClient().client.tree(OPEN, commit()));
    expect(err.message).toContain('more than 100000 files');
  });

  it('caps the pages of a tree (item 5)', async () => {
    hub.setHostile({ endlessTree: true });
    const err = await rejection(countingClient().client.tree(OPEN, commit()));
    expect(err.message).toContain('did not end after 1000 pages');
  }, 60_000);

  it('follows a redirect to plain http on another host neither for the API nor for files, and never sends it the token (item 14)', async () => {
    let hits = 0;
    let authorized = 0;
    const other = http.createServer((req, res) => {
      hits++;
      if (req.headers.authorization) authorized++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id":"acme/sd3-open","sha":"' + 'a'.repeat(40) + '"}');
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (other.address() as AddressInfo).port;
      hub.setHostile({ redirectTo: `http://localhost:${port}/elsewhere` });
      const { client } = countingClient('hf_SomeTokenValue');
      const api = await rejection(client.revision(OPEN, 'main'));
      expect(api.message).toContain('Refusing a redirect');
      const file = await rejection(client.openFile(OPEN, commit(), 'model_index.json'));
      expect(file.message).toContain('Refusing a redirect');
      expect({ hits, authorized }).toEqual({ hits: 0, authorized: 0 });
    } finally {
      await new Promise<void>((r) => other.close(() => r()));
    }
  });
});
