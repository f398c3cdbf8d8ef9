// A fake StudioClient for store tests: methods answered by handlers the test gives (anything else
// rejects as not_found), every call recorded, events emitted by the test. Validates nothing on
// purpose: the store's own behaviour is under test, the contract has its own tests.
import type { EventName, MethodName, ParamsOf, PayloadOf, ResultOf, StudioClient } from '../../src-shared/api';
import { StudioError } from '../../src-shared/errors';

export type Handlers = { [M in MethodName]?: (params: ParamsOf<M>) => ResultOf<M> | Promise<ResultOf<M>> };

export interface FakeClient extends StudioClient {
  calls: { method: MethodName; params: unknown }[];
  handlers: Handlers;
  emit<E extends EventName>(event: E, payload: PayloadOf<E>): void;
  listenerCount(event: EventName): number;
}

export function fakeClient(handlers: Handlers = {}): FakeClient {
  const listeners = new Map<string, Set<(p: unknown) => void>>();
  const client: FakeClient = {
    runtime: 'browser',
    calls: [],
    handlers,
    async call<M extends MethodName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
      client.calls.push({ method, params });
      const h = client.handlers[method] as ((p: ParamsOf<M>) => ResultOf<M> | Promise<ResultOf<M>>) | undefined;
      if (!h) throw new StudioError('not_found', `fake client: no handler for ${method}`);
      return h(params);
    },
    on<E extends EventName>(event: E, listener: (payload: PayloadOf<E>) => void): () => void {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      const l = listener as (p: unknown) => void;
      set.add(l);
      return () => set.delete(l);
    },
    mediaUrl: (kind, id, size) => `/media/${kind}/${id}${size ? `?size=${size}` : ''}`,
    emit(event, payload) {
      for (const l of listeners.get(event) ?? []) l(payload);
    },
    listenerCount: (event) => listeners.get(event)?.size ?? 0,
  };
  return client;
}
