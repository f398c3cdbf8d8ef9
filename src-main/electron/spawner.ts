// The worker spawner inside the app: Electron's utilityProcess (a Node process without a window),
// bound to the Electron-free adapter in utility-worker.ts (same supervision as child_process.fork).
import { app, utilityProcess } from 'electron';
import type { WorkerSpawner } from '../inference/worker-process';
import { createUtilitySpawner } from './utility-worker';

export const utilitySpawner: WorkerSpawner = createUtilitySpawner({
  fork: (entry, args, options) => utilityProcess.fork(entry, args, options),
  app,
  signal: (pid, signal) => process.kill(pid, signal),
});
