// The LoRA and upscaler stores' `load` (through THE busy/error wrapper, stores/attempt.ts): the list as answered,
// `loaded` after the answer or the failure, a failure keeps the last list and says why, the next answer clears it.
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { StudioError } from '../../src-shared/errors';
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
  { name: 'upscalers', use: () => useUpscalersStore(), list: (s: ReturnType<typeof useUpscalersStore>) => s.imported.map((u) => u.name), want: ['esrgan-x2'] },
  { name: 'loras', use: () => useLorasStore(), list: (s: ReturnType<typeof useLorasStore>) => s.entries.map((e) => e.name), want: ['ink'] },
] as const;

describe.each(stores)('the $name store’s load', ({ use, list, want }) => {
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
});
