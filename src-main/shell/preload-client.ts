// What preload.ts exposes as window.studio, built from api.ts and nothing else: call a known method,
// listen to known events. No Node, no ipcRenderer, no arbitrary channel reaches the page.
// Kept free of Electron imports so the contract test runs the real client under Node.
import { IPC_CALL_CHANNEL, IPC_EVENT_CHANNEL, eventMessageSchema, isEventName, isMethodName } from '../../src-shared/api';
import type { PreloadBridge, RawReply } from '../../src-shared/client';
import { StudioError } from '../../src-shared/errors';

export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, message: unknown) => void): void;
  removeListener(channel: string, listener: (event: unknown, message: unknown) => void): void;
}

export function createPreloadBridge(ipcRenderer: IpcRendererLike): PreloadBridge {
  return {
    runtime: 'electron',
    async call(method, params) {
      if (!isMethodName(method)) return { ok: false, error: new StudioError('invalid_input', `Unknown method ${String(method)}`).toWire() };
      return (await ipcRenderer.invoke(IPC_CALL_CHANNEL, { method, params })) as RawReply;
    },
    onEvent(listener) {
      const wrapped = (_e: unknown, message: unknown) => {
        const parsed = eventMessageSchema.safeParse(message);
        if (parsed.success && isEventName(parsed.data.event)) listener(parsed.data.event, parsed.data.payload);
      };
      ipcRenderer.on(IPC_EVENT_CHANNEL, wrapped);
      return () => ipcRenderer.removeListener(IPC_EVENT_CHANNEL, wrapped);
    },
  };
}
