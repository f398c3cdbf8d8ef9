// `sd35-studio models add-encoder` run as a user runs it, against the local Hugging Face emulator on 127.0.0.1
// (docs/architecture.md §4 "Add image-to-image support", §8): a model installed by `models download` as an older
// version did (no vae_encoder/ in its folder or its download rows) gets the encoder — exit 0, the repo's bytes in
// the model folder, `models verify` passing over them; a second run says it is already there and fetches nothing;
// a server that keeps failing the file requests ends with an exit ≠ 0 and the reason, and leaves the model folder
// exactly as it was (no partial vae_encoder/), still verified.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../src-shared/errors';
import { startHubEmulator, type HubEmulator } from '../../../e2e/support/hub-emulator';
import { writeTinyModel } from '../../../e2e/support/tiny-model';
import { openDatabase } from '../../core/db';
import { CLI } from '../../testing/processes';
import { fileSizes } from '../../testing/folder-snapshot';
import { removeTempDirs, tempDir } from '../../testing/temp';

const REPO = 'acme/tiny-i2i';
const ENCODER_FILES = ['vae_encoder/model.onnx', 'vae_encoder/model.onnx.data'];

let hub: HubEmulator;
let repoFolder: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  repoFolder = path.join(tempDir('cli-i2i-repo'), 'repo');
  await writeTinyModel(repoFolder, { layout: 'tensorstack', io: 'fp16', size: 'micro', vaeEncoder: true });
  // 256 bytes: the encoder's graph and weights are LFS files (sha256 in the tree), as on the Hub.
  hub = await startHubEmulator({ repos: { [REPO]: { folder: repoFolder } }, lfsThreshold: 256 });
  env = { ...process.env, HF_ENDPOINT: hub.endpoint, HF_HOME: tempDir('cli-i2i-hf'), HF_TOKEN: '' };
}, 120_000);

afterAll(async () => {
  await hub?.close();
  removeTempDirs();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(dataDir: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args, '--data-dir', dataDir], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const lastJson = (s: string) => JSON.parse(s.trim().split('\n').at(-1)!) as Record<string, unknown>;

/** `models download` with the CLI, then the model made as an older version left it: no vae_encoder/, no rows of it. */
async function installWithoutEncoder(dataDir: string): Promise<string> {
  const r = await cli(dataDir, ['models', 'download', REPO, '--json']);
  expect(r.code, r.stderr).toBe(0);
  const modelDir = lastJson(r.stdout).path as string;
  expect(fs.existsSync(path.join(modelDir, ENCODER_FILES[0]!))).toBe(true);
  fs.rmSync(path.join(modelDir, 'vae_encoder'), { recursive: true });
  const db = openDatabase(path.join(dataDir, 'studio.db'));
  try {
    db.prepare("DELETE FROM downloads WHERE path LIKE 'vae_encoder/%'").run();
  } finally {
    db.close();
  }
  return modelDir;
}

/** File requests the emulator saw for the encoder (at the Hub's resolve or the CDN by content hash). */
function encoderRequests(): number {
  const shas = new Set(hub.repoInfo(REPO).files.filter((f) => ENCODER_FILES.includes(f.path)).map((f) => f.sha256));
  return hub.stats.requests.filter((r) => (r.server === 'cdn' ? shas.has(r.path.split('/').pop()!) : /\/resolve\/[0-9a-f]{40}\/vae_encoder\//.test(decodeURIComponent(r.path)))).length;
}

describe('sd35-studio models add-encoder', () => {
  let dataDir: string;
  let modelDir: string;

  it('downloads only the VAE encoder of an installed model, verified: exit 0, the files present, models verify passes', async () => {
    dataDir = tempDir('cli-i2i-data');
    modelDir = await installWithoutEncoder(dataDir);
    const list = await cli(dataDir, ['models', 'list', '--json']);
    const listed = list.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; installed?: { vaeEncoder?: boolean } });
    expect(listed.find((m) => m.id === REPO)?.installed?.vaeEncoder).toBe(false);
    hub.resetStats();

    const r = await cli(dataDir, ['models', 'add-encoder', REPO, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Adding image-to-image support to ${REPO}`);
    const out = lastJson(r.stdout);
    expect(out.model).toBe(REPO);
    expect(out.path).toBe(modelDir);
    expect((out.files as { path: string }[]).map((f) => f.path).sort()).toEqual(ENCODER_FILES);
    // The repo's bytes, fetched from the emulator (nothing else of the model was fetched again).
    for (const f of ENCODER_FILES) expect(fs.readFileSync(path.join(modelDir, f)).equals(fs.readFileSync(path.join(repoFolder, f))), f).toBe(true);
    expect(hub.bytesServed(REPO, 'unet/model.onnx.data')).toBe(0);

    const verify = await cli(dataDir, ['models', 'verify', REPO, '--json']);
    expect(verify.code, verify.stderr).toBe(0);
    const report = lastJson(verify.stdout) as { ok: boolean; files: { path: string; ok: boolean }[] };
    expect(report.ok).toBe(true);
    for (const f of ENCODER_FILES) expect(report.files.find((v) => v.path === f), f).toMatchObject({ ok: true });
  }, 180_000);

  it('a second run says the encoder is already there and downloads nothing', async () => {
    hub.resetStats();
    const r = await cli(dataDir, ['models', 'add-encoder', REPO]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${REPO} already has the VAE encoder: image to image works.`);
    expect(encoderRequests()).toBe(0);
    const json = await cli(dataDir, ['models', 'add-encoder', REPO, '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(lastJson(json.stdout)).toMatchObject({ id: REPO, state: 'present' });
  }, 120_000);

  it('a server that keeps failing the files: exit ≠ 0 with the reason, the model folder as it was and still verified', async () => {
    const dir = tempDir('cli-i2i-fail');
    const folder = await installWithoutEncoder(dir);
    const before = fileSizes(folder);
    hub.resetStats();
    // Every file request answers 503 (Retry-After: 0, so the retry budget runs out at once).
    hub.setFaults({ fail503: { count: 1_000_000, retryAfterSeconds: 0, scope: 'resolve' } });
    let r: Run;
    try {
      r = await cli(dir, ['models', 'add-encoder', REPO]);
    } finally {
      hub.setFaults({});
    }
    expect(hub.stats.failed503).toBeGreaterThan(0);
    expect(r.code, r.stderr).toBe(ERROR_CODES.network.exit);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/vae_encoder\/model\.onnx/);
    expect(r.stderr).toMatch(/503/);
    // Nothing half-written: no vae_encoder/ (not even an empty one), every other file as it was.
    expect(fs.existsSync(path.join(folder, 'vae_encoder'))).toBe(false);
    expect(fileSizes(folder)).toEqual(before);
    const verify = await cli(dir, ['models', 'verify', REPO, '--json']);
    expect(verify.code, verify.stderr).toBe(0);
    expect(lastJson(verify.stdout).ok).toBe(true);
    const listed = (await cli(dir, ['models', 'list', '--json'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; installed?: { vaeEncoder?: boolean } });
    expect(listed.find((m) => m.id === REPO)?.installed?.vaeEncoder).toBe(false);
  }, 180_000);
});
