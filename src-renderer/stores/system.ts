// System facts (version, execution providers, data folder) and settings: a Pinia setup store.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { Settings, SettingsPatch, SystemInfo } from '../../src-shared/api';
import { StudioError } from '../../src-shared/errors';
import { studio } from '../studio';

export const useSystemStore = defineStore('system', () => {
  const info = ref<SystemInfo>();
  const settings = ref<Settings>();
  const error = ref<string>();
  const saving = ref(false);

  const epLabel = computed(() => {
    if (!info.value) return '…';
    const chosen = settings.value?.executionProvider ?? 'auto';
    const eps = info.value.executionProviders.filter((e) => e.bundled || e.installed).map((e) => e.name);
    const gpu = eps.filter((e) => e !== 'cpu');
    if (chosen !== 'auto') return chosen.toUpperCase();
    return gpu.length ? `Auto (${eps.join(', ')})` : 'Auto (CPU only)';
  });

  async function load(): Promise<void> {
    try {
      const [i, s] = await Promise.all([studio().call('system.info', {}), studio().call('settings.get', {})]);
      info.value = i;
      settings.value = s;
      error.value = undefined;
    } catch (err) {
      error.value = StudioError.from(err).message;
    }
  }

  async function update(patch: SettingsPatch): Promise<void> {
    saving.value = true;
    try {
      settings.value = await studio().call('settings.set', patch);
      error.value = undefined;
      if (patch.modelsDir && info.value) info.value = { ...info.value, modelsDir: patch.modelsDir };
    } catch (err) {
      error.value = StudioError.from(err).message;
      throw err;
    } finally {
      saving.value = false;
    }
  }

  async function diagnostics(): Promise<string> {
    return (await studio().call('system.diagnostics', {})).text;
  }

  function listen(): () => void {
    return studio().on('settings.changed', (s) => {
      settings.value = s;
    });
  }

  return { info, settings, error, saving, epLabel, load, update, diagnostics, listen };
});
