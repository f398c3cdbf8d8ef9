// `sd35-studio models …` against the local Hugging Face emulator: the JSON result line, exit codes
// for auth / not found, list, verify and remove.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubEmulator, type HubEmulator } from '../../../e2e/support/hub-emulator';
import path from 'node:path';
import { writeTinyModel } from '../../../e2e/support/tiny-model';
import { cachedSd3Repo } from '../../testing/models/repo-fixture';
import { CLI } from '../../testing/processes';
import { removeTempDirs, tempDir } from '../../testing/temp';

let hub: HubEmulator;
let dataDir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  const folder = await cachedSd3Repo('cli-v1', { layout: 'tensorstack', seed: 5, transformerBytes: 3 * 1024 * 1024, t5Bytes: 256 * 1024 });
  const olive = path.join(tempDir(), 'olive');
  await writeTinyModel(olive, { layout: 'tensorstack', io: 'fp16', size: 'micro', flavor: 'olive' });
  hub = await startHubEmulator({
    repos: { 'acme/tiny-sd35': { folder }, 'acme/gated-sd35': { folder, gated: 'licence' }, 'acme/olive-sd35': { folder: olive } },
    tokens: { hf_validButNotGranted0000: [] },
    lfsThreshold: 1024 * 1024,
  });
  dataDir = tempDir();
  env = { ...process.env, HF_ENDPOINT: hub.endpoint, HF_HOME: tempDir(), HF_TOKEN: '' };
});
afterAll(async () => {
  await hub?.close();
  removeTempDirs();
});

function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args, '--data-dir', dataDir], { env: { ...env, ...extraEnv } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const lastJson = (s: string) => JSON.parse(s.trim().split('\n').at(-1)!);

describe('sd35-studio models', () => {
  it('downloads a repo, verified, and prints the result as the last JSON line', async () => {
    const r = await cli(['models', 'download', 'acme/tiny-sd35', '--json']);
    expect(r.stderr).not.toContain('hf_');
    expect(r.code).toBe(0);
    const out = lastJson(r.stdout);
    expect(out.model).toBe('acme/tiny-sd35');
    expect(out.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(out.path).toContain(`acme--tiny-sd35`);
    expect(out.files.length).toBeGreaterThan(5);
    for (const f of out.files) expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(out.files.some((f: { path: string }) => f.path.startsWith('unet/'))).toBe(true);
  });

  it('tells whether the model runs here before the large files (olive flavor: 4 operators rewritten)', async () => {
    const r = await cli(['models', 'download', 'acme/olive-sd35']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n');
    const verdict = lines.findIndex((l) => l.includes('On this machine the model runs here on the CPU with 4 operators rewritten'));
    expect(verdict, r.stderr).toBeGreaterThan(-1);
    // Non-TTY: each verified file is listed; every graph before the verdict, the external data after it.
    const verifiedAt = (p: string) => lines.findIndex((l) => l.includes(`verified ${p}`));
    expect(verifiedAt('unet/model.onnx')).toBeGreaterThan(-1);
    expect(verifiedAt('unet/model.onnx')).toBeLessThan(verdict);
    expect(verifiedAt('unet/model.onnx.data')).toBeGreaterThan(verdict);
  });

  it('lists it as installed, verifies and removes it', async () => {
    const list = await cli(['models', 'list', '--json']);
    const lines = list.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.find((m) => m.id === 'acme/tiny-sd35')?.state).toBe('installed');
    expect(lines.map((m) => m.id)).toEqual(expect.arrayContaining(['sd3.5-medium', 'sd3.5-large-turbo', 'sd3.5-large']));
    const verify = await cli(['models', 'verify', 'acme/tiny-sd35', '--json']);
    expect(verify.code).toBe(0);
    expect(lastJson(verify.stdout).ok).toBe(true);
    const removed = await cli(['models', 'remove', 'acme/tiny-sd35', '--json']);
    expect(removed.code).toBe(0);
  });

  it('exit 3 with the licence message for a gated repo (no token, and a token without access)', async () => {
    const anon = await cli(['models', 'download', 'acme/gated-sd35', '--json']);
    expect(anon.code).toBe(3);
    expect(lastJson(anon.stdout).error.code).toBe('auth_required');
    expect(lastJson(anon.stdout).error.message).toContain('/acme/gated-sd35');
    const denied = await cli(['models', 'download', 'acme/gated-sd35', '--json'], { HF_TOKEN: 'hf_validButNotGranted0000' });
    expect(denied.code).toBe(3);
    expect(lastJson(denied.stdout).error.code).toBe('licence_not_accepted');
    expect(denied.stdout + denied.stderr).not.toContain('hf_validButNotGranted0000');
  });

  it('exit 7 "not found or private" for a repo that does not exist (anonymous 401)', async () => {
    const r = await cli(['models', 'download', 'acme/nope', '--json']);
    expect(r.code).toBe(7);
    expect(lastJson(r.stdout).error.message).toMatch(/not found or private/i);
  });

  it('exit 2 for a malformed reference and for a missing argument', async () => {
    expect((await cli(['models', 'download', 'not a repo!', '--json'])).code).toBe(2);
    expect((await cli(['models', 'verify', '--json'])).code).toBe(2);
  });
});
