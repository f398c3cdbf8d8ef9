// Downloads through ModelService against the hub emulator on 127.0.0.1: full verified download,
// faults (drops, stalls, corrupt bytes, 503s, expiring CDN URLs, 200 to a Range), disk shortage,
// pause/resume and cancel.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startHubEmulator, type HubEmulator } from '../../../e2e/support/hub-emulator';
import type { DownloadProgressEvent } from './service';
import { makeHarness, waitForEvent, type Harness } from '../../testing/models/harness';
import { cachedSd3Repo } from '../../testing/models/repo-fixture';
import { rejection } from '../../testing/errors';
import { REPO } from '../../testing/processes';

const MiB = 1024 * 1024;
const BIG = 'acme/sd3-big';
const SMALL = 'acme/sd3-small';
const BIG_FILE = 'unet/model.onnx.data';

let hub: HubEmulator;
let bigFolder: string;
let smallFolder: string;
const harnesses: Harness[] = [];

function harness(extra: Partial<Parameters<typeof makeHarness>[0]> = {}): Harness {
  const h = makeHarness({ endpoint: hub.endpoint, ...extra });
  harnesses.push(h);
  return h;
}


beforeAll(async () => {
  bigFolder = await cachedSd3Repo('download-big-110m', { layout: 'tensorstack', seed: 101, transformerBytes: 110 * MiB, clutter: true });
  smallFolder = await cachedSd3Repo('download-small-8m', { layout: 'tensorstack', seed: 202, transformerBytes: 8 * MiB, clutter: true });
  hub = await startHubEmulator({ repos: { [BIG]: { folder: bigFolder }, [SMALL]: { folder: smallFolder } }, lfsThreshold: MiB });
}, 120_000);

afterEach(async () => {
  hub.setFaults({});
  hub.resetStats();
  while (harnesses.length) await harnesses.pop()!.close();
});

afterAll(async () => {
  await hub?.close();
});

function expectInstalledLike(installDir: string, source: string, files: string[]): void {
  for (const f of files) {
    const a = fs.readFileSync(path.join(installDir, f));
    const b = fs.readFileSync(path.join(source, f));
    expect(a.equals(b), f).toBe(true);
  }
}

describe('a full download', () => {
  it('downloads, verifies and installs the selected files of a repo with a file over 100 MB', async () => {
    const h = harness();
    const handle = await h.service.download(BIG);
    const result = await handle.done;
    const info = hub.repoInfo(BIG);
    expect(result.commit).toBe(info.commit);
    expect(result.path).toBe(path.join(h.modelsDir, 'acme--sd3-big', info.commit));
    const byPath = new Map(info.files.map((f) => [f.path, f]));
    const big = result.files.find((f) => f.path === BIG_FILE)!;
    expect(big.size).toBeGreaterThan(100 * 1000 * 1000);
    for (const f of result.files) expect(f.sha256, f.path).toBe(byPath.get(f.path)!.sha256);
    // The selection rule: no samples, README, stray folders or tokenizer graphs; the VAE encoder (image to image) is in.
    const paths = result.files.map((f) => f.path);
    expect(paths).not.toContain('Sample.png');
    expect(paths.some((p) => p.startsWith('vae copy/') || p === 'tokenizer/model.onnx')).toBe(false);
    expect(paths).toContain('vae_encoder/model.onnx');
    expect(paths).toEqual(expect.arrayContaining(['model_index.json', 'unet/model.onnx', BIG_FILE, 'text_encoder_3/model.onnx.data', 'tokenizer_3/tokenizer.json']));
    expectInstalledLike(result.path, bigFolder, paths);
    expect(fs.existsSync(path.join(h.modelsDir, '.staging'))).toBe(false);
    expect(hub.bytesServed(BIG, 'Sample.png')).toBe(0);
    // Each file fetched exactly once.
    expect(hub.bytesServed(BIG, BIG_FILE)).toBe(big.size);
    expect(hub.stats.cdnAuthorized).toBe(0);

    const [entry] = (await h.service.list()).filter((e) => e.id === BIG);
    expect(entry).toMatchObject({ id: BIG, source: 'hub', state: 'installed', installed: { commit: info.commit, layout: 'tensorstack', t5: true } });
    expect(entry!.sizeOnDisk).toBe(result.files.reduce((s, f) => s + f.size, 0));

    // Progress: typed events with speed and ETA, at most 10 per second.
    const progress = h.events.filter((e): e is DownloadProgressEvent & { at: number } => e.type === 'download-progress');
    expect(progress.length).toBeGreaterThan(0);
    const last = progress[progress.length - 1]!;
    expect(last.progress.done).toBe(last.progress.total);
    expect(last.progress).toMatchObject({ task: 'download', unit: 'bytes', etaMs: 0 });
    for (let i = 10; i < progress.length; i++) expect(progress[i]!.at - progress[i - 10]!.at).toBeGreaterThanOrEqual(900);
    expect(progress.some((p) => (p.progress.rate ?? 0) > 0 && p.files.some((f) => f.path === BIG_FILE))).toBe(true);
    expect(h.events.filter((e) => e.type === 'file-verified')).toHaveLength(result.files.length);
    expect(h.events.some((e) => e.type === 'download-completed')).toBe(true);

    // verify re-hashes every file.
    const verified = await h.service.verify(BIG);
    expect(verified).toMatchObject({ ok: true, method: 'hashes' });
    expect(verified.files).toHaveLength(result.files.length);
    // A damaged installed file is named.
    const damaged = path.join(result.path, 'text_encoder_2', 'model.onnx.data');
    const fd = fs.openSync(damaged, 'r+');
    fs.writeSync(fd, Buffer.from([0x42]), 0, 1, 1000);
    fs.closeSync(fd);
    const bad = await h.service.verify(BIG);
    expect(bad.ok).toBe(false);
    expect(bad.problems.join('\n')).toContain('text_encoder_2/model.onnx.data');

    await h.service.remove(BIG);
    expect(fs.existsSync(path.join(h.modelsDir, 'acme--sd3-big'))).toBe(false);
    expect((await h.service.list()).some((e) => e.id === BIG)).toBe(false);
  });

  it('resumes a connection dropped mid-file, fetching at most 1 MiB twice', async () => {
    const h = harness();
    hub.setFaults({ dropAfterBytes: { bytes: 47 * MiB + 123, path: BIG_FILE, times: 2 } });
    const result = await (await h.service.download(BIG)).done;
    const size = result.files.find((f) => f.path === BIG_FILE)!.size;
    const served = hub.bytesServed(BIG, BIG_FILE);
    expect(served).toBeGreaterThanOrEqual(size);
    expect(served - size).toBeLessThanOrEqual(MiB);
    const ranged = hub.stats.requests.filter((r) => r.server === 'cdn' && r.range);
    expect(ranged.length).toBeGreaterThanOrEqual(2);
    for (const r of ranged) expect(r.ifRange).toBe(`"${result.files.find((f) => f.path === BIG_FILE)!.sha256}"`);
    expect(h.events.filter((e) => e.type === 'download-retry').length).toBeGreaterThanOrEqual(2);
  });
});

describe('faults', () => {
  it('a corrupt byte fails verification naming the file, and nothing is installed', async () => {
    const h = harness();
    hub.setFaults({ corruptByte: { path: BIG_FILE, offset: 5 * MiB + 7 } });
    const handle = await h.service.download(SMALL);
    const err = await rejection(handle.done);
    expect(err.code).toBe('verification_failed');
    expect(err.exitCode).toBe(5);
    expect(err.message).toContain(BIG_FILE);
    const commit = hub.repoInfo(SMALL).commit;
    expect(fs.existsSync(path.join(h.modelsDir, 'acme--sd3-small', commit))).toBe(false);
    expect(fs.existsSync(path.join(h.modelsDir, '.staging', 'acme--sd3-small', commit, `${BIG_FILE}.part`))).toBe(false);
    const entry = await h.service.get(SMALL);
    expect(entry.state).toBe('failed');
    expect(entry.download?.error?.code).toBe('verification_failed');
    // A small file hashed on the main thread (the big one goes to the hashing thread) is caught too.
    const small = 'text_encoder_2/model.onnx.data';
    hub.setFaults({ corruptByte: { path: small, offset: 1234 } });
    const fresh = harness();
    const err2 = await rejection((await fresh.service.download(SMALL)).done);
    expect(err2.code).toBe('verification_failed');
    expect(err2.message).toContain(small);
    // A retry without the fault completes, and re-fetches only what is not verified yet.
    hub.setFaults({});
    const ok = await (await h.service.resume(SMALL)).done;
    expect(ok.files.find((f) => f.path === BIG_FILE)!.sha256).toBe(hub.repoInfo(SMALL).files.find((f) => f.path === BIG_FILE)!.sha256);
  });

  it('503s with Retry-After are retried, then the download succeeds', async () => {
    const h = harness();
    hub.setFaults({ fail503: { count: 3, retryAfterSeconds: 1 } });
    const started = Date.now();
    const result = await (await h.service.download(SMALL)).done;
    expect(result.files.length).toBeGreaterThan(10);
    expect(hub.stats.failed503).toBe(3);
    // Retry-After honoured: three waits of a second each.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
  });

  it('gives up with a network error after bounded retries', async () => {
    const h = harness({ download: { retry: { retries: 2, baseDelayMs: 10, maxDelayMs: 50, maxRetryAfterMs: 100 } } });
    hub.setFaults({ fail503: { count: 1000, retryAfterSeconds: 0 } });
    const err = await rejection(h.service.download(SMALL));
    expect(err.code).toBe('network');
    expect(err.exitCode).toBe(4);
    expect(err.message).toMatch(/after 3 attempts/);
  });

  it('an expired CDN URL is resolved again through the hub', async () => {
    const h = harness();
    hub.setFaults({ expireCdnUrls: { count: 2 } });
    await (await h.service.download(SMALL)).done;
    expect(hub.stats.requests.filter((r) => r.server === 'cdn' && r.status === 403)).toHaveLength(2);
  });

  it('a 200 answer to a Range request restarts the part instead of appending', async () => {
    const h = harness();
    hub.setFaults({ dropAfterBytes: { bytes: 3 * MiB, path: BIG_FILE }, ignoreRange: { count: 1 } });
    const result = await (await h.service.download(SMALL)).done;
    const file = result.files.find((f) => f.path === BIG_FILE)!;
    expect(file.sha256).toBe(hub.repoInfo(SMALL).files.find((f) => f.path === BIG_FILE)!.sha256);
    expect(hub.bytesServed(SMALL, BIG_FILE)).toBe(3 * MiB + file.size);
    expect(hub.stats.requests.some((r) => r.server === 'cdn' && r.range && r.status === 200)).toBe(true);
  });

  it('a stalled transfer is dropped after the stall timeout and resumed', async () => {
    const h = harness({ download: { stallTimeoutMs: 400 } });
    hub.setFaults({ stallAfterBytes: { bytes: 2 * MiB, path: BIG_FILE } });
    const result = await (await h.service.download(SMALL)).done;
    expect(result.files.find((f) => f.path === BIG_FILE)).toBeDefined();
    expect(h.events.some((e) => e.type === 'download-retry' && e.path === BIG_FILE && /no data/.test(e.reason))).toBe(true);
  });
});

describe('disk, pause, resume, cancel', () => {
  it('refuses before downloading when the disk is short, naming the shortfall', async () => {
    const h = harness({ freeSpace: async () => 5 * MiB });
    const err = await rejection(h.service.download(SMALL));
    expect(err.code).toBe('disk_full');
    expect(err.exitCode).toBe(6);
    expect(err.message).toMatch(/needs \d+(\.\d+)? MB more/);
    expect(err.message).toMatch(/Free \d+(\.\d+)? MB/);
    expect((err.details as { shortfallBytes: number }).shortfallBytes).toBeGreaterThan(0);
    expect(hub.stats.requests.filter((r) => r.server === 'cdn' || r.path.includes('/resolve/'))).toHaveLength(0);
    expect((await rejection(h.service.get(SMALL))).code).toBe('not_found');
    expect((await h.service.list()).some((e) => e.id === SMALL)).toBe(false);
    expect(fs.existsSync(path.join(h.modelsDir, '.staging'))).toBe(false);
  });

  it('pause keeps the parts, resume finishes from them', async () => {
    const h = harness({ download: { concurrency: 2 } });
    hub.setFaults({ bytesPerSecond: 4 * MiB });
    const handle = await h.service.download(SMALL);
    await waitForEvent(h, (e) => e.type === 'download-progress' && (e.files.find((f) => f.path === BIG_FILE)?.progress.done ?? 0) > MiB);
    await h.service.pause(SMALL);
    const err = await rejection(handle.done);
    expect(err.code).toBe('interrupted');
    const entry = await h.service.get(SMALL);
    expect(entry.state).toBe('paused');
    const part = path.join(h.modelsDir, '.staging', 'acme--sd3-small', hub.repoInfo(SMALL).commit, `${BIG_FILE}.part`);
    const kept = fs.statSync(part).size;
    expect(kept).toBeGreaterThan(MiB);
    expect(entry.download!.progress).toMatchObject({ task: 'download', unit: 'bytes', status: 'paused' });
    expect(entry.download!.progress.done).toBeGreaterThan(MiB);
    hub.setFaults({});
    const result = await (await h.service.resume(SMALL)).done;
    const size = result.files.find((f) => f.path === BIG_FILE)!.size;
    expect(hub.bytesServed(SMALL, BIG_FILE) - size).toBeLessThanOrEqual(MiB);
    expect(h.events.some((e) => e.type === 'download-paused')).toBe(true);
  });

  it('running the same download again after a pause continues from the parts', async () => {
    const h = harness({ download: { concurrency: 2 } });
    hub.setFaults({ bytesPerSecond: 4 * MiB });
    const handle = await h.service.download(SMALL);
    await waitForEvent(h, (e) => e.type === 'download-progress' && (e.files.find((f) => f.path === BIG_FILE)?.progress.done ?? 0) > MiB);
    await h.service.pause(SMALL);
    await handle.done.catch(() => undefined);
    hub.setFaults({});
    const result = await (await h.service.download(SMALL)).done;
    const size = result.files.find((f) => f.path === BIG_FILE)!.size;
    expect(hub.bytesServed(SMALL, BIG_FILE) - size).toBeLessThanOrEqual(MiB);
  });

  it('refuses to download what another live process is downloading', async () => {
    const h = harness();
    // Another process holding the repo's download lock (core/lock.ts, the same lock the studio folder uses).
    const lockFile = path.join(h.modelsDir, '.locks', 'acme--sd3-small.lock');
    fs.mkdirSync(path.dirname(lockFile), { recursive: true });
    const other = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'src-main', 'testing', 'lock-contender.ts'), lockFile], { cwd: REPO, stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const held = new Promise<string>((resolve) => {
        let out = '';
        other.stdout!.on('data', (d) => {
          out += String(d);
          if (out.includes('ready\n') && !out.includes('go-sent')) {
            out += 'go-sent';
            other.stdin!.write('go\n');
          }
          if (out.includes('{')) resolve(out);
        });
      });
      expect(await held).toContain('"primary":true');
      const err = await rejection(h.service.download(SMALL));
      expect(err.code).toBe('conflict');
      expect(err.message).toContain(`pid ${other.pid}`);
      // Once that process is gone, the OS drops its lock.
      other.kill('SIGKILL');
      await new Promise((r) => other.once('exit', r));
      await (await h.service.download(SMALL)).done;
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('cancel removes the parts and forgets the download', async () => {
    const h = harness();
    hub.setFaults({ bytesPerSecond: 4 * MiB });
    const handle = await h.service.download(SMALL);
    await waitForEvent(h, (e) => e.type === 'download-progress' && e.progress.done > MiB);
    const staging = path.join(h.modelsDir, '.staging', 'acme--sd3-small');
    expect(fs.existsSync(staging)).toBe(true);
    await h.service.cancel(SMALL);
    const err = await rejection(handle.done);
    expect(err.code).toBe('cancelled');
    expect(err.exitCode).toBe(8);
    expect(fs.existsSync(staging)).toBe(false);
    expect(fs.existsSync(path.join(h.modelsDir, '.staging'))).toBe(false);
    expect((await rejection(h.service.get(SMALL))).code).toBe('not_found');
    expect((await h.service.list()).some((e) => e.id === SMALL)).toBe(false);
    const rows = h.db.prepare('SELECT COUNT(*) AS n FROM downloads').get() as { n: number };
    expect(rows.n).toBe(0);
  });

  it('downloads without T5 and adds it later without fetching the rest again', async () => {
    const h = harness();
    const noT5 = await (await h.service.download(SMALL, { t5: false })).done;
    expect(noT5.files.some((f) => f.path.startsWith('text_encoder_3/') || f.path.startsWith('tokenizer_3/'))).toBe(false);
    expect((await h.service.get(SMALL)).installed?.t5).toBe(false);
    hub.resetStats();
    const full = await (await h.service.download(SMALL, { t5: true })).done;
    expect(full.files.some((f) => f.path === 'text_encoder_3/model.onnx.data')).toBe(true);
    expect(hub.bytesServed(SMALL, BIG_FILE)).toBe(0);
    expect((await h.service.get(SMALL)).installed?.t5).toBe(true);
    expect((await h.service.verify(SMALL)).ok).toBe(true);
  });
});
