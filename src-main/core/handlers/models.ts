// The models.* methods of the contract, on top of the model room's ModelService.
import path from 'node:path';
import type { StudioApi } from '../../../src-shared/api';
import type { MachineMemory } from '../../../src-shared/catalog';
import { StudioError } from '../../../src-shared/errors';
import { freeSpaceOrNull } from '../models/disk';
import type { ModelService } from '../models/service';
import { modelsListSchema } from '../../../src-shared/schemas/models';
import { TokenCounter } from './tokens';

type ModelsApi = Pick<StudioApi, Extract<keyof StudioApi, `models.${string}`>>;

export function modelsHandlers(models: () => ModelService, machine: () => Promise<MachineMemory>): ModelsApi {
  const tokens = new TokenCounter(async (id) => (await models().resolveInstalled(id)).path);
  return {
    'models.countTokens': (params) => tokens.count(params),
    'models.list': async () => {
      const svc = models();
      // Validated here as the client will (issue 18 §3): an entry that does not fit is dropped, not the list.
      return modelsListSchema.parse({
        models: await svc.list(),
        modelsDir: svc.modelsDir,
        freeDiskBytes: await freeSpaceOrNull(svc.modelsDir),
        machine: await machine(),
      });
    },
    'models.download': async ({ ref, t5 }) => {
      const h = await models().download(ref, t5 === undefined ? {} : { t5 });
      // The download runs on; its end arrives as a models.event (completed / failed / paused).
      h.done.catch(() => undefined);
      return { id: h.id, repo: h.repo, commit: h.commit, totalBytes: h.totalBytes };
    },
    'models.pause': async ({ id }) => {
      await models().pause(id);
      return {};
    },
    'models.resume': async ({ id }) => {
      const h = await models().resume(id);
      h.done.catch(() => undefined);
      return { id: h.id, repo: h.repo, commit: h.commit, totalBytes: h.totalBytes };
    },
    'models.cancel': async ({ id }) => {
      await models().cancel(id);
      return {};
    },
    'models.verify': async ({ id }) => models().verify(id),
    'models.addEncoder': async ({ id, dryRun }) => models().addEncoder(id, dryRun ? { dryRun } : {}),
    'models.remove': async ({ id }) => {
      await models().remove(id);
      return {};
    },
    'models.import': async ({ folder }) => {
      if (!path.isAbsolute(folder)) throw new StudioError('invalid_input', `Give the model folder as an absolute path (got "${folder}").`);
      return models().import(folder);
    },
    'models.setToken': async ({ token }) => models().setToken(token),
    'models.clearToken': async ({ sharedFile }) => models().clearToken(sharedFile ? { sharedFile } : {}),
    'models.tokenStatus': async () => models().tokenStatus(),
  };
}
