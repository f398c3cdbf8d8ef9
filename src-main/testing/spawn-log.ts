// A WorkerSpawner that records when each worker was spawned (Date.now()), around a real one. Tests prove a
// restart waited for its backoff from these timestamps (a lower bound that a busy machine cannot break:
// delays only make the gap longer), never by bounding how long a call took.
import type { WorkerSpawner } from '../inference/worker-process';

export interface SpawnLog {
  spawner: WorkerSpawner;
  /** Date.now() at each worker spawn, in order. */
  spawnedAt: number[];
}

export function recordSpawns(inner: WorkerSpawner): SpawnLog {
  const spawnedAt: number[] = [];
  return {
    spawnedAt,
    spawner: {
      spawn(entry, options) {
        // The host also starts its short-lived op-probe children through the spawner: they are not workers.
        if (!entry.endsWith('op-probe.js')) spawnedAt.push(Date.now());
        return inner.spawn(entry, options);
      },
    },
  };
}
