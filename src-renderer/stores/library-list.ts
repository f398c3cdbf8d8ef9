// THE list half of a library store (LoRAs: stores/loras.ts, upscalers: stores/upscalers.ts): the entries as the server
// lists them, read through THE busy/error wrapper (attempt.ts) — `loaded` once the first answer or failure came, a
// failure keeps the last list and says why, the next answer clears it — and read again on the library's `changed`
// event, whose import progress it keeps (no re-read while an import runs). Each store adds its own import and remove.
import { ref, shallowRef } from 'vue';
import type { Progress } from '../../src-shared/progress';
import { attempt } from './attempt';

export function libraryList<T>(list: () => Promise<T[]>, onChanged: (handler: (e: { progress?: Progress }) => void) => void) {
  const items = shallowRef<T[]>([]);
  const loaded = ref(false);
  const error = ref<string>();
  /** The running import's progress, from the `changed` event. */
  const progress = shallowRef<Progress>();
  let subscribed = false;

  async function load(): Promise<void> {
    await attempt(
      {
        busy: (on) => {
          if (!on) loaded.value = true;
        },
        succeeded: (entries) => {
          items.value = entries;
          error.value = undefined;
        },
        failed: (e) => (error.value = e.message),
      },
      list,
    );
  }

  function subscribe(): void {
    if (subscribed) return;
    subscribed = true;
    onChanged((e) => {
      if (e.progress) progress.value = e.progress;
      if (!e.progress || e.progress.status !== 'running') void load();
    });
  }

  return { items, loaded, error, progress, load, subscribe };
}
