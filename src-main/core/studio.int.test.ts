// StudioCore as the app, CLI and serve open it: system.info, diagnostics (never a token), notices
// after an unclean shutdown.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../testing/temp';
import { isProcessAlive } from './lock';
import { nodeAdapters } from './node-adapters';
import { StudioCore } from './studio';

afterAll(removeTempDirs);

const TOKEN = 'hf_diagnosticsMustNeverShowThis123';

async function open(dataDir: string) {
  const env = { HF_HOME: tempDir(), HF_TOKEN: TOKEN, HF_ENDPOINT: 'http://127.0.0.1:9' };
  return StudioCore.open({
    dataDir,
    adapters: nodeAdapters(env),
    env,
    runtime: 'cli',
    appVersion: '1.2.3',
    versions: { electron: '42.0.0' },
    listExecutionProviders: async () => [
      { name: 'cpu', bundled: true },
      { name: 'cuda', bundled: false, installed: false },
    ],
  });
}

describe('StudioCore', () => {
  it('reports GPU memory in system.info and diagnostics, and the fit check gets the provider it assumes', async () => {
    const dataDir = tempDir();
    const env = { HF_HOME: tempDir(), HF_ENDPOINT: 'http://127.0.0.1:9' };
    const gpu = { kind: 'dedicated' as const, totalBytes: 12 * 2 ** 30, freeBytes: 11 * 2 ** 30, name: 'NVIDIA GeForce RTX 3060', source: 'nvidia-smi' as const };
    const core = await StudioCore.open({
      dataDir,
      adapters: nodeAdapters(env),
      env,
      runtime: 'cli',
      appVersion: '1.2.3',
      listExecutionProviders: async () => [{ name: 'cpu', bundled: true }, { name: 'cuda', bundled: false, installed: true }],
      gpuMemory: async () => gpu,
    });
    try {
      const info = await core.api['system.info']({});
      expect(info.gpuMemory).toEqual(gpu);
      expect(info.ramBytes).toBe(os.totalmem());
      expect((await core.api['system.diagnostics']({})).text).toContain('GPU memory: 12.9 GB (NVIDIA GeForce RTX 3060, nvidia-smi; 11.8 GB free)');
      const list = await core.api['models.list']({});
      if (process.platform === 'linux') expect(list.machine).toEqual({ ramBytes: os.totalmem(), provider: 'cuda', vramBytes: gpu.totalBytes });
      await core.api['settings.set']({ executionProvider: 'cpu' });
      expect((await core.api['models.list']({})).machine).toEqual({ ramBytes: os.totalmem(), provider: 'cpu' });
    } finally {
      core.close();
    }
  });

  it('reports versions, EPs, folders and free disk, and diagnostics never carry a token', async () => {
    const dataDir = tempDir();
    const core = await open(dataDir);
    try {
      await core.options.adapters.secrets.set('hf_token', 'hf_storedTokenAlsoSecret4567');
      const info = await core.api['system.info']({});
      expect(info).toMatchObject({ appVersion: '1.2.3', runtime: 'cli', dataDir, primary: true, notices: [] });
      expect(info.freeDiskBytes).toBeGreaterThan(0);
      expect(info.versions.electron).toBe('42.0.0');
      const { text } = await core.api['system.diagnostics']({});
      expect(text).toContain('SD3.5 Studio 1.2.3');
      expect(text).toContain(`Data folder: ${dataDir}`);
      expect(text).toContain('cuda (not installed');
      expect(text.match(/^Execution providers:/gm)).toHaveLength(1);
      expect(text).not.toMatch(/^Providers:/m);
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain('hf_storedTokenAlsoSecret4567');
      expect(text).not.toMatch(/hf_[A-Za-z0-9]{8,}/);
    } finally {
      core.close();
    }
    const logs = fs.readFileSync(path.join(dataDir, 'logs', 'studio.log'), 'utf8');
    expect(logs).not.toContain(TOKEN);
  });

  it('after an unclean shutdown it checks the database and reconciles as the new owner', async () => {
    const dataDir = tempDir();
    (await open(dataDir)).close();
    let dead = 4_100_000;
    while (isProcessAlive(dead)) dead++;
    fs.writeFileSync(path.join(dataDir, 'studio.lock'), JSON.stringify({ pid: dead, hostname: os.hostname(), startedAt: 1 }));
    const core = await open(dataDir);
    try {
      expect(core.uncleanShutdown).toBe(true);
      expect(core.primary).toBe(true);
      const log = fs.readFileSync(path.join(dataDir, 'logs', 'studio.log'), 'utf8');
      expect(log).toMatch(/integrity check after an unclean shutdown.*"ok":true/);
      expect(log).toMatch(/history reconciled/);
    } finally {
      core.close();
    }
  });

  it('a damaged database is moved aside, a fresh one opens, and the user is told', async () => {
    const dataDir = tempDir();
    (await open(dataDir)).close();
    const db = path.join(dataDir, 'studio.db');
    const bytes = fs.readFileSync(db);
    // Overwrite the second page onwards with garbage (the header stays readable).
    for (let i = 4096; i < bytes.length; i++) bytes[i] = (i * 7) & 255;
    fs.writeFileSync(db, bytes);
    let dead = 4_200_000;
    while (isProcessAlive(dead)) dead++;
    fs.writeFileSync(path.join(dataDir, 'studio.lock'), JSON.stringify({ pid: dead, hostname: os.hostname(), startedAt: 1 }));
    const core = await open(dataDir);
    try {
      const info = await core.api['system.info']({});
      expect(info.notices.join(' ')).toMatch(/corrupt|damaged/i);
      expect(fs.readdirSync(dataDir).some((f) => f.startsWith('studio.db.corrupt-'))).toBe(true);
      expect((await core.api['gallery.query']({})).total).toBe(0);
    } finally {
      core.close();
    }
  });
});
