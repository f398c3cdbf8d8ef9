// The upscalers store over a fake client (stores/upscalers.ts): an import sends the file's path in the desktop app and
// its bytes through THE chunked upload (upscalers.upload) in a browser, exactly as the LoRA store does; a refusal is
// kept with the file's name and reason; the import's progress comes from upscalers.changed and the list is read again
// when the library changes (not on every running progress event); remove reads the list again.
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StudioError } from '../../src-shared/errors';
import { progress } from '../../src-shared/progress';
import type { UpscalerInfo } from '../../src-shared/upscale';
import { setStudio } from '../studio';
import { fakeClient, type FakeClient } from '../testing/fake-client';
import { useUpscalersStore } from './upscalers';

const X2: UpscalerInfo = { name: 'tiny-x2', scale: 2, bytes: 1890, sha256: 'a'.repeat(64) };

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

/** The browser's FileReader (absent under Node): a data URL of the blob's bytes. */
class NodeFileReader {
  result: string | null = null;
  error: Error | null = null;
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  readAsDataURL(blob: Blob): void {
    void blob.arrayBuffer().then((b) => {
      this.result = `data:application/octet-stream;base64,${toBase64(new Uint8Array(b))}`;
      this.onload?.();
    });
  }
}

describe('upscalers store', () => {
  let client: FakeClient;
  let library: UpscalerInfo[];
  beforeEach(() => {
    setActivePinia(createPinia());
    library = [];
    client = fakeClient({
      'upscalers.list': () => ({ upscalers: library }),
      'upscalers.upload': (p) => ({ uploadId: 'f'.repeat(32), received: p.offset + atob(p.dataBase64).length }),
      'upscalers.import': () => {
        library = [X2];
        return { imported: X2 };
      },
      'upscalers.remove': ({ name }) => {
        const removed = library.find((u) => u.name === name)!;
        library = [];
        return { removed };
      },
    });
    setStudio(client);
    vi.stubGlobal('FileReader', NodeFileReader);
  });
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('the desktop app names the file by its path (no upload); the list is read again', async () => {
    vi.stubGlobal('window', { studio: { pathForFile: () => '/home/me/models/tiny-x2.onnx' } });
    const store = useUpscalersStore();
    const file = new File([new Uint8Array(10)], 'tiny-x2.onnx');
    expect(await store.importFile(file)).toEqual(X2);
    expect(client.calls.map((c) => c.method)).toEqual(['upscalers.import', 'upscalers.list']);
    expect(client.calls[0]!.params).toEqual({ file: { path: '/home/me/models/tiny-x2.onnx' } });
    expect(store.imported).toEqual([X2]);
    expect(store.choices.map((c) => c.label)).toEqual(['Lanczos', 'tiny-x2 (×2)']);
    expect(store.importing).toBe(false);
  });

  it('a browser uploads the bytes (upscalers.upload) and imports the upload under the file name', async () => {
    vi.stubGlobal('window', {});
    const store = useUpscalersStore();
    const bytes = Uint8Array.from({ length: 300 }, (_, i) => i % 251);
    expect(await store.importFile(new File([bytes], 'tiny-x2.onnx'))).toEqual(X2);
    expect(client.calls.map((c) => c.method)).toEqual(['upscalers.upload', 'upscalers.import', 'upscalers.list']);
    expect(client.calls[0]!.params).toEqual({ offset: 0, dataBase64: toBase64(bytes) });
    expect(client.calls[1]!.params).toEqual({ file: { uploadId: 'f'.repeat(32), fileName: 'tiny-x2.onnx' } });
    expect(store.uploading).toBeUndefined();
  });

  it('a refusal is kept with the file name and the reason; nothing is listed', async () => {
    vi.stubGlobal('window', {});
    client.handlers['upscalers.import'] = () => {
      throw new StudioError('invalid_input', 'This ONNX model is not an image → image upscaler: …');
    };
    const store = useUpscalersStore();
    expect(await store.importFile(new File([new Uint8Array(4)], 'text_encoder.onnx'))).toBeUndefined();
    expect(store.rejected).toEqual({ name: 'text_encoder.onnx', reason: 'This ONNX model is not an image → image upscaler: …' });
    expect(store.importing).toBe(false);
    expect(store.imported).toEqual([]);
  });

  it('progress from upscalers.changed; the list is read again when the library changed, not while an import runs', async () => {
    const store = useUpscalersStore();
    store.subscribe();
    store.subscribe(); // once only
    expect(client.listenerCount('upscalers.changed')).toBe(1);
    const copying = progress('verify', { status: 'running', done: 100, total: 1890, label: 'Copying tiny-x2.onnx' });
    client.emit('upscalers.changed', { kind: 'import', progress: copying });
    expect(store.progress).toEqual(copying);
    expect(client.calls).toEqual([]);
    library = [X2];
    client.emit('upscalers.changed', { kind: 'import', progress: progress('import', { status: 'done', done: 1, total: 1 }) });
    await vi.waitFor(() => expect(store.imported).toEqual([X2]));
    await store.remove('tiny-x2');
    expect(client.calls.slice(-2).map((c) => c.method)).toEqual(['upscalers.remove', 'upscalers.list']);
    expect(store.imported).toEqual([]);
  });
});
