// The LoRA and upscaler stores' list (THE library list, stores/library-list.ts): `load` through THE busy/error wrapper
// (the list as answered, `loaded` after the answer or the failure, a failure keeps the last list and says why, the
// next answer clears it); `subscribe` keeps an import's progress from the `changed` event and reads the list again
// only when no import runs, once however often it is called.
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { StudioError } from '../../src-shared/errors';
import { progress } from '../../src-shared/progress';
import type { LoraEntryView } from '../../src-shared/schemas/loras';
import type { UpscalerInfo } from '../../src-shared/upscale';
import { setStudio } from '../studio';
import { fakeClient, type FakeClient } from '../testing/fake-client';
import { useLorasStore } from './loras';
import { useUpscalersStore } from './upscalers';

let client: FakeClient;
let fail: string | undefined;
const upscaler: UpscalerInfo = { name: 'esrgan-x2', scale: 2, bytes: 1000, sha256: 'a'.repeat(64) };

beforeEach(() => {
  setActivePinia(createPinia());
  fail = undefined;
  client = fakeClient({
    'upscalers.list': () => {
      if (fail) throw new StudioError('internal', fail);
      return { upscalers: [upscaler] };
    },
    'loras.list': () => {
      if (fail) throw new StudioError('internal', fail);
      return { loras: [{ name: 'ink' } as unknown as LoraEntryView] };
    },
  });
  setStudio(client);
});

const stores = [
  { name: 'upscalers', event: 'upscalers.changed', use: () => useUpscalersStore(), list: (s: ReturnType<typeof useUpscalersStore>) => s.imported.map((u) => u.name), want: ['esrgan-x2'] },
  { name: 'loras', event: 'loras.changed', use: () => useLorasStore(), list: (s: ReturnType<typeof useLorasStore>) => s.entries.map((e) => e.name), want: ['ink'] },
] as const;

const listCalls = () => client.calls.filter((c) => c.method.endsWith('.list')).length;
const settle = () => new Promise((r) => setTimeout(r, 0));

describe.each(stores)('the $name store’s list', ({ event, use, list, want }) => {
  it('takes the list, marks it loaded; a failure keeps the list and says why; the next answer clears the error', async () => {
    const store = use();
    expect(store.loaded).toBe(false);
    fail = 'the server is gone';
    await store.load();
    expect(store.loaded).toBe(true);
    expect(store.error).toBe('the server is gone');
    expect(list(store as never)).toEqual([]);
    fail = undefined;
    await store.load();
    expect(list(store as never)).toEqual(want);
    expect(store.error).toBeUndefined();
    fail = 'again';
    await store.load();
    expect(store.error).toBe('again');
    expect(list(store as never)).toEqual(want);
  });

  it('subscribe: an import’s progress is kept and the list read again only when it is not running; subscribing twice listens once', async () => {
    const store = use();
    store.subscribe();
    store.subscribe();
    const running = progress('download', { status: 'running', done: 10, total: 100 });
    client.emit(event, { kind: 'import', progress: running });
    await settle();
    expect(store.progress).toEqual(running);
    expect(listCalls()).toBe(0);
    const done = progress('download', { status: 'done', done: 100, total: 100 });
    client.emit(event, { kind: 'import', progress: done });
    await settle();
    expect(store.progress).toEqual(done);
    expect(listCalls()).toBe(1);
    expect(list(store as never)).toEqual(want);
    client.emit(event, { kind: 'remove' });
    await settle();
    expect(listCalls()).toBe(2);
  });
});
