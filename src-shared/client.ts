// The client half of the contract, shared by the preload bridge and the WebSocket client:
// params checked before sending (early, friendly errors), results and event payloads validated
// on receipt (the receiving side of the boundary).
import { events, isEventName, isMethodName, methods, type EventName, type MethodName, type ParamsOf, type PayloadOf, type ResultOf } from './api';
import { StudioError, type StudioErrorWire } from './errors';

export type RawReply = { ok: true; result: unknown } | { ok: false; error: StudioErrorWire };

export interface RawChannel {
  call(method: MethodName, params: unknown): Promise<RawReply>;
  /** Subscribes to every event; returns an unsubscribe function. */
  onEvent(listener: (event: string, payload: unknown) => void): () => void;
}

/** THE window.studio bridge: what shell/preload.ts exposes and src-renderer/api.ts reads. */
export interface PreloadBridge extends RawChannel {
  readonly runtime: 'electron';
  /** The file-system path of a dropped File ('' when it has none); set by the preload only. */
  pathForFile?(file: object): string;
}

export function invalidInput(issues: { path: PropertyKey[]; message: string }[]): StudioError {
  const text = issues
    .slice(0, 5)
    .map((i) => (i.path.length ? `${i.path.map(String).join('.')}: ${i.message}` : i.message))
    .join('; ');
  return new StudioError('invalid_input', `Invalid input — ${text}`, { issues: issues.slice(0, 20).map((i) => ({ path: i.path.map(String), message: i.message })) });
}

export async function typedCall<M extends MethodName>(channel: RawChannel, method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
  if (!isMethodName(method)) throw new StudioError('invalid_input', `Unknown method ${String(method)}`);
  const reply = await channel.call(method, params);
  if (!reply.ok) throw StudioError.fromWire(reply.error);
  const parsed = methods[method].result.safeParse(reply.result);
  if (!parsed.success) throw new StudioError('internal', `The studio answered ${method} with an unexpected shape`);
  return parsed.data as ResultOf<M>;
}

export function typedOn<E extends EventName>(channel: RawChannel, event: E, listener: (payload: PayloadOf<E>) => void): () => void {
  if (!isEventName(event)) throw new StudioError('invalid_input', `Unknown event ${String(event)}`);
  return channel.onEvent((name, payload) => {
    if (name !== event) return;
    const parsed = events[event].safeParse(payload);
    if (parsed.success) listener(parsed.data as PayloadOf<E>);
  });
}
