// A WorkerSpawner that records when each worker was spawned (Date.now()), around a real one. Tests prove a
// restart waited for its backoff from these timestamps (a lower bound that a busy machine cannot break:
// delays only make the gap longer), never by bounding how long a call took.
import type { WorkerSpawner } from '../core/adapters';

export interface SpawnLog {
  spawner: WorkerSpawner;
  /** Date.now() at each spawn, in order. */
  spawnedAt: number[];
}

export function recordSpawns(inner: WorkerSpawner): SpawnLog {
  const spawnedAt: number[] = [];
  return {
    spawnedAt,
    spawner: {
      spawn(entry, options) {
        spawnedAt.push(Date.now());
        return inner.spawn(entry, options);
      },
    },
  };
}
