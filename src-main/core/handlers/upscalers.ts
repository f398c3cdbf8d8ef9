// The upscalers.* methods of the contract: the imported super-resolution models of <data>/upscalers
// (core/upscalers/library.ts). Lanczos is built in and not listed; importing stays the CLI's (`upscalers import`).
import type { StudioApi } from '../../../src-shared/api';
import { UpscalerLibrary } from '../upscalers/library';

export type UpscalersApi = Pick<StudioApi, Extract<keyof StudioApi, `upscalers.${string}`>>;

export function upscalersHandlers(dir: string): UpscalersApi {
  return {
    'upscalers.list': async () => ({
      upscalers: new UpscalerLibrary(dir).list().map((e) => ({ name: e.name, scale: e.scale, bytes: e.bytes, sha256: e.sha256 })),
    }),
  };
}
