// scripts/cli.mjs rebuilds a stale out/ before running the CLI (`npm run -s cli` after a pull): run against a
// copy of the wrapper in a temporary root whose build tool is a stand-in that records it ran and rewrites the
// built CLI, so the decision (first run, sources newer, nothing newer, tests don't count) is what is tested.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

function fakeRoot(): { root: string; cli: string; marker: string; src: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-cli-wrapper-'));
  roots.push(root);
  fs.mkdirSync(path.join(root, 'scripts'));
  fs.copyFileSync(path.join(__dirname, 'cli.mjs'), path.join(root, 'scripts', 'cli.mjs'));
  const cli = path.join(root, 'out', 'main', 'cli.js');
  const marker = path.join(root, 'built.txt');
  const tool = path.join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js');
  fs.mkdirSync(path.dirname(tool), { recursive: true });
  const stub = "exports.runAsProcess = (args) => { process.stdout.write(JSON.stringify({ ran: args }) + '\\n'); process.exitCode = 0; };\n";
  fs.writeFileSync(
    tool,
    `const fs = require('node:fs'); const path = require('node:path');\n` +
      `fs.appendFileSync(${JSON.stringify(marker)}, process.argv.slice(2).join(' ') + '\\n');\n` +
      `fs.mkdirSync(path.dirname(${JSON.stringify(cli)}), { recursive: true });\n` +
      `fs.writeFileSync(${JSON.stringify(cli)}, ${JSON.stringify(stub)});\n`,
  );
  const src = path.join(root, 'src-main', 'core', 'thing.ts');
  fs.mkdirSync(path.dirname(src), { recursive: true });
  fs.writeFileSync(src, 'export const x = 1;\n');
  return { root, cli, marker, src };
}

function run(root: string, args: string[] = ['info']) {
  const env = { ...process.env };
  for (const k of ['INIT_CWD', 'SD35_CLI_NO_REBUILD', 'npm_lifecycle_event']) delete env[k];
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'cli.mjs'), ...args], { cwd: root, env, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const builds = (marker: string) => (fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8').trim().split('\n').length : 0);
const setMtime = (file: string, seconds: number) => fs.utimesSync(file, seconds, seconds);

describe('scripts/cli.mjs', () => {
  it('builds on the first run, then runs the CLI with clean stdout', () => {
    const { root, marker } = fakeRoot();
    const r = run(root, ['info', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('building (first run)');
    expect(builds(marker)).toBe(1);
    expect(fs.readFileSync(marker, 'utf8').trim()).toBe('build');
    expect(JSON.parse(r.stdout)).toEqual({ ran: ['info', '--json'] });
  });

  it('rebuilds when a source is newer than the build, and not when nothing changed or only a test did', () => {
    const { root, cli, marker, src } = fakeRoot();
    expect(run(root).code).toBe(0); // first run
    const now = Math.floor(Date.now() / 1000);
    setMtime(src, now - 100);
    setMtime(cli, now - 50);
    const fresh = run(root);
    expect(fresh.code).toBe(0);
    expect(fresh.stderr).not.toContain('building');
    expect(builds(marker)).toBe(1);

    const test = path.join(path.dirname(src), 'thing.test.ts');
    fs.writeFileSync(test, '');
    setMtime(test, now);
    expect(run(root).stderr).not.toContain('building');
    expect(builds(marker)).toBe(1);

    setMtime(src, now); // a pull changed a source after the last build
    const stale = run(root);
    expect(stale.code, stale.stderr).toBe(0);
    expect(stale.stderr).toContain('building (sources changed since the last build)');
    expect(builds(marker)).toBe(2);
    expect(JSON.parse(stale.stdout)).toEqual({ ran: ['info'] });
  });
});
