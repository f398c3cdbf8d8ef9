// @ts-check
// Which ABI a .node file was built for, told from plain Node: a Node-ABI build loads here; an Electron
// build is refused with "compiled against … NODE_MODULE_VERSION <n>", n being Electron's ABI
// (node_modules/electron/abi_version). prepare-electron-native.mjs keeps only a binary that is Electron's.

/**
 * @param {string} file
 * @returns {{ abi: 'node' } | { abi: number } | { abi: 'unknown', reason: string }}
 */
export function nativeAbiOf(file) {
  try {
    process.dlopen({ exports: {} }, file);
    return { abi: 'node' };
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    const m = /NODE_MODULE_VERSION (\d+)\. This version of Node\.js requires/.exec(text);
    return m ? { abi: Number(m[1]) } : { abi: 'unknown', reason: text.split('\n')[0] ?? text };
  }
}
