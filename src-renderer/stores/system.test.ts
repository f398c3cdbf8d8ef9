// The system store over a fake client (stores/system.ts): what the status bar says about execution providers,
// settings saved and pushed by the core, and errors kept as text.
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Settings, SystemInfo } from '../../src-shared/api';
import { StudioError } from '../../src-shared/errors';
import { setStudio } from '../studio';
import { fakeClient, type FakeClient } from '../testing/fake-client';
import { useSystemStore } from './system';

const info = (eps: SystemInfo['executionProviders']): SystemInfo => ({
  appVersion: '1.0.0',
  platform: 'linux',
  arch: 'x64',
  runtime: 'browser',
  versions: {},
  executionProviders: eps,
  dataDir: '/data',
  modelsDir: '/data/models',
  freeDiskBytes: null,
  primary: true,
  notices: [],
});
const settings: Settings = { theme: 'system', executionProvider: 'auto', memoryMode: 'balanced', modelsDir: '/data/models', livePreviews: true, idleUnloadMinutes: 10 };

describe('system store', () => {
  let client: FakeClient;
  let eps: SystemInfo['executionProviders'];
  beforeEach(() => {
    setActivePinia(createPinia());
    eps = [
      { name: 'cpu', bundled: true },
      { name: 'cuda', bundled: false, installed: false },
    ];
    let current = settings;
    client = fakeClient({
      'system.info': () => info(eps),
      'settings.get': () => current,
      'settings.set': (patch) => {
        if (patch.memoryMode === 'fast' && patch.executionProvider === 'cpu') throw new StudioError('invalid_input', 'Not on this machine.');
        return (current = { ...current, ...patch });
      },
    });
    setStudio(client);
  });

  it('the provider label: CPU only when no GPU provider is usable, the usable ones listed, a fixed choice in capitals', async () => {
    const s = useSystemStore();
    expect(s.epLabel).toBe('…');
    await s.load();
    expect(s.epLabel).toBe('Auto (CPU only)'); // cuda is listed but not installed
    eps = [
      { name: 'cpu', bundled: true },
      { name: 'cuda', bundled: false, installed: true },
      { name: 'webgpu', bundled: true },
    ];
    await s.load();
    expect(s.epLabel).toBe('Auto (cpu, cuda, webgpu)');
    await s.update({ executionProvider: 'cuda' });
    expect(s.epLabel).toBe('CUDA');
  });

  it('a new models folder shows at once in the system facts; a refused change keeps the error and rethrows it', async () => {
    const s = useSystemStore();
    await s.load();
    await s.update({ modelsDir: '/big/models' });
    expect([s.settings?.modelsDir, s.info?.modelsDir, s.saving, s.error]).toEqual(['/big/models', '/big/models', false, undefined]);
    await expect(s.update({ memoryMode: 'fast', executionProvider: 'cpu' })).rejects.toMatchObject({ code: 'invalid_input' });
    expect([s.error, s.saving, s.settings?.memoryMode]).toEqual(['Not on this machine.', false, 'balanced']);
  });

  it('settings changed elsewhere (settings.changed) replace the shown ones until unsubscribed', async () => {
    const s = useSystemStore();
    await s.load();
    const stop = s.listen();
    client.emit('settings.changed', { ...settings, theme: 'dark' });
    expect(s.settings?.theme).toBe('dark');
    stop();
    client.emit('settings.changed', { ...settings, theme: 'light' });
    expect(s.settings?.theme).toBe('dark');
  });

  it('an unreachable core is shown as text', async () => {
    client.handlers['system.info'] = () => {
      throw new StudioError('unavailable', 'Cannot reach the studio server.');
    };
    const s = useSystemStore();
    await s.load();
    expect(s.error).toBe('Cannot reach the studio server.');
  });
});
