// Small desktop adapters: notifications and keeping the machine awake during long work.
import { Notification, powerSaveBlocker } from 'electron';
import type { Notifier, PowerSaveBlocker } from '../core/adapters';

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
