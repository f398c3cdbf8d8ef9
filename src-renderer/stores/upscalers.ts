// The upscalers the studio offers (docs/architecture.md §5 "Upscale", §7): Lanczos built in first, then the imported
// super-resolution models (`upscalers.list`). One list for the Hires fix group's select and the Gallery's Upscale
// action; read when a view needs it (importing stays the CLI's `upscalers import`). A Pinia setup store.
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import { BUILTIN_UPSCALER } from '../../src-shared/generation';
import type { UpscalerInfo } from '../../src-shared/upscale';
import { studio } from '../studio';
import { attempt } from './attempt';

export interface UpscalerChoice {
  /** What the job names: `lanczos` or the imported model's name. */
  name: string;
  label: string;
}

export const useUpscalersStore = defineStore('upscalers', () => {
  const imported = shallowRef<UpscalerInfo[]>([]);
  const loaded = ref(false);
  const error = ref<string>();

  /** The list; a failure keeps the last one and says why; `loaded` once the first answer (or failure) came. */
  async function load(): Promise<void> {
    await attempt(
      {
        busy: (on) => {
          if (!on) loaded.value = true;
        },
        succeeded: (r) => {
          imported.value = r.upscalers;
          error.value = undefined;
        },
        failed: (e) => (error.value = e.message),
      },
      () => studio().call('upscalers.list', {}),
    );
  }

  /** Lanczos (built in) first, then the imported ones by name with their own factor. */
  const choices = computed<UpscalerChoice[]>(() => [
    { name: BUILTIN_UPSCALER, label: 'Lanczos' },
    ...imported.value.map((u) => ({ name: u.name, label: `${u.name} (×${u.scale})` })),
  ]);

  return { imported, loaded, error, choices, load };
});
