// Browser mode's connection to the server, for the banner: lost (reconnecting on its own) or refused
// for its token. When a lost connection comes back, what the tab shows is read again (events sent while
// it was away are gone).
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { REJECTED_TOKEN_TEXT, currentConnection, onConnection, type ConnectionState } from '../api';
import { useGalleryStore } from './gallery';
import { useModelsStore } from './models';
import { useQueueStore } from './queue';
import { useSystemStore } from './system';

export const useConnectionStore = defineStore('connection', () => {
  const state = ref<ConnectionState>(currentConnection());
  /** How many times the connection came back (tests and the banner's history). */
  const reconnects = ref(0);

  const message = computed(() => {
    if (state.value === 'lost') return 'Disconnected from the studio server — reconnecting… (is `sd35-studio serve` still running?)';
    if (state.value === 'rejected') return REJECTED_TOKEN_TEXT;
    return undefined;
  });

  /** Reads again what the tab shows: the queue, system facts and settings, and the lists already loaded. */
  async function reread(): Promise<void> {
    const queue = useQueueStore();
    const system = useSystemStore();
    const gallery = useGalleryStore();
    const models = useModelsStore();
    await Promise.all([queue.refresh(), system.load(), gallery.loaded ? gallery.reload() : undefined, models.list ? models.refresh() : undefined]);
  }

  function listen(): () => void {
    return onConnection((next, previous) => {
      state.value = next;
      if (next === 'open' && previous === 'lost') {
        reconnects.value++;
        void reread();
      }
    });
  }

  return { state, reconnects, message, listen, reread };
});
