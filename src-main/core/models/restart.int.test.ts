// Kill the downloading process mid-file (held there by SD35_TEST_HOLD), start it again: the
// download resumes from the part on disk, fetching only the rest.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHubEmulator, type HubEmulator } from '../../../e2e/support/hub-emulator';
import { openDatabase } from '../db';
import { cachedSd3Repo, tempDir } from '../../testing/models/repo-fixture';

const MiB = 1024 * 1024;
const REPO = 'acme/sd3-restart';
const BIG = 'unet/model.onnx.data';
const HOLD_AT = 24_000_000;
const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const CHILD = path.join(__dirname, '..', '..', 'testing', 'models', 'download-child.ts');

let hub: HubEmulator;
let root: string;

beforeAll(async () => {
  const folder = await cachedSd3Repo('restart-64m', { layout: 'tensorstack', seed: 303, transformerBytes: 64 * MiB });
  hub = await startHubEmulator({ repos: { [REPO]: { folder } }, lfsThreshold: MiB });
  root = tempDir('restart');
}, 60_000);

afterAll(async () => {
  await hub?.close();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runChild(args: string[], env: NodeJS.ProcessEnv, onStderr?: (text: string, kill: () => void) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child timed out; stderr: ${stderr}`));
    }, 45_000);
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => {
      stderr += String(d);
      onStderr?.(stderr, () => child.kill('SIGKILL'));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

it('a killed download resumes from its part after a restart', async () => {
  const dataDir = path.join(root, 'data');
  const modelsDir = path.join(dataDir, 'models');
  fs.mkdirSync(dataDir, { recursive: true });
  const env = { HF_ENDPOINT: hub.endpoint, HF_HOME: path.join(root, 'hf'), SD35_CHILD_CONCURRENCY: '1' };

  // 1. Download until the hold point, then SIGKILL.
  let held = false;
  const first = await runChild([dataDir, modelsDir, 'download', REPO], { ...env, SD35_TEST_MODE: '1', SD35_TEST_HOLD: `download-after-bytes:${HOLD_AT}` }, (text, kill) => {
    if (!held && text.includes(`SD35_HOLD download-after-bytes:${HOLD_AT}`)) {
      held = true;
      kill();
    }
  });
  expect(held).toBe(true);
  expect(first.signal).toBe('SIGKILL');

  const commit = hub.repoInfo(REPO).commit;
  const size = hub.repoInfo(REPO).files.find((f) => f.path === BIG)!.size;
  const db = openDatabase(path.join(dataDir, 'studio.db'));
  const row = db.prepare('SELECT bytes_done, etag, state FROM downloads WHERE model_id = ? AND path = ?').get(REPO, BIG) as {
    bytes_done: number;
    etag: string;
    state: string;
  };
  const model = db.prepare('SELECT download_state FROM models WHERE id = ?').get(REPO) as { download_state: string };
  db.close();
  const part = path.join(modelsDir, '.staging', 'acme--sd3-restart', commit, `${BIG}.part`);
  expect(model.download_state).toBe('downloading');
  expect(row.state).toBe('pending');
  expect(row.bytes_done).toBeGreaterThanOrEqual(HOLD_AT);
  expect(row.bytes_done).toBeLessThan(size);
  expect(fs.statSync(part).size).toBe(row.bytes_done);
  expect(row.etag).toMatch(/^"[0-9a-f]{64}"$/);

  // 2. Start again: resumePending picks it up and fetches only the rest of the file. The killed child's
  // socket may close a moment after it died: count only once the emulator has stopped sending to it.
  await expect.poll(() => hub.openBodies(), { timeout: 10_000 }).toBe(0);
  hub.resetStats();
  const second = await runChild([dataDir, modelsDir, 'resume-pending'], env);
  expect(second.code, second.stderr + second.stdout).toBe(0);
  const results = JSON.parse(second.stdout.trim().split('\n').pop()!) as { commit: string; files: { path: string; sha256: string }[] }[];
  expect(results).toHaveLength(1);
  expect(results[0]!.commit).toBe(commit);
  expect(results[0]!.files.find((f) => f.path === BIG)!.sha256).toBe(hub.repoInfo(REPO).files.find((f) => f.path === BIG)!.sha256);
  expect(hub.bytesServed(REPO, BIG)).toBe(size - row.bytes_done);
  const ranged = hub.stats.requests.find((r) => r.server === 'cdn' && r.range);
  expect(ranged?.range).toBe(`bytes=${row.bytes_done}-`);
  expect(ranged?.ifRange).toBe(row.etag);
  expect(fs.existsSync(path.join(modelsDir, 'acme--sd3-restart', commit, BIG))).toBe(true);
  expect(fs.existsSync(path.join(modelsDir, '.staging'))).toBe(false);
}, 120_000);
