// The upscalers the studio offers (docs/architecture.md §5 "Upscale", §7): Lanczos built in first, then the imported
// super-resolution models (`upscalers.list`). One list for the Hires fix group's select and the Gallery's Upscale
// action; read when a view needs it (importing stays the CLI's `upscalers import`). A Pinia setup store.
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import { StudioError } from '../../src-shared/errors';
import { BUILTIN_UPSCALER } from '../../src-shared/generation';
import type { UpscalerInfo } from '../../src-shared/upscale';
import { studio } from '../studio';

export interface UpscalerChoice {
  /** What the job names: `lanczos` or the imported model's name. */
  name: string;
  label: string;
}

export const useUpscalersStore = defineStore('upscalers', () => {
  const imported = shallowRef<UpscalerInfo[]>([]);
  const loaded = ref(false);
  const error = ref<string>();

  async function load(): Promise<void> {
    try {
      imported.value = (await studio().call('upscalers.list', {})).upscalers;
      error.value = undefined;
    } catch (err) {
      error.value = StudioError.from(err).message;
    } finally {
      loaded.value = true;
    }
  }

  /** Lanczos (built in) first, then the imported ones by name with their own factor. */
  const choices = computed<UpscalerChoice[]>(() => [
    { name: BUILTIN_UPSCALER, label: 'Lanczos' },
    ...imported.value.map((u) => ({ name: u.name, label: `${u.name} (×${u.scale})` })),
  ]);

  return { imported, loaded, error, choices, load };
});
