// electron-builder.yml, proved with electron-builder's own matching code (app-builder-lib's FileMatcher:
// minimatch with { dot: true } over paths relative to the app, node_modules files as
// "node_modules/<dep>/<file>"; see platformPackager.copyAppFiles and appFileCopier.computeNodeModuleFileSets):
//  - every native file (*.node, *.so*, *.dll, *.dylib) of the installed production dependencies that is
//    packed is also unpacked from the asar (asarUnpack), for every OS/arch the app ships — so DirectML's
//    DLLs on Windows, CoreML's dylib on macOS;
//  - `files` packs only the built output: no tests, sources, fixtures, maps or dev dependencies, while
//    every production dependency's entry point still ships.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = path.resolve(__dirname, '..', '..');
const requireHere = createRequire(__filename);

interface Stat {
  isDirectory(): boolean;
  isFile(): boolean;
  moduleFullFilePath?: string;
}
type Filter = (file: string, stat: Stat) => boolean;
interface Matcher {
  patterns: string[];
  createFilter(): Filter;
}
interface FileMatcherModule {
  FileMatcher: new (from: string, to: string, expander: (p: string) => string, patterns?: string[]) => Matcher;
  getFileMatchers(config: unknown, name: string, dest: string, options: unknown): Matcher[] | null;
  getMainFileMatchers(appDir: string, dest: string, expander: (p: string) => string, platformOptions: unknown, packager: unknown, outDir: string, electronCompile: boolean): Matcher[];
  getNodeModuleFileMatcher(appDir: string, dest: string, expander: (p: string) => string, platformOptions: unknown, info: unknown): Matcher;
}
const builderLib = path.dirname(requireHere.resolve('app-builder-lib/package.json'));
const fm = requireHere(path.join(builderLib, 'out', 'fileMatcher.js')) as FileMatcherModule;
const { expandMacro } = requireHere(path.join(builderLib, 'out', 'util', 'macroExpander.js')) as {
  expandMacro(pattern: string, arch: string | null, appInfo: unknown, extra?: Record<string, string>): string;
};
const yaml = requireHere('js-yaml') as { load(text: string): unknown };

interface BuilderConfig {
  files: string[];
  asarUnpack: string[];
  extraResources: { from: string; to: string }[];
  [key: string]: unknown;
}
const config = yaml.load(fs.readFileSync(path.join(REPO, 'electron-builder.yml'), 'utf8')) as BuilderConfig;
const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

const TARGETS: { platform: NodeJS.Platform; arch: string }[] = [
  { platform: 'linux', arch: 'x64' },
  { platform: 'linux', arch: 'arm64' },
  { platform: 'win32', arch: 'x64' },
  { platform: 'darwin', arch: 'arm64' },
  { platform: 'darwin', arch: 'x64' },
];

/** electron-builder's macro expansion, with ${platform} (process.platform at build time) set to the target's. */
function expander(platform: string, arch: string): (p: string) => string {
  return (p) => expandMacro(p.replaceAll('${platform}', platform), arch, { productName: 'SD3.5 Studio', version: '0.0.0' }, { '/*': '{,/**/*}' });
}

const fileStat = (moduleFullFilePath?: string): Stat => ({ isDirectory: () => false, isFile: () => true, ...(moduleFullFilePath ? { moduleFullFilePath } : {}) });
const dirStat = (moduleFullFilePath?: string): Stat => ({ isDirectory: () => true, isFile: () => false, ...(moduleFullFilePath ? { moduleFullFilePath } : {}) });

interface Dep {
  name: string;
  dir: string;
  /** As electron-builder names it inside the app: node_modules/<name>[/node_modules/<name>…]. */
  rel: string;
}

/** The installed production dependency closure (dependencies + installed optionalDependencies), as npm resolves them. */
function productionDeps(): Dep[] {
  const seen = new Map<string, Dep>();
  const visit = (name: string, fromDir: string): void => {
    let dir: string | undefined;
    for (let d = fromDir; ; d = path.dirname(d)) {
      const candidate = path.join(d, 'node_modules', name);
      if (fs.existsSync(path.join(candidate, 'package.json'))) {
        dir = fs.realpathSync(candidate);
        break;
      }
      if (d === path.dirname(d) || d === path.dirname(REPO)) break;
    }
    if (!dir || seen.has(dir)) return;
    seen.set(dir, { name, dir, rel: path.relative(REPO, dir).split(path.sep).join('/') });
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    for (const child of Object.keys({ ...meta.dependencies, ...meta.optionalDependencies })) visit(child, dir);
  };
  for (const name of Object.keys(pkg.dependencies)) visit(name, REPO);
  return [...seen.values()];
}

function walk(dir: string, out: string[] = []): string[] {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') walk(full, out);
    } else if (entry.isFile()) out.push(full);
  }
  return out;
}

const NATIVE = /\.(node|dll|dylib)$|\.so(\.\d+)*$/;
const deps = productionDeps();

/** The files electron-builder packs for one dependency, with their in-app paths (directories pruned as it walks them). */
function packedFiles(dep: Dep, patterns: string[], expand: (p: string) => string): { file: string; inApp: string }[] {
  const filter = new fm.FileMatcher(dep.dir, '/app', expand, patterns).createFilter();
  return walk(dep.dir)
    .map((file) => ({ file, inApp: `${dep.rel}/${path.relative(dep.dir, file).split(path.sep).join('/')}` }))
    .filter(({ file, inApp }) => {
      // Every parent folder must pass too: NodeModuleCopyHelper does not descend into an excluded one.
      const parts = path.relative(dep.dir, file).split(path.sep);
      for (let i = 1; i < parts.length; i++) {
        const sub = parts.slice(0, i).join('/');
        if (!filter(path.join(dep.dir, ...parts.slice(0, i)), dirStat(`${dep.rel}/${sub}`))) return false;
      }
      return filter(file, fileStat(inApp));
    });
}

function nodeModulePatterns(expand: (p: string) => string): string[] {
  return fm.getNodeModuleFileMatcher(REPO, '/app', expand, {}, { config, debugLogger: { isEnabled: false } }).patterns;
}

function unpackFilter(expand: (p: string) => string): Filter {
  const matchers = fm.getFileMatchers(config, 'asarUnpack', '/app', { macroExpander: expand, customBuildOptions: {}, globalOutDir: path.join(REPO, 'dist'), defaultSrc: REPO });
  expect(matchers).not.toBeNull();
  return matchers![0]!.createFilter();
}

describe('electron-builder.yml as electron-builder reads it', () => {
  const configLib = requireHere(path.join(builderLib, 'out', 'util', 'config', 'config.js')) as {
    getConfig(projectDir: string, configPath: string | null, fromOptions: unknown): Promise<Record<string, unknown>>;
    validateConfiguration(config: unknown, debugLogger: unknown): Promise<void>;
  };
  const { resolveFunction } = requireHere(path.join(builderLib, 'out', 'util', 'resolve.js')) as {
    resolveFunction(type: unknown, executor: unknown, name: string, root: string): Promise<unknown>;
  };
  const logger = { isEnabled: false, add: () => undefined };

  it('passes electron-builder\'s schema, also as the -cuda variant dist.mjs builds', async () => {
    const loaded = await configLib.getConfig(REPO, path.join(REPO, 'electron-builder.yml'), null);
    await configLib.validateConfiguration(loaded, logger);
    const cuda = await configLib.getConfig(REPO, null, { extends: 'electron-builder.yml', artifactName: '${name}-cuda-${version}-${os}-${arch}.${ext}', deb: { recommends: ['libcudart12'] } });
    await configLib.validateConfiguration(cuda, logger);
    expect(cuda).toMatchObject({ appId: 'dev.sd35studio.app', deb: { recommends: ['libcudart12'] } });
    // Loading electron-builder's schema validator takes seconds on a busy 2-core machine (it timed out at the
    // default 5 s in a full unit run beside other work): a bound, not a speed claim.
  }, 60_000);

  it('loads the afterPack hook that sets the fuses', async () => {
    expect(process.cwd()).toBe(REPO); // electron-builder resolves hook paths from the project folder
    const hook = await resolveFunction('commonjs', config.afterPack, 'afterPack', REPO);
    // electron-builder imports it natively (not through vitest), so compare what it got, not the instance.
    expect(typeof hook).toBe('function');
    expect((hook as { name: string }).name).toBe('afterPack');
    expect(String(hook)).toContain('applyFuses(binary, context.electronPlatformName)');
  });

  it('names artifacts with version and arch, and keeps the platform targets asked for', () => {
    expect(config.artifactName).toBe('${name}-${version}-${os}-${arch}.${ext}');
    expect(config).toMatchObject({
      linux: { target: ['AppImage', 'deb'], mimeTypes: ['image/png'] },
      win: { target: [{ target: 'nsis', arch: ['x64'] }] },
      nsis: { oneClick: false, perMachine: false, allowToChangeInstallationDirectory: true, createStartMenuShortcut: true, deleteAppDataOnUninstall: false },
      mac: { target: [{ target: 'dmg', arch: ['arm64', 'x64'] }], hardenedRuntime: true, entitlements: 'resources/entitlements.mac.plist' },
      asar: true,
    });
    expect(fs.existsSync(path.join(REPO, 'resources', 'entitlements.mac.plist'))).toBe(true);
    expect(String((config.nsis as { artifactName: string }).artifactName)).toMatch(/\$\{version\}.*\$\{arch\}/);
    expect(String((config.dmg as { artifactName: string }).artifactName)).toMatch(/\$\{version\}.*\$\{arch\}/);
  });
});

describe('electron-builder.yml: native files', () => {
  it('finds the production dependencies with native code installed', () => {
    const names = deps.map((d) => d.name);
    for (const n of ['better-sqlite3', 'onnxruntime-node', 'sharp', 'zod', 'vue', 'ws']) expect(names).toContain(n);
    expect(names.some((n) => n.startsWith('@img/sharp-'))).toBe(true);
  });

  it.each(TARGETS)('unpacks every packed native file of the production dependencies ($platform $arch)', ({ platform, arch }) => {
    const expand = expander(platform, arch);
    const patterns = nodeModulePatterns(expand);
    const unpacked = unpackFilter(expand);
    const natives = deps.flatMap((d) => packedFiles(d, patterns, expand)).filter(({ inApp }) => NATIVE.test(inApp));
    const stillPacked = natives.filter(({ file, inApp }) => !unpacked(file, fileStat(inApp))).map((n) => n.inApp);
    expect(stillPacked).toEqual([]);
    const ort = natives.map((n) => n.inApp).filter((p) => p.includes('onnxruntime-node/bin/'));
    // This OS's ONNX Runtime for the target arch only (when onnxruntime-node ships it), never another OS's.
    expect(ort.every((p) => p.includes(`/napi-v6/${platform}/${arch}/`))).toBe(true);
    const shipped = fs.existsSync(path.join(REPO, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', platform, arch));
    if (shipped) expect(ort.some((p) => p.endsWith('onnxruntime_binding.node'))).toBe(true);
    if (platform === 'win32' && shipped) {
      // DirectML ships inside onnxruntime-node: its DLLs are packed and unpacked.
      for (const dll of ['DirectML.dll', 'onnxruntime.dll', 'dxcompiler.dll', 'dxil.dll']) expect(ort.some((p) => p.endsWith(`/${dll}`)), dll).toBe(true);
    }
    if (platform === 'darwin' && shipped) expect(ort.some((p) => p.endsWith('.dylib'))).toBe(true);
    // The Node-ABI better-sqlite3 build is not packed: the Electron one ships as a resource.
    expect(natives.some((n) => n.inApp.startsWith('node_modules/better-sqlite3/'))).toBe(false);
  });

  it('ships the Electron-ABI better-sqlite3 outside the asar, where electron/native.ts opens it', () => {
    expect(config.extraResources).toContainEqual({ from: 'native/electron/better_sqlite3.node', to: 'native/better_sqlite3.node' });
    const native = fs.readFileSync(path.join(REPO, 'src-main', 'electron', 'native.ts'), 'utf8');
    expect(native).toContain("path.join(process.resourcesPath, 'native', 'better_sqlite3.node')");
  });

  it('the patterns do unpack what they must (a native file outside them would stay packed)', () => {
    const unpacked = unpackFilter(expander('linux', 'x64'));
    expect(unpacked('/x', fileStat('node_modules/some-pkg/build/Release/addon.node'))).toBe(true);
    expect(unpacked('/x', fileStat('node_modules/@img/sharp-libvips-linux-x64/lib/libvips-cpp.so.8.18.7'))).toBe(true);
    expect(unpacked('/x', fileStat('node_modules/onnxruntime-node/bin/napi-v6/win32/x64/DirectML.dll'))).toBe(true);
    expect(unpacked('/x', fileStat('node_modules/zod/index.js'))).toBe(false);
    expect(unpacked('/x', fileStat('node_modules/other/lib/libfoo.so.1'))).toBe(false); // the test above would catch one
  });
});

describe('electron-builder.yml: what is packed', () => {
  const expand = expander(process.platform, process.arch);

  it('packs the built output and package.json, never sources, tests, fixtures, maps or build files', () => {
    const packager = { info: { projectDir: REPO, buildResourcesDir: 'resources', config, isPrepackedAppAsar: false, debugLogger: { isEnabled: false } } };
    const main = fm.getMainFileMatchers(REPO, '/app', expand, {}, packager, path.join(REPO, 'dist'), false)[0]!.createFilter();
    const included = (rel: string) => main(path.join(REPO, rel), fileStat());
    for (const rel of ['out/main/main.js', 'out/main/worker.js', 'out/main/cli.js', 'out/main/chunks/studio-abc.js', 'out/preload/preload.js', 'out/renderer/index.html', 'out/renderer/assets/index.js', 'package.json']) {
      expect(included(rel), rel).toBe(true);
    }
    for (const rel of ['out/main/main.js.map', 'out/renderer/assets/index.js.map', 'out/icons/icon.png', 'native/electron/better_sqlite3.node', 'resources/icon.svg', 'electron-builder.yml', 'package-lock.json']) {
      expect(included(rel), rel).toBe(false);
    }
    // Every file of the repository outside out/ (sources, tests, e2e, scripts, docs) stays out.
    const repoFiles = walk(REPO).map((f) => path.relative(REPO, f).split(path.sep).join('/')).filter((r) => !r.startsWith('.git/') && !r.startsWith('out/') && !r.startsWith('dist/') && r !== 'package.json');
    expect(repoFiles.length).toBeGreaterThan(100);
    expect(repoFiles.filter(included)).toEqual([]);
  });

  it('packs no tests, fixtures, sources or maps of the production dependencies, yet every entry point they load', () => {
    const patterns = nodeModulePatterns(expand);
    const packed = deps.flatMap((d) => packedFiles(d, patterns, expand).map((f) => f.inApp));
    expect(packed.length).toBeGreaterThan(100);
    const offending = packed.filter((p) => /\.(map|ts|mts|cts|tsx)$|\/(test|tests|__tests__|spec|fixtures|__fixtures__|benchmark|coverage)\/|\.(test|spec)\.[cm]?js$/.test(p));
    expect(offending).toEqual([]);
    // Over-exclusion check: main / exports targets of every production dependency are still packed.
    const packedSet = new Set(packed);
    const missing: string[] = [];
    for (const dep of deps) {
      const meta = JSON.parse(fs.readFileSync(path.join(dep.dir, 'package.json'), 'utf8')) as { main?: string; exports?: unknown };
      const targets = new Set<string>();
      if (meta.main) targets.add(meta.main);
      const collect = (e: unknown): void => {
        if (typeof e === 'string') {
          // TypeScript sources behind a "source" condition are never loaded at runtime.
          if (!e.includes('*') && !/\.(ts|mts|cts|tsx)$/.test(e)) targets.add(e);
        } else if (e && typeof e === 'object') Object.entries(e as Record<string, unknown>).forEach(([k, v]) => k !== 'types' && collect(v));
      };
      collect(meta.exports);
      for (const t of targets) {
        let file = path.join(dep.dir, t);
        if (!fs.existsSync(file) && fs.existsSync(`${file}.js`)) file = `${file}.js`;
        if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.js');
        if (!fs.existsSync(file)) continue; // a condition for another runtime
        const inApp = `${dep.rel}/${path.relative(dep.dir, file).split(path.sep).join('/')}`;
        if (!packedSet.has(inApp)) missing.push(inApp);
      }
    }
    expect(missing).toEqual([]);
  });

  it('packs no dev dependency', () => {
    const prod = new Set(deps.map((d) => d.name));
    const devOnly = Object.keys(pkg.devDependencies).filter((n) => !(n in pkg.dependencies));
    expect(devOnly.filter((n) => prod.has(n))).toEqual([]);
    for (const n of ['electron', 'electron-builder', 'vitest', '@playwright/test', 'typescript', 'vite', 'eslint', 'protobufjs']) expect(prod.has(n), n).toBe(false);
  });
});
