// "Add image-to-image support" against the hub emulator on 127.0.0.1 (docs/architecture.md §4): a model installed
// before the VAE encoder was part of the download (its folder and rows without vae_encoder/, and without a file
// today's selection adds) gets only the encoder's files of its installed commit — counted at the emulator —, hashed
// against the tree's LFS sha256, installed; a corrupted file or a cancel leaves the model as it was;
// `models verify` covers the new files; then a real worker that had the model loaded runs image to image on it.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubEmulator, type HubEmulator } from '../../../e2e/support/hub-emulator';
import { writeTinyModel } from '../../../e2e/support/tiny-model';
import { checkModelFolder } from '../../model-folder/layouts';
import { forkSpawner } from '../node-adapters';
import { InferenceHost, type HostGenerateRequest } from '../../inference/host';
import { makeHarness, waitForEvent, type Harness } from '../../testing/models/harness';
import { rejection } from '../../testing/errors';
import { REPO as REPO_ROOT } from '../../testing/processes';
import { fileSizes } from '../../testing/folder-snapshot';
import { removeTempDirs, tempDir } from '../../testing/temp';

const REPO = 'acme/tiny-i2i';
const NO_ENCODER = 'acme/tiny-t2i';
const ENCODER_FILES = ['vae_encoder/model.onnx', 'vae_encoder/model.onnx.data'];
/** A file today's selection takes that the older download did not have (it must not be fetched either). */
const OLDER_SELECTION_LACKED = 'tokenizer/tokenizer_config.json';
const WORKER = path.join(REPO_ROOT, 'out', 'main', 'worker.js');

let hub: HubEmulator;
let folder: string;
const harnesses: Harness[] = [];
const hosts: InferenceHost[] = [];

beforeAll(async () => {
  folder = path.join(tempDir('i2i-repo'), 'repo');
  await writeTinyModel(folder, { layout: 'tensorstack', io: 'fp16', size: 'micro', vaeEncoder: true });
  const noEncoder = path.join(tempDir('t2i-repo'), 'repo');
  await writeTinyModel(noEncoder, { layout: 'tensorstack', io: 'fp16', size: 'micro' });
  // 256 bytes: the encoder's graph and weights are LFS files (sha256 in the tree), as on the Hub.
  hub = await startHubEmulator({ repos: { [REPO]: { folder }, [NO_ENCODER]: { folder: noEncoder } }, lfsThreshold: 256 });
}, 120_000);

afterAll(async () => {
  for (const host of hosts) await host.dispose().catch(() => undefined);
  while (harnesses.length) await harnesses.pop()!.close();
  await hub?.close();
  removeTempDirs();
});

/** The model as an older version installed it: downloaded and verified, but its selection had no vae_encoder/. */
async function installWithoutEncoder(repo = REPO): Promise<{ h: Harness; modelDir: string; commit: string }> {
  const h = makeHarness({ endpoint: hub.endpoint });
  harnesses.push(h);
  const result = await (await h.service.download(repo)).done;
  const modelDir = result.path;
  fs.rmSync(path.join(modelDir, 'vae_encoder'), { recursive: true, force: true });
  fs.rmSync(path.join(modelDir, OLDER_SELECTION_LACKED), { force: true });
  h.db.prepare("DELETE FROM downloads WHERE path LIKE 'vae_encoder/%' OR path = ?").run(OLDER_SELECTION_LACKED);
  hub.resetStats();
  h.events.length = 0;
  return { h, modelDir, commit: result.commit };
}

/** The encoder's files as the emulator serves them (its own hashing of the folder, not the studio's). */
function encoderInfo() {
  const info = hub.repoInfo(REPO);
  return info.files.filter((f) => ENCODER_FILES.includes(f.path)).sort((a, b) => a.path.localeCompare(b.path));
}

/** File requests (resolve on the Hub, or the CDN by content hash), as repo paths. */
function fileRequests(): string[] {
  const bySha = new Map(hub.repoInfo(REPO).files.map((f) => [f.sha256, f.path]));
  return hub.stats.requests.flatMap((r) => {
    if (r.server === 'cdn') return [bySha.get(r.path.split('/').pop()!) ?? r.path];
    const m = /\/resolve\/[0-9a-f]{40}\/(.+)$/.exec(decodeURIComponent(r.path));
    return m ? [m[1]!] : [];
  });
}

describe('Add image-to-image support (the VAE encoder of an installed model)', () => {
  let h: Harness;
  let modelDir: string;

  it('lists the model without the encoder and plans only the encoder files, sized from the tree', async () => {
    ({ h, modelDir } = await installWithoutEncoder());
    const entry = await h.service.get(REPO);
    expect(entry).toMatchObject({ state: 'installed', installed: { vaeEncoder: false } });
    const plan = await h.service.addEncoder(REPO, { dryRun: true });
    const expected = encoderInfo();
    expect(plan).toMatchObject({ id: REPO, repo: REPO, state: 'planned' });
    expect(plan.files).toEqual(expected.map((f) => ({ path: f.path, size: f.size })));
    expect(plan.totalBytes).toBe(fs.statSync(path.join(folder, ENCODER_FILES[0]!)).size + fs.statSync(path.join(folder, ENCODER_FILES[1]!)).size);
    // The dry run reads the tree only; a second one is answered from the first (a commit's tree never changes).
    expect(fileRequests()).toEqual([]);
    const apiCalls = hub.stats.requests.length;
    expect(apiCalls).toBeGreaterThan(0);
    await h.service.addEncoder(REPO, { dryRun: true });
    expect(hub.stats.requests.length).toBe(apiCalls);
  });

  it('fetches only the encoder files, verified against the tree sha256, and installs them in one piece', async () => {
    hub.resetStats();
    const before = fileSizes(modelDir);
    const started = await h.service.addEncoder(REPO);
    const expected = encoderInfo();
    const total = expected.reduce((s, f) => s + f.size, 0);
    expect(started).toMatchObject({ state: 'started', totalBytes: total });
    // (That vae_encoder/ moves in with one rename is install.test.ts's.)
    await h.service.running(REPO)!.done;
    // Only the encoder's files were requested (at the Hub and the CDN), each body served once, whole.
    expect([...new Set(fileRequests())].sort()).toEqual(ENCODER_FILES);
    for (const f of expected) expect(hub.bytesServed(REPO, f.path), f.path).toBe(f.size);
    expect(hub.bytesServed(REPO, OLDER_SELECTION_LACKED)).toBe(0);
    expect(hub.bytesServed(REPO, 'unet/model.onnx.data')).toBe(0);
    // The same download's events, sized as the encoder (not the whole model).
    const startedEvent = h.events.find((e) => e.type === 'download-started');
    expect(startedEvent).toMatchObject({ totalBytes: total, files: expected.map((f) => ({ path: f.path, size: f.size })) });
    const verified = h.events.filter((e) => e.type === 'file-verified');
    expect(verified.map((e) => [e.path, e.sha256]).sort()).toEqual(expected.map((f) => [f.path, f.sha256]));
    // Installed: the bytes of the repo, the folder check sees the encoder, the entry offers image to image.
    for (const f of ENCODER_FILES) expect(fs.readFileSync(path.join(modelDir, f)).equals(fs.readFileSync(path.join(folder, f))), f).toBe(true);
    expect(fileSizes(modelDir)).toEqual([...before, ...expected.map((f) => `${f.path} ${f.size}`)].sort());
    const check = await checkModelFolder(modelDir);
    expect(check).toMatchObject({ ok: true, vaeEncoder: true, problems: [] });
    expect(check.components.vae_encoder?.file).toBe('vae_encoder/model.onnx');
    const entry = await h.service.get(REPO);
    expect(entry.state).toBe('installed');
    expect(entry.installed?.vaeEncoder).toBe(true);
    expect(entry.download).toBeUndefined();
    expect(fs.existsSync(path.join(h.modelsDir, '.staging'))).toBe(false);
    expect(await h.service.addEncoder(REPO, { dryRun: true })).toMatchObject({ state: 'present', files: [], totalBytes: 0 });
  });

  it('models verify covers the added files and names a tampered encoder file', async () => {
    const ok = await h.service.verify(REPO);
    expect(ok.ok).toBe(true);
    for (const f of encoderInfo()) expect(ok.files.find((v) => v.path === f.path), f.path).toMatchObject({ ok: true, sha256: f.sha256 });
    const file = path.join(modelDir, 'vae_encoder', 'model.onnx.data');
    const bytes = fs.readFileSync(file);
    bytes[10] = bytes[10]! ^ 0xff;
    fs.writeFileSync(file, bytes);
    const bad = await h.service.verify(REPO);
    expect(bad.ok).toBe(false);
    expect(bad.problems.join('\n')).toContain('vae_encoder/model.onnx.data has sha256');
    bytes[10] = bytes[10]! ^ 0xff;
    fs.writeFileSync(file, bytes);
    expect((await h.service.verify(REPO)).ok).toBe(true);
  });

  it('a corrupted encoder file is refused, nothing is installed, and the model stays usable; resuming fetches only that file', async () => {
    const { h: h2, modelDir: dir } = await installWithoutEncoder();
    const before = fileSizes(dir);
    hub.setFaults({ corruptByte: { path: 'vae_encoder/model.onnx.data', offset: 100 } });
    try {
      await h2.service.addEncoder(REPO);
      const err = await rejection(h2.service.running(REPO)!.done);
      expect(err.code).toBe('verification_failed');
      expect(err.message).toContain('vae_encoder/model.onnx.data');
    } finally {
      hub.setFaults({});
    }
    expect(fileSizes(dir)).toEqual(before);
    const failed = await h2.service.get(REPO);
    expect(failed).toMatchObject({ state: 'failed', installed: { vaeEncoder: false }, download: { adds: 'vae-encoder', progress: { task: 'download', status: 'failed', total: encoderInfo().reduce((s, f) => s + f.size, 0) } } });
    expect((await h2.service.resolveInstalled(REPO)).path).toBe(dir);
    expect((await h2.service.verify(REPO)).ok).toBe(true);
    hub.resetStats();
    await (await h2.service.resume(REPO)).done;
    // The graph verified before the failure stays; only the refused file is fetched again.
    expect([...new Set(fileRequests())]).toEqual(['vae_encoder/model.onnx.data']);
    expect((await h2.service.get(REPO)).installed?.vaeEncoder).toBe(true);
  });

  it('cancel leaves the model as it was (files, rows, entry)', async () => {
    const { h: h3, modelDir: dir } = await installWithoutEncoder();
    const before = fileSizes(dir);
    const rowsBefore = h3.db.prepare('SELECT path, state, sha256 FROM downloads ORDER BY path').all();
    hub.setFaults({ bytesPerSecond: 100 });
    try {
      await h3.service.addEncoder(REPO);
      const done = h3.service.running(REPO)!.done;
      await waitForEvent(h3, (e) => e.type === 'download-progress' && e.progress.done > 0);
      expect((await h3.service.get(REPO)).state).toBe('downloading');
      await h3.service.cancel(REPO);
      expect((await rejection(done)).code).toBe('cancelled');
    } finally {
      hub.setFaults({});
    }
    expect(fileSizes(dir)).toEqual(before);
    expect(h3.db.prepare('SELECT path, state, sha256 FROM downloads ORDER BY path').all()).toEqual(rowsBefore);
    const entry = await h3.service.get(REPO);
    expect(entry).toMatchObject({ state: 'installed', installed: { vaeEncoder: false } });
    expect(entry.download).toBeUndefined();
    expect(fs.existsSync(path.join(h3.modelsDir, '.staging'))).toBe(false);
  });

  it('a worker that had the model loaded runs image to image on it once the encoder is added', async () => {
    const { h: h4, modelDir: dir } = await installWithoutEncoder();
    const host = new InferenceHost({ spawner: forkSpawner, entry: WORKER, threads: 1, env: { ...process.env, SD35_TEST_MODE: '1' }, log: () => undefined });
    hosts.push(host);
    const rgb = new Uint8Array(64 * 64 * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 7) % 251;
    const base = { prompt: 'a lighthouse at dusk', negativePrompt: '', seed: '42', steps: 4, guidance: 4.5, width: 64, height: 64, t5: true };
    const job = (image?: { rgb: Uint8Array; strength: number }): HostGenerateRequest => ({ folder: dir, ep: 'cpu', memory: 'balanced', request: { ...base, ...(image ? { image } : {}) } });
    const text = await host.generate(job());
    const refused = await rejection(host.generate(job({ rgb, strength: 0.5 })));
    expect(refused.message).toMatch(/no VAE encoder/);
    expect(refused.message).toContain('Add image-to-image support');
    await h4.service.addEncoder(REPO);
    await h4.service.running(REPO)!.done;
    const varied = await host.generate(job({ rgb, strength: 0.5 }));
    expect(varied.modelReused).toBe(false);
    expect(varied.rgb.length).toBe(64 * 64 * 3);
    expect(Buffer.from(varied.rgb).equals(Buffer.from(text.rgb))).toBe(false);
    expect(host.stats.spawns).toBe(1);
  }, 120_000);

  it('refuses in words: an imported folder, a repo without an encoder, a model that is not installed', async () => {
    const h5 = makeHarness({ endpoint: hub.endpoint });
    harnesses.push(h5);
    const copy = path.join(tempDir('imported'), 'tiny');
    fs.cpSync(folder, copy, { recursive: true });
    fs.rmSync(path.join(copy, 'vae_encoder'), { recursive: true });
    const imported = await h5.service.import(copy);
    const fromFolder = await rejection(h5.service.addEncoder(imported.id, { dryRun: true }));
    expect(fromFolder.code).toBe('invalid_input');
    expect(fromFolder.message).toMatch(/imported from the folder .* no Hugging Face repository/);
    expect((await rejection(h5.service.addEncoder('sd3.5-medium'))).code).toBe('not_found');
    await (await h5.service.download(NO_ENCODER)).done;
    const none = await rejection(h5.service.addEncoder(NO_ENCODER, { dryRun: true }));
    expect(none.code).toBe('not_found');
    expect(none.message).toContain('has no VAE encoder (vae_encoder/model.onnx)');
    expect((await rejection(h5.service.addEncoder(NO_ENCODER))).code).toBe('not_found');
    expect((await h5.service.get(NO_ENCODER)).state).toBe('installed');
  });
});
