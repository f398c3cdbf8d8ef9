// A ModelService on a fresh data folder (real SQLite file) pointed at a hub emulator, with every
// event recorded. HF_HOME points into the temp folder so the real token file is never read.
import fs from 'node:fs';
import path from 'node:path';
import { openDatabase, type Db } from '../../core/db';
import { hfTokenFileStore } from '../../core/node-adapters';
import type { FreeSpaceFn } from '../../core/models/disk';
import { ModelService, type ModelEvent, type ModelServiceOptions } from '../../core/models/service';
import { tempDir } from './repo-fixture';

export interface Harness {
  root: string;
  dataDir: string;
  modelsDir: string;
  hfHome: string;
  env: NodeJS.ProcessEnv;
  db: Db;
  service: ModelService;
  events: (ModelEvent & { at: number })[];
  close(): Promise<void>;
}

export const FAST_RETRY = { retries: 4, baseDelayMs: 20, maxDelayMs: 200, maxRetryAfterMs: 5000 };

export function makeHarness(o: {
  endpoint: string;
  env?: NodeJS.ProcessEnv;
  freeSpace?: FreeSpaceFn;
  download?: ModelServiceOptions['download'];
  root?: string;
  checkOps?: ModelServiceOptions['checkOps'];
}): Harness {
  const root = o.root ?? tempDir('models');
  const dataDir = path.join(root, 'data');
  const modelsDir = path.join(dataDir, 'models');
  const hfHome = path.join(root, 'hf-home');
  fs.mkdirSync(dataDir, { recursive: true });
  const env: NodeJS.ProcessEnv = { HF_ENDPOINT: o.endpoint, HF_HOME: hfHome, ...o.env };
  const db = openDatabase(path.join(dataDir, 'studio.db'));
  const service = new ModelService({
    db,
    modelsDir,
    secrets: hfTokenFileStore(env),
    env,
    graphsDir: path.join(dataDir, 'graphs'),
    ...(o.freeSpace ? { freeSpace: o.freeSpace } : {}),
    ...(o.checkOps ? { checkOps: o.checkOps } : {}),
    download: { retry: FAST_RETRY, ...o.download },
  });
  const events: (ModelEvent & { at: number })[] = [];
  service.on((e) => events.push({ ...e, at: Date.now() }));
  return {
    root,
    dataDir,
    modelsDir,
    hfHome,
    env,
    db,
    service,
    events,
    async close() {
      await service.close();
      db.close();
      if (!o.root) fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Waits until `predicate` holds for some recorded event (bounded). */
export async function waitForEvent(h: Harness, predicate: (e: ModelEvent) => boolean, timeoutMs = 20_000): Promise<ModelEvent> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const hit = h.events.find(predicate);
    if (hit) return hit;
    if (Date.now() > end) throw new Error('Timed out waiting for a model event');
    await new Promise((r) => setTimeout(r, 10));
  }
}
