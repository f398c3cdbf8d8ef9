// The server half of the contract, shared by both transports: look the method up in api.ts,
// validate params (strict), run StudioCore's implementation, and turn every failure into a
// StudioError reply. Nothing a client sends can crash the server.
import { isMethodName, methods, type StudioApi } from '../../src-shared/api';
import type { RawReply } from '../../src-shared/client';
import { invalidInput } from '../../src-shared/client';
import { StudioError } from '../../src-shared/errors';

export type Dispatch = (method: unknown, params: unknown) => Promise<RawReply>;

export function createDispatcher(api: StudioApi, onInternalError?: (method: string, err: unknown) => void): Dispatch {
  return async (method, params) => {
    if (!isMethodName(method)) {
      return { ok: false, error: new StudioError('invalid_input', `Unknown method ${JSON.stringify(String(method)).slice(0, 140)}`).toWire() };
    }
    const spec = methods[method];
    const parsed = spec.params.safeParse(params ?? {});
    if (!parsed.success) return { ok: false, error: invalidInput(parsed.error.issues).toWire() };
    try {
      const handler = api[method] as (p: unknown) => Promise<unknown>;
      const result = await handler(parsed.data);
      return { ok: true, result };
    } catch (err) {
      const studioError = StudioError.from(err);
      if (studioError.code === 'internal') onInternalError?.(method, err);
      return { ok: false, error: studioError.toWire() };
    }
  };
}
