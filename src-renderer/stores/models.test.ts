// The models store over a fake client (stores/models.ts): one subscription, the list re-read when the core says
// something changed (coalesced), a failed download's error kept under its id with only http(s) links, actions
// that clear their busy mark and keep their error, and the token's errors.
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ResultOf } from '../../src-shared/api';
import { StudioError } from '../../src-shared/errors';
import { setStudio } from '../studio';
import { fakeClient, type FakeClient } from '../testing/fake-client';
import { toModelError, useModelsStore } from './models';

type Entry = ResultOf<'models.list'>['models'][number];
const entry = (id: string, state: Entry['state']): Entry => ({
  id,
  source: 'catalog',
  displayName: id,
  catalogId: 'sd3.5-medium',
  state,
  ...(state === 'installed' ? { installed: { path: `/models/${id}`, layout: 'optimum' as const, t5: true } } : {}),
  sizeOnDisk: state === 'installed' ? 5 : 0,
});

describe('models store', () => {
  let client: FakeClient;
  let listed: Entry[];
  let listCalls: number;
  let release: (() => void) | undefined;
  beforeEach(() => {
    setActivePinia(createPinia());
    listed = [entry('sd3.5-medium', 'not-installed')];
    listCalls = 0;
    release = undefined;
    client = fakeClient({
      'models.list': async () => {
        listCalls++;
        if (release === null) await new Promise<void>((r) => (release = r));
        return { models: listed, modelsDir: '/m', freeDiskBytes: null, machine: { ramBytes: 1 } };
      },
      'models.tokenStatus': () => ({ source: 'none', state: 'none', storage: 'none', message: 'No token.' }),
      'models.remove': ({ id }) => {
        if (id === 'gone') throw new StudioError('not_found', 'No model gone.');
        listed = listed.filter((m) => m.id !== id);
        return {};
      },
      'models.setToken': () => {
        throw new StudioError('auth_rejected', 'Hugging Face rejected this token.');
      },
    });
    setStudio(client);
  });

  it('start loads the list and the token and listens once, however often it is called', async () => {
    const m = useModelsStore();
    await m.start();
    await m.start();
    await m.watchList();
    expect(client.listenerCount('models.event')).toBe(1);
    expect(m.models.map((x) => x.id)).toEqual(['sd3.5-medium']);
    expect(m.token?.state).toBe('none');
    m.stop();
    expect(client.listenerCount('models.event')).toBe(0);
  });

  it('refreshes asked while one is in flight coalesce into one more list call', async () => {
    const m = useModelsStore();
    release = null as unknown as undefined; // hold the first answer
    const first = m.refresh();
    await vi.waitFor(() => expect(release).toBeTypeOf('function'));
    const held = release!;
    release = undefined;
    void m.refresh();
    void m.refresh();
    void m.refresh();
    held();
    await first;
    expect(listCalls).toBe(2);
    expect(m.loading).toBe(false);
  });

  it('a failed download: the error under its id (http links only), the entry failed, the list read again', async () => {
    const m = useModelsStore();
    await m.watchList();
    const before = listCalls;
    client.emit('models.event', { type: 'download-started', id: 'sd3.5-medium', repo: 'stabilityai/x', commit: 'c', totalBytes: 10, files: [{ path: 'a.onnx', size: 10 }] });
    expect(m.models[0]!.state).toBe('downloading');
    listed = [entry('sd3.5-medium', 'failed')];
    client.emit('models.event', {
      type: 'download-failed',
      id: 'sd3.5-medium',
      error: { code: 'licence_not_accepted', message: 'Accept the licence first.', details: { url: 'https://huggingface.co/stabilityai/x', tokensUrl: 'javascript:alert(1)', repo: 'stabilityai/x' } },
    });
    expect(m.errors['sd3.5-medium']).toEqual({ code: 'licence_not_accepted', message: 'Accept the licence first.', url: 'https://huggingface.co/stabilityai/x', repo: 'stabilityai/x' });
    expect(m.models[0]!.state).toBe('failed');
    expect(m.live['sd3.5-medium']).toBeUndefined();
    await vi.waitFor(() => expect(listCalls).toBe(before + 1));
    // Completed: the error goes and the list says installed.
    listed = [entry('sd3.5-medium', 'installed')];
    client.emit('models.event', { type: 'download-completed', id: 'sd3.5-medium', result: { model: 'sd3.5-medium', repo: 'stabilityai/x', commit: 'c', path: '/models/sd3.5-medium', files: [] } });
    expect(m.errors['sd3.5-medium']).toBeUndefined();
    await vi.waitFor(() => expect(m.models[0]!.state).toBe('installed'));
    expect(m.usedBytes).toBe(5);
  });

  it('models-changed re-reads the list (a model imported elsewhere appears)', async () => {
    const m = useModelsStore();
    await m.watchList();
    listed = [...listed, entry('mine', 'installed')];
    client.emit('models.event', { type: 'models-changed' });
    await vi.waitFor(() => expect(m.models.map((x) => x.id)).toEqual(['sd3.5-medium', 'mine']));
  });

  it('remove: done → gone from the list; refused → the error under its id; the busy mark is cleared both times', async () => {
    const m = useModelsStore();
    listed = [entry('sd3.5-medium', 'installed')];
    await m.watchList();
    expect(await m.remove('sd3.5-medium')).toBe(true);
    expect(m.models).toEqual([]);
    expect(await m.remove('gone')).toBe(false);
    expect(m.errors.gone).toMatchObject({ code: 'not_found', message: 'No model gone.' });
    expect(m.busy).toEqual({});
  });

  it('a rejected token says why and leaves the status as it was', async () => {
    const m = useModelsStore();
    await m.loadToken();
    expect(await m.setToken('hf_bad')).toBe(false);
    expect(m.tokenError).toBe('Hugging Face rejected this token.');
    expect([m.token?.state, m.tokenBusy]).toEqual(['none', false]);
  });

  it('toModelError keeps only http(s) links and a numeric shortfall', () => {
    const e = toModelError(new StudioError('disk_full', 'Not enough space.', { url: 'file:///etc/passwd', shortfallBytes: 12, repo: '' }));
    expect(e).toEqual({ code: 'disk_full', message: 'Not enough space.', shortfallBytes: 12 });
  });
});
