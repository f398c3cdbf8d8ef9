// One downloader per staging folder, across processes (the app and a CLI call): `<staging>/.lock`.
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../../src-shared/errors';
import { isProcessAlive } from '../lock';

/**
 * Takes `<staging>/.lock` (O_EXCL, holding our pid). A lock left by a process that is gone is
 * taken over; one held by a live process is a conflict. Returns the release function.
 */
export async function acquireDownloadLock(stagingDir: string, id: string): Promise<() => Promise<void>> {
  await fs.promises.mkdir(stagingDir, { recursive: true });
  const file = path.join(stagingDir, '.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await fs.promises.open(file, 'wx');
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return async () => {
        const owner = Number((await fs.promises.readFile(file, 'utf8').catch(() => '')).trim());
        if (owner === process.pid) await fs.promises.rm(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number((await fs.promises.readFile(file, 'utf8').catch(() => '')).trim());
      if (owner > 0 && owner !== process.pid && isProcessAlive(owner)) {
        throw new StudioError(
          'conflict',
          `${id} is being downloaded by another SD3.5 Studio process (pid ${owner}). Wait for it to finish, or stop it first.`,
          { pid: owner },
        );
      }
      await fs.promises.rm(file, { force: true });
    }
  }
  throw new StudioError('conflict', `Could not take the download lock of ${id}; try again.`);
}
