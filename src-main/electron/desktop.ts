// Small desktop adapters: notifications and keeping the machine awake during long work.
import { Notification, powerSaveBlocker, shell } from 'electron';
import type { FileManager, Notifier, PowerSaveBlocker } from '../core/adapters';

export const desktopNotifier: Notifier = {
  notify(title, body) {
    if (Notification.isSupported()) new Notification({ title, body, silent: true }).show();
  },
};

export const desktopPowerBlocker: PowerSaveBlocker = {
  block() {
    const id = powerSaveBlocker.start('prevent-app-suspension');
    return () => {
      if (powerSaveBlocker.isStarted(id)) powerSaveBlocker.stop(id);
    };
  },
};

export const desktopFileManager: FileManager = {
  reveal(file) {
    shell.showItemInFolder(file);
    return true;
  },
};
