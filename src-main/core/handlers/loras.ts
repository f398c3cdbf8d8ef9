// The loras.* methods of the contract, on top of the LoRA library service (core/loras/service.ts).
import type { StudioApi } from '../../../src-shared/api';
import type { LoraService } from '../loras/service';

export type LorasApi = Pick<StudioApi, Extract<keyof StudioApi, `loras.${string}`>>;

export function lorasHandlers(loras: LoraService): LorasApi {
  return {
    'loras.list': async () => ({ loras: loras.list() }),
    'loras.upload': async (p) => loras.upload(p),
    'loras.import': async ({ files }) => loras.import(files),
    'loras.rename': async ({ name, to }) => loras.rename(name, to),
    'loras.remove': async ({ name }) => ({ removed: loras.remove(name) }),
  };
}
