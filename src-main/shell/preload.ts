// Preload (sandboxed): exposes window.studio and nothing else.
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import type { PreloadBridge } from '../../src-shared/client';
import { createPreloadBridge } from './preload-client';

const bridge: PreloadBridge = {
  ...createPreloadBridge(ipcRenderer),
  // Dropped files carry no path since Electron 32; gallery import asks for it here.
  pathForFile: (file: File) => webUtils.getPathForFile(file),
};
contextBridge.exposeInMainWorld('studio', bridge);
