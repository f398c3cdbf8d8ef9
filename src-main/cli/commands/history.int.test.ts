// `sd35-studio history import|list` on the real foreign PNGs: JSON line shape, search, rejection.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureFor, missingFixturesReason } from '../../../e2e/support/fixtures';
import { CLI } from '../../testing/processes';
import { removeTempDirs, tempDir } from '../../testing/temp';

afterAll(removeTempDirs);
const foreign = fixtureFor('history.int.test', 'history import/list on the real files', 'foreign-png');

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, lines: r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)), stderr: r.stderr };
}

describe.skipIf(!foreign)('sd35-studio history', () => {
  it(foreign ? 'imports other tools’ PNGs and lists them' : missingFixturesReason('foreign-png'), () => {
    const dataDir = tempDir();
    const notPng = path.join(tempDir(), 'notes.png');
    fs.writeFileSync(notPng, 'this is not a PNG');
    const files = ['a1111-03.png', 'comfyui-01.png', 'invokeai-01.png'].map((f) => path.join(foreign!, f));
    const imp = cli(['history', 'import', ...files, notPng, '--json', '--data-dir', dataDir]);
    expect(imp.code).toBe(0);
    expect(imp.lines.filter((l) => l.imported)).toHaveLength(3);
    const rejected = imp.lines.find((l) => l.imported === false);
    expect(rejected.file).toBe(path.basename(notPng));
    expect(rejected.reason).toMatch(/PNG|image/i);

    const list = cli(['history', 'list', '--json', '--data-dir', dataDir]);
    expect(list.code).toBe(0);
    expect(list.lines).toHaveLength(3);
    for (const l of list.lines) {
      expect(Object.keys(l).sort()).toEqual(['createdAt', 'guidance', 'height', 'id', 'model', 'negativePrompt', 'path', 'pixelHeight', 'pixelWidth', 'prompt', 'seed', 'steps', 'width'].sort());
      expect(fs.existsSync(l.path)).toBe(true);
    }
    const a1111 = list.lines.find((l) => l.prompt.includes('hatsune miku'));
    expect(a1111).toMatchObject({ seed: '3782896554', steps: 20, guidance: 7, width: 1024, height: 1024, pixelWidth: 1024, pixelHeight: 1024 });
    // invokeai-01.png is a 1×1 stand-in of a 1024×1024 generation: the list says both.
    const invoke = list.lines.find((l) => l.path.endsWith('.png') && l.pixelWidth === 1);
    expect(invoke).toMatchObject({ width: 1024, height: 1024, pixelWidth: 1, pixelHeight: 1 });
    const text = spawnSync(process.execPath, [CLI, 'history', 'list', '--data-dir', dataDir], { encoding: 'utf8' }).stdout;
    expect(text).toContain('1024x1024 (file 1x1)');

    const searched = cli(['history', 'list', '--search', 'hatsu', '--limit', '5', '--json', '--data-dir', dataDir]);
    expect(searched.lines.map((l) => l.id)).toEqual([a1111.id]);
    expect(cli(['history', 'list', '--search', '"*', '--json', '--data-dir', dataDir]).code).toBe(0);
  });
});
