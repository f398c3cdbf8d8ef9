// Small desktop adapters: the OS file manager. Notifications: notifier.ts; keeping the machine awake: power.ts.
import { shell } from 'electron';
import type { FileManager } from '../core/adapters';
export { electronNotifier as desktopNotifier } from './notifier';
export { electronPowerBlocker as desktopPowerBlocker } from './power';

export const desktopFileManager: FileManager = {
  reveal(file) {
    shell.showItemInFolder(file);
    return true;
  },
};
