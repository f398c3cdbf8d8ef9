// Keeps the computer awake while the queue runs (Electron powerSaveBlocker; the Node twin is a no-op).
// Blocks are counted: the OS blocker is held while at least one is.
import { powerSaveBlocker } from 'electron';
import type { PowerSaveBlocker } from '../core/adapters';

export function createPowerBlocker(api: Pick<typeof powerSaveBlocker, 'start' | 'stop' | 'isStarted'> = powerSaveBlocker): PowerSaveBlocker {
  let id: number | undefined;
  let holders = 0;
  return {
    block() {
      holders++;
      if (id === undefined || !api.isStarted(id)) id = api.start('prevent-app-suspension');
      let released = false;
      return () => {
        if (released) return;
        released = true;
        holders--;
        if (holders === 0 && id !== undefined) {
          if (api.isStarted(id)) api.stop(id);
          id = undefined;
        }
      };
    },
  };
}

export const electronPowerBlocker: PowerSaveBlocker = createPowerBlocker();
