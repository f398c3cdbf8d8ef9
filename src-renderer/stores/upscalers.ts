// The upscalers the studio offers (docs/architecture.md §5 "Upscale", §7): Lanczos built in first, then the imported
// super-resolution models (`upscalers.list`). One list for the Hires fix group's select, the Gallery's Upscale action
// and the Models view's Upscalers list, read again on `upscalers.changed`. Import and remove as the LoRA library does
// (stores/loras.ts): a file by its path in the desktop app, its bytes in ordered chunks in a browser (THE chunked
// upload, `upscalers.upload`); the import's progress is THE progress shape from the server (the copy, the probe run).
// A Pinia setup store.
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import { StudioError } from '../../src-shared/errors';
import { BUILTIN_UPSCALER } from '../../src-shared/generation';
import { MAX_LORA_UPLOAD_BYTES } from '../../src-shared/schemas/loras';
import type { UpscalerImportFile, UpscalerInfo } from '../../src-shared/upscale';
import { studio } from '../studio';
import { libraryList } from './library-list';
import { uploadFile } from './loras';

export interface UpscalerChoice {
  /** What the job names: `lanczos` or the imported model's name. */
  name: string;
  label: string;
}

export const useUpscalersStore = defineStore('upscalers', () => {
  // The list, its import progress (the copy in bytes, then the probe run) and `upscalers.changed`: THE library list.
  const { items: imported, loaded, error, progress, load, subscribe } = libraryList(
    async () => (await studio().call('upscalers.list', {})).upscalers,
    (handler) => studio().on('upscalers.changed', handler),
  );
  const importing = ref(false);
  /** A browser's upload of the file being imported: bytes sent of the file's size. */
  const uploading = shallowRef<{ sent: number; total: number }>();
  /** The last import's refusal: the file and the reason. */
  const rejected = ref<{ name: string; reason: string }>();

  /** Imports one file: its path in the desktop app, its bytes (chunked) in a browser. The entry, or undefined when refused. */
  async function importFile(file: File): Promise<UpscalerInfo | undefined> {
    importing.value = true;
    rejected.value = undefined;
    progress.value = undefined;
    try {
      let source: UpscalerImportFile;
      const p = window.studio?.pathForFile?.(file);
      if (typeof p === 'string' && p !== '') source = { path: p };
      else {
        if (file.size > MAX_LORA_UPLOAD_BYTES) throw new StudioError('invalid_input', `larger than ${MAX_LORA_UPLOAD_BYTES / 1e9} GB, the limit through the browser`);
        uploading.value = { sent: 0, total: file.size };
        const uploadId = await uploadFile(file, (sent) => (uploading.value = { sent, total: file.size }), undefined, 'upscalers.upload');
        uploading.value = undefined;
        source = { uploadId, fileName: file.name };
      }
      const r = await studio().call('upscalers.import', { file: source });
      await load();
      return r.imported;
    } catch (err) {
      rejected.value = { name: file.name, reason: StudioError.from(err).message };
      return undefined;
    } finally {
      uploading.value = undefined;
      importing.value = false;
    }
  }

  async function remove(name: string): Promise<void> {
    await studio().call('upscalers.remove', { name });
    await load();
  }

  /** Lanczos (built in) first, then the imported ones by name with their own factor. */
  const choices = computed<UpscalerChoice[]>(() => [
    { name: BUILTIN_UPSCALER, label: 'Lanczos' },
    ...imported.value.map((u) => ({ name: u.name, label: `${u.name} (×${u.scale})` })),
  ]);

  return { imported, loaded, error, importing, uploading, progress, rejected, choices, load, subscribe, importFile, remove };
});
