// The LoRA library in the renderer (loras.* of the contract): the list (read again on `loras.changed`), import
// from files — by path in the desktop app (file picker, drag and drop), uploaded in ordered chunks in browser mode —
// with the import's progress, rename and remove. A Pinia setup store.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { StudioError } from '../../src-shared/errors';
import { LORA_UPLOAD_CHUNK_BYTES, MAX_LORA_UPLOAD_BYTES, type LoraEntryView, type LoraImportFile } from '../../src-shared/schemas/loras';
import { readBase64 } from '../components/gallery/files';
import { studio } from '../studio';
import { libraryList } from './library-list';

/**
 * A browser file sent to the server in chunks (each under the message limit); its upload id. THE chunked upload of
 * the LoRA library (`loras.upload`) and of the upscaler library (`upscalers.upload`, the same shape).
 */
export async function uploadFile(
  file: Blob,
  onChunk?: (sent: number) => void,
  chunk = LORA_UPLOAD_CHUNK_BYTES,
  method: 'loras.upload' | 'upscalers.upload' = 'loras.upload',
): Promise<string> {
  let uploadId: string | undefined;
  let offset = 0;
  do {
    const dataBase64 = await readBase64(file.slice(offset, offset + chunk));
    const r = await studio().call(method, { ...(uploadId ? { uploadId } : {}), offset, dataBase64 });
    uploadId = r.uploadId;
    offset = r.received;
    onChunk?.(offset);
  } while (offset < file.size);
  return uploadId;
}

export const useLorasStore = defineStore('loras', () => {
  // The list, its import progress (files) and `loras.changed`: THE library list.
  const { items: entries, loaded, error, progress, load, subscribe } = libraryList(
    async () => (await studio().call('loras.list', {})).loras,
    (handler) => studio().on('loras.changed', handler),
  );
  const importing = ref(false);
  /** The last import's refusals, each with its reason. */
  const rejected = ref<{ name: string; reason: string }[]>([]);

  /** Imports files: their paths in the desktop app, their bytes (chunked) in a browser. */
  /** `link` (desktop only: a path is linked, an upload is always copied) keeps each file where it is. */
  async function importFiles(files: readonly File[], opts: { link?: boolean } = {}): Promise<LoraEntryView[]> {
    if (!files.length) return [];
    importing.value = true;
    rejected.value = [];
    try {
      const list: LoraImportFile[] = [];
      for (const file of files) {
        const p = window.studio?.pathForFile?.(file);
        if (typeof p === 'string' && p !== '') {
          list.push({ path: p, ...(opts.link ? { link: true } : {}) });
          continue;
        }
        if (file.size > MAX_LORA_UPLOAD_BYTES) {
          rejected.value.push({ name: file.name, reason: `larger than ${MAX_LORA_UPLOAD_BYTES / 1e9} GB, the limit through the browser` });
          continue;
        }
        try {
          list.push({ uploadId: await uploadFile(file), fileName: file.name });
        } catch (err) {
          rejected.value.push({ name: file.name, reason: StudioError.from(err).message });
        }
      }
      if (!list.length) return [];
      const r = await studio().call('loras.import', { files: list });
      rejected.value.push(...r.rejected);
      await load();
      return r.imported;
    } catch (err) {
      rejected.value.push({ name: files.map((f) => f.name).join(', '), reason: StudioError.from(err).message });
      return [];
    } finally {
      importing.value = false;
    }
  }

  async function rename(name: string, to: string): Promise<LoraEntryView> {
    const e = await studio().call('loras.rename', { name, to });
    await load();
    return e;
  }

  async function remove(name: string): Promise<void> {
    await studio().call('loras.remove', { name });
    await load();
  }

  return { entries, loaded, error, importing, progress, rejected, load, subscribe, importFiles, rename, remove };
});
