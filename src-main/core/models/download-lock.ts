// One downloader per repo across processes (the app and a CLI call): the one lock of core/lock.ts on
// `<models>/.locks/<owner>--<name>.lock` (outside the staging folder, which is removed while the lock is held).
import path from 'node:path';
import { StudioError } from '../../../src-shared/errors';
import { acquireLock } from '../lock';
import type { ModelsRoot } from './models-root';

/** Held by a live process: a conflict naming it. Returns the release function. */
export async function acquireDownloadLock(root: ModelsRoot, stagingDir: string, id: string, nativeBinding?: string): Promise<() => Promise<void>> {
  const locks = path.join(root.dir, '.locks');
  await root.mkdir(locks);
  const lock = acquireLock(path.join(locks, `${path.basename(path.dirname(stagingDir))}.lock`), nativeBinding ? { nativeBinding } : {});
  if (!lock.primary) {
    const pid = lock.owner?.pid;
    throw new StudioError(
      'conflict',
      `${id} is being downloaded by another SD3.5 Studio process${pid ? ` (pid ${pid})` : ''}. Wait for it to finish, or stop it first.`,
      pid ? { pid } : undefined,
    );
  }
  return async () => lock.release();
}
