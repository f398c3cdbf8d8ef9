// The upscalers.* methods of the contract, on top of the upscaler service (core/upscalers/service.ts): the imported
// super-resolution models of <data>/upscalers. Lanczos is built in and not listed. Import and remove work from the app
// as from the CLI (`upscalers import`): a path from the desktop app, a chunked upload from a browser (upscalers.upload),
// the same check, copy and probe run.
import type { StudioApi } from '../../../src-shared/api';
import type { UpscalerService } from '../upscalers/service';

export type UpscalersApi = Pick<StudioApi, Extract<keyof StudioApi, `upscalers.${string}`>>;

export function upscalersHandlers(upscalers: UpscalerService): UpscalersApi {
  return {
    'upscalers.list': async () => ({ upscalers: upscalers.list() }),
    'upscalers.upload': async (p) => upscalers.upload(p),
    'upscalers.import': async ({ file }) => ({ imported: await upscalers.import(file) }),
    'upscalers.remove': async ({ name }) => ({ removed: upscalers.remove(name) }),
  };
}
