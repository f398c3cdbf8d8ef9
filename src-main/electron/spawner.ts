// The worker spawner inside the app: Electron's utilityProcess (a Node process without a window).
import { utilityProcess } from 'electron';
import type { WorkerHandle, WorkerSpawner } from '../core/adapters';

export const utilitySpawner: WorkerSpawner = {
  spawn(entry, { env, args = [], name }): WorkerHandle {
    const child = utilityProcess.fork(entry, args, { env, serviceName: name, stdio: 'inherit' });
    return {
      get pid() {
        return child.pid;
      },
      postMessage: (message) => child.postMessage(message),
      onMessage: (listener) => void child.on('message', listener),
      onExit: (listener) => void child.on('exit', (code) => listener(code, null)),
      kill: () => void child.kill(),
    };
  },
};
