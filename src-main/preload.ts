// Preload (sandboxed): exposes window.studio and nothing else.
import { contextBridge, ipcRenderer } from 'electron';
import { createPreloadBridge } from './preload-client';

contextBridge.exposeInMainWorld('studio', createPreloadBridge(ipcRenderer));
