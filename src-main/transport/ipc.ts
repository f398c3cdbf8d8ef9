// Electron IPC transport: one invoke channel for calls, one send channel for events (the table of
// channels is api.ts itself). The sender frame is validated on every call: only the app's own
// main frame (studio://app) may call. Typed against minimal interfaces so the contract test can
// drive it with a fake ipcMain under plain Node.
import { IPC_CALL_CHANNEL, IPC_EVENT_CHANNEL, type EventMessage } from '../../src-shared/api';
import type { RawReply } from '../../src-shared/client';
import { StudioError } from '../../src-shared/errors';
import type { EventBus } from '../core/events';
import { isAppUrl } from './security';
import type { Dispatch } from './dispatch';

export interface SenderFrameLike {
  url: string;
  parent: unknown;
}
export interface InvokeEventLike {
  senderFrame: SenderFrameLike | null;
}
export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown>): void;
  removeHandler(channel: string): void;
}
export interface WebContentsLike {
  send(channel: string, message: unknown): void;
  isDestroyed(): boolean;
}

export interface IpcBinding {
  /** Windows whose renderer receives events. */
  attach(webContents: WebContentsLike): void;
  dispose(): void;
}

export function isTrustedSender(frame: SenderFrameLike | null, devServerOrigin?: string): boolean {
  return !!frame && frame.parent === null && isAppUrl(frame.url, devServerOrigin);
}

export function bindIpc(
  ipcMain: IpcMainLike,
  opts: { dispatch: Dispatch; events: EventBus; devServerOrigin?: string; log?: (msg: string) => void },
): IpcBinding {
  const targets = new Set<WebContentsLike>();
  ipcMain.handle(IPC_CALL_CHANNEL, async (event, message): Promise<RawReply> => {
    if (!isTrustedSender(event.senderFrame, opts.devServerOrigin)) {
      opts.log?.(`ipc: refused a call from ${event.senderFrame?.url ?? 'an unknown frame'}`);
      return { ok: false, error: new StudioError('invalid_input', 'Calls are accepted only from the studio window').toWire() };
    }
    const m = message as { method?: unknown; params?: unknown } | null;
    if (!m || typeof m !== 'object') return { ok: false, error: new StudioError('invalid_input', 'Malformed call').toWire() };
    return opts.dispatch(m.method, m.params);
  });
  const unsubscribe = opts.events.subscribe((event, payload) => {
    const message: EventMessage = { type: 'event', event, payload };
    for (const wc of targets) {
      if (wc.isDestroyed()) targets.delete(wc);
      else wc.send(IPC_EVENT_CHANNEL, message);
    }
  });
  return {
    attach: (wc) => void targets.add(wc),
    dispose() {
      unsubscribe();
      ipcMain.removeHandler(IPC_CALL_CHANNEL);
      targets.clear();
    },
  };
}
