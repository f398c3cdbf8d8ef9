// The built CLI as scripts use it: exit codes, JSON lines, help, and one smoke test through npm.
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, REPO } from '../testing/processes';
import { removeTempDirs, tempDir } from '../testing/temp';

afterAll(removeTempDirs);

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('sd35-studio', () => {
  it('prints its version and help', () => {
    expect(run(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(JSON.parse(run(['--version', '--json']).stdout)).toHaveProperty('version');
    const help = run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('serve');
    expect(help.stdout).toContain('--data-dir');
    expect(run([]).code).toBe(2);
    expect(run(['serve', '--help']).stdout).toContain('--port');
  });

  it('exits 2 with a JSON error line for usage errors', () => {
    const r = run(['frobnicate', '--json']);
    expect(r.code).toBe(2);
    const lines = r.stdout.trim().split('\n');
    expect(JSON.parse(lines.at(-1)!)).toEqual({ error: { code: 'invalid_input', message: expect.stringContaining('frobnicate') } });
    expect(run(['info', '--port', '1']).code).toBe(2);
  });

  it('uses --data-dir, else SD35_STUDIO_HOME, and prints JSON only on stdout', () => {
    const a = tempDir();
    const b = tempDir();
    const viaFlag = run(['info', '--json', '--data-dir', a], { SD35_STUDIO_HOME: b });
    expect(viaFlag.code).toBe(0);
    expect(JSON.parse(viaFlag.stdout).dataDir).toBe(a);
    const viaEnv = run(['--json', 'info'], { SD35_STUDIO_HOME: b });
    expect(JSON.parse(viaEnv.stdout)).toMatchObject({ dataDir: b, runtime: 'cli', primary: true });
    expect(JSON.parse(viaEnv.stdout).executionProviders.some((e: { name: string }) => e.name === 'cpu')).toBe(true);
  });

  it('runs through `npm run -s cli` with clean stdout', () => {
    const dir = tempDir();
    const r = spawnSync('npm', ['run', '-s', 'cli', '--', 'info', '--json', '--data-dir', dir], { cwd: REPO, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).dataDir).toBe(dir);
  });
});
