// Preload (sandboxed): exposes window.studio and nothing else.
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { createPreloadBridge } from './preload-client';

contextBridge.exposeInMainWorld('studio', {
  ...createPreloadBridge(ipcRenderer),
  // Dropped files carry no path since Electron 32; gallery import asks for it here.
  pathForFile: (file: File) => webUtils.getPathForFile(file),
});
